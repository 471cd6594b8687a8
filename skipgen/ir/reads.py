"""What a layer reads: its `from` (one earlier output, a merge's several, or `input`), the
source of its long skip, and the layers whose output nothing reads. A mixin of the name
resolver (:mod:`skipgen.ir.names`), which reports at the reference.

A composite block's body reads its own layers by name, and layers outside by handle; its
`input` is the block's input. Reading a layer makes the sequences around it run layer by
layer (walked), within the block's body when both lie in one.
"""

from __future__ import annotations

import re

from skipgen.ir.graph import INPUT_LOCAL
from skipgen.ir.reach import Reach, ancestors
from skipgen.kinds.base import Layer
from skipgen.kinds.composite import Composite
from skipgen.kinds.sequence import Sequence as SequenceLayer
from skipgen.language.load import Path
from skipgen.language.locate import format_path

INPUT = "input"  # what `from` writes for the input of the block (or network) it is in


class Reads(Reach):
    """The resolution of reads, over the resolver's tables."""

    entries: list[tuple[Path, Layer, int]]
    start: dict[Path, int]  # a layer's place in the walk of the spec
    end: dict[Path, int]  # where its output comes: after all of its layers, for a sequence
    local_names: dict[Path, str]
    walked: set[Path]
    reached: set[Path]
    partly_read: set[Path]

    def line(self, path: Path) -> int:
        return self.positions.of(path)[0]

    def handle(self, where: Path, source: str, also: tuple[str, ...] = ()) -> Path | None:
        """The layer a handle names (the resolver's; see :mod:`skipgen.ir.names`)."""
        raise NotImplementedError

    def body_of(self, path: Path) -> Path | None:
        """The innermost composite block whose body holds the layer at ``path``."""
        blocks = [p for p in ancestors(path) if isinstance(self.layers.get(p), Composite)]
        return blocks[-1] if blocks else None

    def body_layers(self, body: Path) -> dict[Path, Layer]:
        """The layers of the body of the block at ``body`` (not of blocks inside it)."""
        return {
            p: layer
            for p, layer in self.layers.items()
            if p[: len(body)] == body and self.body_of(p) == body
        }

    def own_layers(self, body: Path, source: str) -> list[Path]:
        """The layers named ``source`` in the body of the block at ``body``."""
        return [p for p, layer in self.body_layers(body).items() if layer.name == source]

    def shown(self, path: Path) -> str:
        """A path as the spec writes it: inside a composite block's body, the block's own."""
        return format_path(self.positions.shown(path))

    def body_names(self, body: Path) -> list[str]:
        """The names of the layers of a block's body (not of blocks inside it)."""
        return [layer.name for layer in self.body_layers(body).values() if layer.name]

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
        self.local_names[j] = earlier.id or local_name(earlier.name or source)
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


def _listed(names: str | list[str]) -> str:
    """What a `from` names, in words."""
    if isinstance(names, str):
        return repr(names)
    return ", ".join(repr(name) for name in names)


def local_name(name: str) -> str:
    """The local of forward that keeps the output of the layer named ``name``: the name
    itself, or for a key path (``inner_blocks.3``, ``block1-0``) its parts joined by _."""
    local = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return local if local.isidentifier() else f"out_{local}"
