"""Diagnostics: every mistake in a spec is reported as ``file:line:col: error: message``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem in a spec, located at a line and column (both 1-based).

    Line 0 means no line: the problem is in ``file``, which then names what it is
    (a ``--set`` value, say).
    """

    file: str
    line: int
    col: int
    message: str
    hint: str | None = None
    # where else the problem comes from: the uses of a composite block whose body it is in
    notes: tuple[str, ...] = ()

    def format(self, severity: str = "error") -> str:
        """``file:line:col: error: message`` (or ``warning``), then indented hint and note
        lines.

        Characters that are not printable (a newline, a terminal escape) are written as
        escapes, so a file name or a quoted value can never start a line of its own.
        """
        where = f"{self.file}:{self.line}:{self.col}" if self.line else self.file
        text = f"{_printable(where)}: {severity}: {_printable(self.message)}"
        if self.hint:
            text += f"\n  hint: {_printable(self.hint)}"
        for note in self.notes:
            text += f"\n  note: {_printable(note)}"
        return text


def _printable(text: str) -> str:
    """``text`` with every non-printable character as its Python escape (``\\n``, ``\\x1b``)."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else ascii(char)[1:-1] for char in text)


@dataclass(frozen=True, kw_only=True)
class LayerError:
    """A problem with one field of a layer, found while lowering it, before it is located."""

    field: str
    message: str
    hint: str | None = None


class SpecError(Exception):
    """A spec is invalid. ``diagnostics`` holds every problem found, in file order; those at
    one place with one message (a body's error, once per use) in the order found."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        # dict.fromkeys, not a set: duplicates go, and ties keep the order they were found
        # in, the same on every run (a set's order follows the string hash of the run)
        self.diagnostics = sorted(
            dict.fromkeys(diagnostics), key=lambda d: (d.file, d.line, d.col, d.message)
        )
        super().__init__("\n".join(d.format() for d in self.diagnostics))
