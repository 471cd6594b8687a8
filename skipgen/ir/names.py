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

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from skipgen.ir.keys import Keys
from skipgen.ir.reach import ancestors
from skipgen.ir.reads import Reads, local_name
from skipgen.ir.tree import scaled_repeats, walk
from skipgen.kinds.base import Kind, Layer
from skipgen.kinds.composite import Composite
from skipgen.kinds.sequence import Sequence as SequenceLayer
from skipgen.language import models as m
from skipgen.language.load import Path, Positions
from skipgen.language.locate import did_you_mean, format_path

Report = Callable[[Path, str, str | None], None]


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


class _Resolver(Reads, Keys):
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

    def read_from_outside(self, where: Path, name: str, reader: str) -> Path | None:
        """The main-path layer that a head's `from` or an output names; None after an
        error, reported at ``where``."""
        j = self.handle(where, name)
        if j is None or self.in_composite(where, j, repr(name), reader):
            return None
        if not self.reachable(where, j, repr(name), reader):
            return None
        earlier = self.layers[j]
        self.local_names.setdefault(j, earlier.id or local_name(earlier.name or name))
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
