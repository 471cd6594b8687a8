"""Where a layer of a composite's body is written, for the errors found in it.

Once a use is expanded, its body's layers sit in the spec's tree under the use
(``layers[3].layers[0]``), but they are written in the block's definition, possibly in an
included file. :class:`FramedPositions` maps such a path back to the definition, and adds
a note for every use it lies in, so that an error points both at the body line that holds
the problem and at the use that gave the values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from skipgen.errors import Diagnostic
from skipgen.language.load import Path, Positions
from skipgen.language.locate import format_path


@dataclass(frozen=True)
class Frame:
    """The body of one use: its path in the expanded tree, and in its definition."""

    prefix: Path  # (*use, "layers")
    positions: Positions  # of the file that defines the block
    origin: Path  # ("blocks", name, "layers") in that file
    note: str  # "in 'decoder' used at spec.yaml:12:5 (layers[3])"


@dataclass
class FramedPositions(Positions):
    """The spec's positions, and those of every composite body expanded in it."""

    frames: dict[Path, Frame] = field(default_factory=dict)  # by prefix

    @classmethod
    def around(cls, positions: Positions) -> FramedPositions:
        return cls(positions.file, positions.values, positions.keys, positions.labels)

    def enclosing(self, path: Path) -> list[Frame]:
        """The frames ``path`` lies in, innermost first."""
        found = (self.frames.get(path[:k]) for k in range(len(path), 1, -1))
        return [frame for frame in found if frame is not None]

    def translated(self, path: Path) -> tuple[Positions, Path]:
        """The file's positions and the path there for ``path``."""
        frames = self.enclosing(path)
        if not frames:
            return Positions(self.file, self.values, self.keys, self.labels), path
        inner = frames[0]
        return inner.positions, (*inner.origin, *path[len(inner.prefix) :])

    def of(self, path: Path, *, key: bool = False) -> tuple[int, int]:
        positions, there = self.translated(path)
        return positions.of(there, key=key)

    def shown(self, path: Path) -> Path:
        return self.translated(path)[1]

    def where(self, path: Path) -> str:
        """``file:line:col`` of ``path``, for notes."""
        positions, there = self.translated(path)
        line, col = positions.of(there)
        return f"{positions.file}:{line}:{col}"

    def diagnostic(
        self, path: Path, message: str, hint: str | None = None, *, key: bool = False
    ) -> Diagnostic:
        positions, there = self.translated(path)
        located = positions.diagnostic(there, message, hint, key=key)
        notes = tuple(f.note for f in self.enclosing(path))
        return Diagnostic(located.file, located.line, located.col, message, hint, notes)

    def frame(self, use: Path, name: str, origin: Positions, origin_path: Path) -> Frame:
        """Add the frame of the body of the use at ``use`` of the block ``name``."""
        shown = format_path(self.shown(use))
        note = f"in the block {name!r} used at {self.where(use)} ({shown})"
        frame = Frame((*use, "layers"), origin, (*origin_path, "layers"), note)
        self.frames[frame.prefix] = frame
        return frame
