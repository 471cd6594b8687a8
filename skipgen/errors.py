"""Diagnostics: every mistake in a spec is reported as ``file:line:col: error: message``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem in a spec, located at a line and column (both 1-based)."""

    file: str
    line: int
    col: int
    message: str
    hint: str | None = None

    def format(self) -> str:
        text = f"{self.file}:{self.line}:{self.col}: error: {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class SpecError(Exception):
    """A spec is invalid. ``diagnostics`` holds every problem found, in file order."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = sorted(
            set(diagnostics), key=lambda d: (d.file, d.line, d.col, d.message)
        )
        super().__init__("\n".join(d.format() for d in self.diagnostics))
