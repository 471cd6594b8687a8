"""Which layers a long skip, a head or an output may reach, and what to say when one cannot.

A forward reaches into the sequences around a layer to read it, at any depth: none that
repeats (its copies could not be told apart), and never into a composite block's body,
whose names are its own. The rules are read by the
name resolver (:mod:`skipgen.ir.names`), which reports at the reference.
"""

from __future__ import annotations

from collections.abc import Callable

from skipgen.kinds.base import Layer
from skipgen.kinds.composite import Composite
from skipgen.language.load import Path, Positions
from skipgen.language.locate import format_path

Report = Callable[[Path, str, str | None], None]


def ancestors(path: Path) -> list[Path]:
    """The sequences around the layer at ``path``, outermost first."""
    return [path[:k] for k in range(2, len(path) - 1, 2)]


class Reach:
    """The reach rules over a spec's layers, by path (the resolver's tables)."""

    layers: dict[Path, Layer]
    positions: Positions
    report: Report
    ids: dict[str, Path]  # id -> its layer
    names: dict[str, list[Path]]  # name -> every layer that has it

    def in_body(self, path: Path) -> bool:
        """Whether ``path`` lies in a composite block's body (whose names are its own)."""
        return any(isinstance(self.layers[p], Composite) for p in ancestors(path))

    def walked_around(self, path: Path) -> list[Path]:
        """The groups around ``path`` that a forward runs layer by layer to reach it: all but
        the instances of composite blocks, whose own forward takes what they read."""
        return [p for p in ancestors(path) if not isinstance(self.layers[p], Composite)]

    def in_composite(self, where: Path, end: Path, what: str, reader: str) -> bool:
        """Whether the layer at ``end`` is inside a composite block (reported at ``where``)."""
        blocks = [p for p in ancestors(end) if isinstance(self.layers[p], Composite)]
        if blocks:
            self.report(
                where,
                f"{what} is inside {format_path(blocks[0])}, a composite block: "
                f"{reader} cannot read a layer of its body",
                "read the block's own output: give the use a name or an id",
            )
        return bool(blocks)

    def reachable(self, where: Path, end: Path, what: str, reader: str) -> bool:
        """Whether the network can reach the layer at ``end`` inside the sequences around
        it (to read it, or to run it with what it reads); False after an error, reported
        at ``where``."""
        outer = ancestors(end)
        repeated = [p for p in outer if self.layers[p].repeat > 1]
        if repeated:
            self.report(
                where,
                f"{what} is inside {format_path(repeated[0])}, a sequence that repeats: "
                f"{reader} cannot tell its copies apart",
                "name a layer outside the repeated sequence, or write its copies out",
            )
            return False
        return True
