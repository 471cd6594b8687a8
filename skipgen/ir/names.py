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

from skipgen.ir.tree import scaled_repeats, walk
from skipgen.kinds.base import Layer
from skipgen.kinds.sequence import Sequence as SequenceLayer
from skipgen.spec import models as m
from skipgen.spec.load import Path, Positions
from skipgen.spec.locate import did_you_mean, format_path

Report = Callable[[Path, str, str | None], None]

MAX_SKIP_DEPTH = 1  # sequences around either end of a long skip (the emitted forward reaches in)


@dataclass(frozen=True)
class Names:
    attrs: dict[Path, str]  # every layer's key in its container (its first copy's, if numbered)
    sources: dict[Path, Path]  # layer -> the earlier layer its long skip comes from
    locals: dict[Path, str]  # source layer -> the local variable holding its output
    taken: dict[Path, frozenset[str]]  # list path -> every key and handle in use there
    walked: frozenset[Path]  # sequences holding an end of a long skip: run layer by layer


def ancestors(path: Path) -> list[Path]:
    """The sequences around the layer at ``path``, outermost first."""
    return [path[:k] for k in range(2, len(path) - 1, 2)]


class _Resolver:
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

    def line(self, path: Path) -> int:
        return self.positions.of(path)[0]

    def collect_handles(self) -> None:
        in_list: dict[tuple[Path, str], Path] = {}
        for path, layer, _ in self.entries:
            if layer.name is not None:
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
        taken = {layer.name for layer in layers if layer.name is not None}
        if list_path == ("layers",):
            taken |= set(self.ids) | set(self.names)
        counters: dict[str, int] = {}
        number = 0
        for i, layer in enumerate(layers):
            path = (*list_path, i)
            if layer.name is not None:
                out[path] = layer.name
                number += 1
            elif list_path != ("layers",):
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

    def handle(self, path: Path, source: str) -> Path | None:
        """The layer a `from` names; None after an error, reported."""
        where = (*path, "skip", "from")
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
        hint = did_you_mean(source, [*self.ids, *self.names]) or (
            "give the earlier layer an `id` and refer to it here"
        )
        self.report(where, f"no layer is named {source!r}", hint)
        return None

    def source(self, path: Path, source: str) -> Path | None:
        """The earlier layer the long skip of ``path`` reads; None after an error, reported."""
        j = self.handle(path, source)
        if j is None:
            return None
        where = (*path, "skip", "from")
        if self.end[j] >= self.start[path]:
            if j == path:
                why = "this layer itself"
            elif path[: len(j)] == j:
                why = f"{format_path(j)}, which holds this layer: its output comes after"
            else:
                why = f"{format_path(j)}, which comes later"
            self.report(where, f"{source!r} is {why}", "a skip can only come from an earlier layer")
            return None
        for end, what in ((j, f"{source!r}"), (path, "this layer")):
            outer = ancestors(end)
            repeated = [p for p in outer if self.layers[p].repeat > 1]
            if repeated:
                self.report(
                    where,
                    f"{what} is inside {format_path(repeated[0])}, a sequence that repeats: "
                    "a long skip cannot tell its copies apart",
                    "move the skip's ends out of the repeated sequence, or write its copies out",
                )
                return None
            if len(outer) > MAX_SKIP_DEPTH:
                self.report(
                    where,
                    f"{what} is {len(outer)} sequences deep; a long skip reaches into one",
                    f"refer to {format_path(outer[MAX_SKIP_DEPTH])} instead, or move the "
                    "layer out of the inner sequence",
                )
                return None
        return j

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
        for layers, list_path in lists:
            taken[list_path] = frozenset(self.attrs(layers, list_path, attrs))
        sources: dict[Path, Path] = {}
        local_names: dict[Path, str] = {}
        walked: set[Path] = set()
        for path, layer, _ in self.entries:
            name = layer.skip.from_ if layer.skip else None
            j = None if name is None else self.source(path, name)
            if name is None or j is None:
                continue
            sources[path] = j
            earlier = self.layers[j]
            local_names[j] = earlier.id or earlier.name or name
            walked.update(ancestors(j), ancestors(path))
        return Names(attrs, sources, local_names, taken, frozenset(walked))


def resolve(spec: m.Spec, positions: Positions, report: Report) -> Names:
    """Check names and ids for clashes and skip references for existence and order."""
    return _Resolver(spec, positions, report).resolve()
