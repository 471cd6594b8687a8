"""Names in a spec: module keys, reference handles and long-skip references.

Every layer is known by its path in the spec (``("layers", 2, "layers", 0)``). A top-level
layer is an attribute of the network: its ``name``, or its kind's prefix and a counter. A
layer inside a sequence is a key of that ``nn.Sequential``: its ``name``, or its number
among the sequence's modules (an unnamed layer repeated inside a sequence takes one number
per copy, as torchvision's builders append their blocks).

Handles (``id`` and ``name``) are what ``skip: {from: ...}`` names: an ``id`` is unique in
the spec, a ``name`` within its sequence; a name used in several sequences needs an ``id``
to be referred to.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from skipgen.ir.graph import INPUT_LOCAL
from skipgen.ir.reach import Reach, ancestors
from skipgen.ir.tree import scaled_repeats, walk
from skipgen.kinds.base import Kind, Layer
from skipgen.kinds.composite import Composite
from skipgen.kinds.sequence import Sequence as SequenceLayer
from skipgen.language import models as m
from skipgen.language.load import Path, Positions
from skipgen.language.locate import did_you_mean, format_path

Report = Callable[[Path, str, str | None], None]

INPUT = "input"  # what `from` writes for the input of the block (or network) it is in


@dataclass(frozen=True)
class OutputRef:
    """An entry of ``outputs``: a layer of the main path, or a head (``("heads", k)``)."""

    name: str  # as `outputs` writes it
    path: Path


@dataclass(frozen=True)
class Names:
    attrs: dict[Path, str]  # every layer's key in its container (its first copy's, if numbered)
    sources: dict[Path, Path]  # layer -> the earlier layer its long skip comes from
    locals: dict[Path, str]  # layer read later (skip, head, output) -> the local holding it
    taken: dict[Path, frozenset[str]]  # list path -> every key and handle in use there
    walked: frozenset[Path]  # sequences holding a layer read from outside: run layer by layer
    head_sources: dict[int, Path]  # head index -> the layer it reads
    outputs: tuple[OutputRef, ...]  # empty: the network returns its last layer
    # layer -> the earlier layers its `from` reads: one, or a merge's several; a list's
    # input (`from: input`) is the path of its block, or (), and "input"
    inputs: dict[Path, tuple[Path, ...]]


class _Resolver(Reach):
    def __init__(self, spec: m.Spec, positions: Positions, report: Report) -> None:
        self.spec = spec
        self.positions = positions
        self.report = report
        self.entries = list(walk(spec.layers, ("layers",), spec.scaling))
        self.layers: dict[Path, Layer] = {path: layer for path, layer, _ in self.entries}
        self.start = {path: n for n, (path, _, _) in enumerate(self.entries)}
        self.end = dict(self.start)  # a sequence's output comes after all of its layers
        for path in self.start:
            for outer in ancestors(path):
                self.end[outer] = max(self.end[outer], self.start[path])
        self.ids: dict[str, Path] = {}
        self.names: dict[str, list[Path]] = {}  # name -> every layer that has it
        self.local_names: dict[Path, str] = {}
        self.walked: set[Path] = set()
        # walked because the network reads a layer inside from outside: such a sequence
        # cannot be checkpointed as one (one that reads outside outputs, or checkpoints a
        # layer inside, can)
        self.reached: set[Path] = set()
        self.taken: dict[Path, frozenset[str]] = {}
        self.partly_read: set[Path] = set()  # what every `from` names and was found

    def line(self, path: Path) -> int:
        return self.positions.of(path)[0]

    def collect_handles(self) -> None:
        in_list: dict[tuple[Path, str], Path] = {}
        for path, layer, _ in self.entries:
            if layer.name is not None and not self.in_body(path):
                key = (path[:-1], layer.name)
                other = in_list.get(key)
                if other is not None:
                    self.clash(path, "name", layer.name, other)
                else:
                    in_list[key] = path
                    self.names.setdefault(layer.name, []).append(path)
        for path, layer, _ in self.entries:
            if layer.id is None:
                continue
            other = self.ids.get(layer.id)
            named = [p for p in self.names.get(layer.id, []) if p != path]
            if other is None and named:
                other = named[0]
            if other is not None:
                self.clash(path, "id", layer.id, other)
            else:
                self.ids[layer.id] = path

    def clash(self, path: Path, field: str, value: str, other: Path) -> None:
        self.report(
            (*path, field),
            f"{value!r} is already used by {format_path(other)} (line {self.line(other)})",
            "ids must be unique, and names unique within a sequence",
        )

    def attrs(self, layers: Sequence[Layer], list_path: Path, out: dict[Path, str]) -> set[str]:
        """Assign the keys of one list's layers; returns the keys and handles in use there."""
        taken = {layer.name.split(".")[0] for layer in layers if layer.name is not None}
        taken |= self.aliases(layers, list_path, taken)
        if list_path == ("layers",):
            taken |= set(self.ids) | set(self.names)
        # a composite block's body is a class's attributes: unnamed layers take a prefix
        # and a counter, as the network's own do
        keyed = list_path == ("layers",) or isinstance(self.layers.get(list_path[:-1]), Composite)
        self.containers(layers, list_path, keyed)
        counters: dict[str, int] = {}
        number = 0
        for i, layer in enumerate(layers):
            path = (*list_path, i)
            if layer.name is not None:
                out[path] = layer.name
                number += 1
            elif not keyed:
                out[path] = str(number)
                number += scaled_repeats(layer, self.spec.scaling)
            else:
                prefix = layer.attr_prefix
                while True:
                    counters[prefix] = counters.get(prefix, 0) + 1
                    attr = f"{prefix}{counters[prefix]}"
                    if attr not in taken:
                        break
                taken.add(attr)
                out[path] = attr
        return taken

    def registers(self, layers: Sequence[Layer], list_path: Path, attrs: dict[Path, str]) -> None:
        """Check the `register` of the list's owner (a sequence, a block, the network): every
        key it lists is a key of the list's layers, once. A sequence that registers its
        modules in another order than they run is run layer by layer."""
        owner: Path = list_path[:-1]
        order = self.spec.register_ if not owner else getattr(self.layers[owner], "register_", None)
        if not order:
            return
        keys: list[str] = []
        for i, layer in enumerate(layers):
            first = attrs[(*list_path, i)].split(".")[0]
            copies = 1 if layer.name is not None or not first.isdigit() else layer.repeat
            keys += [str(int(first) + r) for r in range(copies)] if first.isdigit() else [first]
        where: Path = (*owner, "register")
        seen: set[str] = set()
        for k, key in enumerate(order):
            if key in seen:
                self.report((*where, k), f"{key!r} is listed twice", "list each key once")
            elif key not in keys:
                hint = did_you_mean(key, keys) or f"the keys here are {', '.join(keys[:8])}"
                self.report((*where, k), f"no module here has the key {key!r}", hint)
            seen.add(key)
        if owner and not isinstance(self.layers[owner], Composite):
            self.walked.add(owner)  # an nn.Sequential runs in the order it registers

    def aliases(self, layers: Sequence[Layer], list_path: Path, names: set[str]) -> set[str]:
        """The second keys of the list's layers: only an attribute of the network or of a
        block's class, and no other key or alias of the list."""
        keyed = list_path == ("layers",) or isinstance(self.layers.get(list_path[:-1]), Composite)
        found: set[str] = set()
        for i, layer in enumerate(layers):
            alias = layer.alias
            if alias is None:
                continue
            where = (*list_path, i, "alias")
            if not keyed:
                self.report(
                    where,
                    "an alias is a second attribute of the network or of a block's class, and "
                    "this layer is inside a sequence",
                    "give the alias to a layer at the top level or in a composite block's body",
                )
            elif layer.name is not None and "." in layer.name:
                self.report(
                    where,
                    "an alias is a second attribute of the class, and this layer is in a "
                    f"container ({layer.name})",
                    "give the alias to a layer that is an attribute of its own",
                )
            elif alias in names or alias in found:
                self.report(where, f"{alias!r} is already a key here", "choose another alias")
            found.add(alias)
        return found

    def containers(self, layers: Sequence[Layer], list_path: Path, keyed: bool) -> None:
        """Check the keys of one list's layers that are paths into containers: a class's
        attribute is a Python name, a container's keys are 0, 1, 2, ... (a list) or no
        number at all (a dict), and no layer has the key of a container."""
        named = [(i, layer.name) for i, layer in enumerate(layers) if layer.name is not None]
        owner = "network" if list_path == ("layers",) else "block"
        for i, name in named:
            first = name.split(".")[0]
            if keyed and not first.isidentifier():
                self.report(
                    (*list_path, i, "name"),
                    f"{first!r} would be an attribute of the {owner} class, and is not a "
                    "Python name",
                    "name it with letters, digits and _, or put it in a sequence or a "
                    "container (`blocks.0`)",
                )
        held: dict[str, list[tuple[int, str]]] = {}  # container path -> (layer, key) in it
        for i, name in named:
            parts = name.split(".")
            for k in range(1, len(parts)):
                held.setdefault(".".join(parts[:k]), []).append((i, parts[k]))
        plain = {name: i for i, name in named}
        for container, keys in held.items():
            where = (*list_path, keys[0][0], "name")
            if container in plain:
                self.report(
                    (*list_path, plain[container], "name"),
                    f"{container!r} is the key of a container that other layers are in "
                    f"({', '.join(repr(layers[i].name) for i, _ in keys[:3])})",
                    "rename this layer, or the container",
                )
                continue
            found = sorted({key for _, key in keys}, key=lambda k: (not k.isdigit(), k))
            numbers = [k for k in found if k.isdigit()]
            if numbers and (
                len(numbers) < len(found) or sorted(map(int, numbers)) != list(range(len(numbers)))
            ):
                self.report(
                    where,
                    f"the container {container!r} holds the keys {', '.join(found)}: a list's "
                    "keys are 0, 1, 2, ... and a dict's are names",
                    "number its members from 0 without gaps, or name them all",
                )
        if held and not keyed:  # its members are not one chain in the order of their keys
            self.walked.add(list_path[:-1])

    def handle(self, where: Path, source: str, also: tuple[str, ...] = ()) -> Path | None:
        """The layer that ``source`` (at ``where`` in the spec) names; None after an error,
        reported (``also``: other names the reader could have meant)."""
        if source in self.ids:
            return self.ids[source]
        named = self.names.get(source, [])
        if len(named) == 1:
            return named[0]
        if named:
            places = ", ".join(f"{format_path(p)} (line {self.line(p)})" for p in named)
            self.report(
                where,
                f"{source!r} names {len(named)} layers: {places}",
                "give the one you mean an `id` and refer to that",
            )
            return None
        held = [p for p, layer in self.layers.items() if layer.name == source and self.in_body(p)]
        if held:  # a layer of a block's body (not the reader's own): its names are its own
            self.in_composite(where, held[0], repr(source), "a `from` or a skip")
            return None
        hint = did_you_mean(source, [*self.ids, *self.names, *also]) or (
            "give the earlier layer an `id` and refer to it here"
        )
        self.report(where, f"no layer is named {source!r}", hint)
        return None

    def body_of(self, path: Path) -> Path | None:
        """The innermost composite block whose body holds the layer at ``path``."""
        blocks = [p for p in ancestors(path) if isinstance(self.layers.get(p), Composite)]
        return blocks[-1] if blocks else None

    def own_layers(self, body: Path, source: str) -> list[Path]:
        """The layers named ``source`` in the body of the block at ``body`` (not in a
        block inside it)."""
        return [
            p
            for p, layer in self.layers.items()
            if layer.name == source and p[: len(body)] == body and self.body_of(p) == body
        ]

    def shown(self, path: Path) -> str:
        """A path as the spec writes it: inside a composite block's body, the block's own."""
        return format_path(self.positions.shown(path))

    def body_names(self, body: Path) -> list[str]:
        """The names of the layers of a block's body (not of blocks inside it)."""
        return [
            layer.name
            for p, layer in self.layers.items()
            if layer.name is not None and p[: len(body)] == body and self.body_of(p) == body
        ]

    def source(self, path: Path, source: str, where: Path | None = None) -> Path | None:
        """The earlier layer that the layer at ``path`` reads under ``source`` (in its
        `from`, or its long skip's); None after an error, reported at ``where``.

        ``input`` is the input of the composite block whose body holds the layer, or the
        network's; a body reads its own layers by name, and layers outside by handle."""
        skip = where is None
        where = (*path, "skip", "from") if where is None else where
        reader = "a long skip" if skip else "a `from`"
        body = self.body_of(path)
        if source == INPUT:
            return (*body, INPUT) if body is not None else (INPUT,)
        own = self.own_layers(body, source) if body is not None else []
        also = (INPUT, *self.body_names(body)) if body is not None else (INPUT,)
        if len(own) > 1:
            places = ", ".join(f"{self.shown(p)} (line {self.line(p)})" for p in own)
            self.report(
                where,
                f"{source!r} names {len(own)} layers of this block's body: {places}",
                "name the one you mean differently from the others",
            )
            return None
        j = own[0] if own else self.handle(where, source, also)
        if j is None:
            return None
        if self.end[j] >= self.start[path]:
            if j == path:
                why = "this layer itself"
            elif path[: len(j)] == j:
                why = f"{self.shown(j)}, which holds this layer: its output comes after"
            else:
                why = f"{self.shown(j)}, which comes later"
            hint = "a layer can only read an earlier layer"
            self.report(where, f"{source!r} is {why}", hint)
            return None
        if own:
            assert body is not None
            inner = [p for p in ancestors(j) if len(p) > len(body)]
            repeated = [p for p in inner if self.layers[p].repeat > 1]
            if repeated:
                self.report(
                    where,
                    f"{source!r} is inside {self.shown(repeated[0])}, a sequence that "
                    f"repeats: {reader} cannot tell its copies apart",
                    "name a layer outside the repeated sequence, or write its copies out",
                )
                return None
            return j
        if self.in_composite(where, j, f"{source!r}", reader):
            return None
        if not self.reachable(where, j, f"{source!r}", reader):
            return None
        if not self.reachable(where, path, "this layer", reader):
            return None
        return j

    def around(self, path: Path, j: Path) -> list[Path]:
        """The groups a forward walks to reach ``j`` from the layer at ``path`` and to run
        that layer: within their block's body when both lie in one."""
        body = self.body_of(path)
        groups = [*self.walked_around(j), *self.walked_around(path)]
        if body is not None and self.body_of(j) == body:
            groups = [p for p in groups if len(p) > len(body)]
        return groups

    def read(self, path: Path, j: Path, source: str) -> None:
        """Note that the layer at ``path`` reads the earlier ``j`` (named ``source``)."""
        if j[-1] == INPUT:
            self.local_names[j] = INPUT_LOCAL
            return
        earlier = self.layers[j]
        self.local_names[j] = earlier.id or _local(earlier.name or source)
        groups = self.around(path, j)
        self.walked.update(groups)
        self.reached.update(set(groups) - set(ancestors(path)))

    def unread(self, read: set[Path], inputs: dict[Path, tuple[Path, ...]]) -> None:
        """Refuse a layer whose output nothing reads: the layer after it reads another
        (its `from`, resolved), and no `from`, skip, head or output names it."""
        for path in self.layers:
            next_path = (*path[:-1], path[-1] + 1)  # type: ignore[operator]
            reader = self.first_reader(next_path, read)  # reads the output of `path`, unless
            if reader is None or reader not in inputs or any(p in read for p in self.ends(path)):
                continue
            after = self.layers[reader]
            self.report(
                path,
                "nothing reads this layer's output: the layer after it reads "
                f"{_listed(after.from_ or [])} instead",
                "read it in a `from` (or a merge's), or remove the layer",
            )

    def first_reader(self, path: Path, read: set[Path]) -> Path | None:
        """The layer that runs first in the layer at ``path`` (itself, or the first of its
        sequence's layers, at any depth); None when there is no such layer, or when the
        input of a block on the way is read anyway (its own skip, a `from: input`)."""
        layer = self.layers.get(path)
        while layer is not None and layer.from_ is None and isinstance(layer, SequenceLayer):
            if isinstance(layer, Composite) and (
                layer.own_skip != "none" or (*path, INPUT) in read
            ):
                return None  # the block reads its input, the output before it
            path = (*path, "layers", 0)
            layer = self.layers.get(path)
        return path if layer is not None else None

    def ends(self, path: Path) -> list[Path]:
        """The layer at ``path`` and, for a sequence, the layers whose output is its output
        (its last layer's, at any depth; not a composite block's, which adds its skip)."""
        found = [path]
        layer = self.layers.get(path)
        while isinstance(layer, SequenceLayer) and not isinstance(layer, Composite):
            if not layer.layers:
                break
            path = (*path, "layers", len(layer.layers) - 1)
            found.append(path)
            layer = self.layers.get(path)
        return found

    def inputs(self) -> dict[Path, tuple[Path, ...]]:
        """What each layer with a `from` reads: one earlier output, or a merge's several."""
        found: dict[Path, tuple[Path, ...]] = {}
        for path, layer, _ in self.entries:
            refs = layer.from_
            if refs is None:
                continue
            many = not isinstance(refs, str)
            names = list(refs) if many else [refs]
            read: list[Path] = []
            for k, name in enumerate(names):
                where = (*path, "from", k) if many else (*path, "from")
                j = self.source(path, name, where)
                if j is not None:
                    read.append(j)
            self.partly_read.update(read)  # read, even where another name failed
            if len(read) == len(names):
                for j, name in zip(read, names, strict=True):
                    self.read(path, j, name)
                found[path] = tuple(read)
        return found

    def read_from_outside(self, where: Path, name: str, reader: str) -> Path | None:
        """The main-path layer that a head's `from` or an output names; None after an
        error, reported at ``where``."""
        j = self.handle(where, name)
        if j is None or self.in_composite(where, j, repr(name), reader):
            return None
        if not self.reachable(where, j, repr(name), reader):
            return None
        earlier = self.layers[j]
        self.local_names.setdefault(j, earlier.id or _local(earlier.name or name))
        self.walked.update(self.walked_around(j))
        self.reached.update(self.walked_around(j))
        return j

    def heads(self) -> dict[int, Path]:
        """Check the heads' names and layers; the layer each head reads, by head."""
        sources: dict[int, Path] = {}
        seen: dict[str, int] = {}
        top = self.taken[("layers",)]
        for k, head in enumerate(self.spec.heads):
            where = ("heads", k, "name")
            if head.name in seen:
                self.report(
                    where,
                    f"{head.name!r} is already the name of heads[{seen[head.name]}]",
                    "give every head its own name",
                )
            elif head.name in top:
                self.report(
                    where,
                    f"{head.name!r} is already used by a layer",
                    "a head is an attribute of the network beside its layers: rename one",
                )
            seen.setdefault(head.name, k)
            for path, layer, _ in walk(head.layers, ("heads", k, "layers"), self.spec.scaling):
                if layer.from_ is not None:
                    self.report(
                        (*path, "from"),
                        "a head's layers run one after the other from the head's `from`",
                        "remove it: write the branch as layers of the network, and read it "
                        "in the head's `from`",
                    )
                if layer.id is not None or (layer.skip and layer.skip.from_):
                    field = "id" if layer.id is not None else "skip"
                    self.report(
                        (*path, field),
                        "a head's layers are not named by skips or outputs",
                        "remove it: a head reads its `from` layer and ends in its output",
                    )
                if layer.checkpoint:
                    self.report(
                        (*path, "checkpoint"),
                        "a head runs as one module: its layers cannot be checkpointed",
                        "remove `checkpoint`",
                    )
            j = self.read_from_outside(("heads", k, "from"), head.from_, "a head")
            if j is not None:
                sources[k] = j
        return sources

    def outputs(self) -> tuple[OutputRef, ...]:
        """The entries of `outputs`, each a main-path layer or a head."""
        heads = {head.name: k for k, head in enumerate(self.spec.heads)}
        found: list[OutputRef] = []
        seen: set[str] = set()
        outputs = self.spec.outputs or ()
        keyed = isinstance(outputs, dict)
        entries = list(outputs.items()) if isinstance(outputs, dict) else [(n, n) for n in outputs]
        for i, (key, name) in enumerate(entries):
            where: Path = ("outputs", key) if keyed else ("outputs", i)
            if name in seen:
                self.report(where, f"{name!r} is already an output", "list each output once")
                continue
            seen.add(name)
            if name in heads:
                found.append(OutputRef(key, ("heads", heads[name])))
                continue
            j = self.read_from_outside(where, name, "an output")
            if j is not None:
                found.append(OutputRef(key, j))
        used = {ref.path for ref in found}
        for name, k in heads.items():
            if ("heads", k) not in used:
                self.report(
                    ("heads", k, "name"),
                    f"no output names the head {name!r}",
                    f"add {name} to `outputs`, or remove the head",
                )
        return tuple(found)

    def checkpoints(self) -> None:
        """The network runs a sequence that holds a checkpointed layer layer by layer (as it
        does one that a skip reaches into), so that it can checkpoint that layer alone. Such
        a sequence can be checkpointed as one (the checkpoints nest), and so can one whose
        layers read outside outputs (a U-Net's decoder stage: its checkpoint takes them);
        one with a layer that something outside reads cannot."""
        for path, layer, _ in self.entries:
            if not layer.checkpoint:
                continue
            if isinstance(layer, Kind) and layer.sized_by_skip():
                self.report(
                    (*path, "checkpoint"),
                    "an upsample to its skip's size only interpolates: it keeps nothing that "
                    "checkpointing would spare",
                    "remove `checkpoint`",
                )
                continue
            repeated = [p for p in ancestors(path) if self.layers[p].repeat > 1]
            if repeated:
                self.report(
                    (*path, "checkpoint"),
                    f"this layer is inside {format_path(repeated[0])}, a sequence that "
                    "repeats: its copies cannot be checkpointed one by one",
                    "set `checkpoint` on the repeated sequence instead",
                )
            else:  # a checkpointed sequence around it checkpoints both: nested checkpoints
                self.walked.update(ancestors(path))
        for path, layer, _ in self.entries:
            if layer.checkpoint and path in self.reached:
                self.report(
                    (*path, "checkpoint"),
                    "this sequence cannot be checkpointed as one: a skip, a head or an output "
                    "outside it reads a layer inside it",
                    "set `checkpoint` on the layers inside it instead",
                )

    def resolve(self) -> Names:
        self.collect_handles()
        attrs: dict[Path, str] = {}
        taken: dict[Path, frozenset[str]] = {}
        lists: list[tuple[Sequence[Layer], Path]] = [(self.spec.layers, ("layers",))]
        lists += [
            (layer.layers, (*path, "layers"))
            for path, layer, _ in self.entries
            if isinstance(layer, SequenceLayer)
        ]
        lists += [(head.layers, ("heads", k, "layers")) for k, head in enumerate(self.spec.heads)]
        for layers, list_path in lists:
            taken[list_path] = frozenset(self.attrs(layers, list_path, attrs))
            if list_path[0] == "layers":
                self.registers(layers, list_path, attrs)
        self.taken = taken
        sources: dict[Path, Path] = {}
        for path, layer, _ in self.entries:
            name = layer.skip.from_ if layer.skip else None
            sized = layer.size_source() if isinstance(layer, Kind) else None
            where = (*path, "size") if name is None and sized is not None else None
            name = name or sized
            j = None if name is None else self.source(path, name, where)
            if name is None or j is None:
                continue
            sources[path] = j
            self.read(path, j, name)
        inputs = self.inputs()
        head_sources = self.heads()
        outputs = self.outputs()
        read = {*sources.values(), *head_sources.values(), *(o.path for o in outputs)}
        self.unread(read | self.partly_read, inputs)
        self.checkpoints()
        walked = frozenset(self.walked)
        return Names(attrs, sources, self.local_names, taken, walked, head_sources, outputs, inputs)


def resolve(spec: m.Spec, positions: Positions, report: Report) -> Names:
    """Check names and ids for clashes and skip references for existence and order."""
    return _Resolver(spec, positions, report).resolve()


def _listed(names: str | list[str]) -> str:
    """What a `from` names, in words."""
    if isinstance(names, str):
        return repr(names)
    return ", ".join(repr(name) for name in names)


def _local(name: str) -> str:
    """The local of forward that keeps the output of the layer named ``name``: the name
    itself, or for a key path (``inner_blocks.3``, ``block1-0``) its parts joined by _."""
    local = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return local if local.isidentifier() else f"out_{local}"
