"""Which layers a long skip, a head or an output may reach, and what to say when one cannot.

A forward reaches into the sequences around a layer to read it: at most
:data:`MAX_SKIP_DEPTH` of them, none that repeats (its copies could not be told apart), and
never into a composite block's body, whose names are its own. The rules are read by the
name resolver (:mod:`skipgen.ir.names`), which reports at the reference.
"""

from __future__ import annotations

from collections.abc import Callable

from skipgen.kinds.base import Layer
from skipgen.kinds.composite import Composite
from skipgen.language.load import Path, Positions
from skipgen.language.locate import format_path

Report = Callable[[Path, str, str | None], None]

# Sequences around either end of a long skip (the emitted forward reaches in): three hold a
# U-Net decoder's layers in a reference's layout (decoder.blocks.0.conv1).
MAX_SKIP_DEPTH = 3


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

    def reachable(
        self, where: Path, end: Path, what: str, reader: str, *, reads: bool = True
    ) -> bool:
        """Whether the network can read the layer at ``end`` from outside the sequences
        around it (``reads``; else reach into them with a skip for it); False after an
        error, reported at ``where``."""
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
        if len(outer) > MAX_SKIP_DEPTH:
            self.report(
                where,
                f"{what} is {len(outer)} sequences deep; {reader} reaches "
                f"{MAX_SKIP_DEPTH} deep at most",
                self.too_deep_hint(outer[MAX_SKIP_DEPTH], reads),
            )
            return False
        return True

    def too_deep_hint(self, group: Path, reads: bool) -> str:
        """What to do about a layer too deep inside ``group`` (the outermost sequence around
        it that is too deep to reach into); ``reads``: the layer is what a `from` names,
        else the layer whose skip it is."""
        if isinstance(self.layers[group], Composite):  # its body: one level more
            shown = format_path(self.positions.shown(group))
            return (
                f"a block's body is one level inside its use: use the block "
                f"{self.layers[group].type!r} ({shown}) at most {MAX_SKIP_DEPTH - 1} "
                "sequences deep"
            )
        move = f"move the layer out of {self.described(group)}"
        if not reads:
            return f"{move}, to at most {MAX_SKIP_DEPTH} sequences deep"
        handle = self.handle_of(group)
        if handle is not None:
            return f"{move}, or read that whole sequence: `from: {handle}`"
        shown = format_path(self.positions.shown(group))
        return f"{move}, or give that sequence ({shown}) an `id` and read it"

    def described(self, group: Path) -> str:
        """A sequence in words: its name, or its path."""
        name = self.layers[group].name
        shown = format_path(self.positions.shown(group))
        return f"the sequence {name!r} ({shown})" if name else f"the sequence {shown}"

    def handle_of(self, path: Path) -> str | None:
        """What a `from` may write to name the layer at ``path``: its id, or its name where
        no other layer has it; None when it has neither."""
        layer = self.layers[path]
        if layer.id is not None and self.ids.get(layer.id) == path:
            return layer.id
        if layer.name is not None and self.names.get(layer.name) == [path]:
            return layer.name if layer.name not in self.ids else None
        return None
