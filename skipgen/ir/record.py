"""What the lowering gathers over the whole network as it walks: every problem found, and
the size program with what each of its steps stands for, to word a failure later."""

from __future__ import annotations

from dataclasses import dataclass, field

from skipgen.errors import Diagnostic, LayerError
from skipgen.ir.sizes import Program
from skipgen.language.load import Path, Positions
from skipgen.language.locate import format_path


@dataclass(frozen=True)
class SizeStep:
    """What a size-program step or check stands for: the spec node and its words."""

    path: Path
    what: str


@dataclass
class Record:
    """Diagnostics and the size program of one network; shared by every list of layers."""

    positions: Positions
    diagnostics: list[Diagnostic] = field(default_factory=list)
    program: Program = field(default_factory=Program)
    steps: list[SizeStep] = field(default_factory=list)

    def error(self, path: Path, message: str, hint: str | None = None) -> None:
        where = f"{format_path(self.positions.shown(path))}: {message}"
        self.diagnostics.append(self.positions.diagnostic(path, where, hint))

    def layer_error(self, layer: Path, error: LayerError) -> None:
        """Report ``error`` at its field of the layer at ``layer``."""
        self.error((*layer, error.field), error.message, error.hint)

    def step(self, path: Path, what: str) -> int:
        """Name a size-program step or check; the program refers to it by the number."""
        self.steps.append(SizeStep(path, what))
        return len(self.steps) - 1
