"""What the commands share: reading specs and printing diagnostics."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer

from skipgen.composite.library import read_library
from skipgen.errors import SpecError
from skipgen.language.models import Spec

if TYPE_CHECKING:
    from rich.console import Console

SPECS_HELP = "Spec files (YAML)."


def report(error: SpecError) -> None:
    """Print every diagnostic to stderr, compiler style."""
    for diagnostic in error.diagnostics:
        typer.echo(diagnostic.format(), err=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``error: message`` to stderr and exit with ``code``."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def count(n: int) -> str:
    return f"{n:,}"


def stdout_is_tty() -> bool:
    return sys.stdout.isatty()


SET_HELP = (
    "Change a value of the spec before checking it, as if the file said so: a dotted key "
    "(a number indexes a list) and a YAML value, e.g. scaling.width=1.1, input.size=512, "
    "layers.3.channels=96. Repeat for several."
)


def console() -> Console:
    """A Rich console on stdout: colours on a terminal (unless NO_COLOR is set), plain text
    when piped; never wrapped or cut when piped. (Rich is imported here, where a command
    draws: the others start faster.)"""
    from rich.console import Console

    if stdout_is_tty():
        return Console(highlight=False)
    return Console(highlight=False, width=100_000, no_color=True, force_terminal=False)


def included_files(spec: Spec) -> list[Path]:
    """The block files a spec read from disk: its ``include``s and theirs, at any depth.

    They are read again (the spec keeps only the blocks it uses): ask only when it matters,
    as when an output file already exists.
    """
    positions = spec._positions
    if not spec.include or positions is None or positions.file.startswith("<"):
        return []
    try:
        library = read_library({"include": list(spec.include)}, positions, {})
    except SpecError:  # changed since the spec was read: no file of it is known
        return []
    return [Path(file) for file, _ in library.texts]


def spec_inputs(specs: Iterable[tuple[Path, Spec]]) -> Iterator[Path]:
    """Every file that specs read, which no command's output may be: each spec, then the
    block files it includes (read only when the iteration gets there)."""
    for path, spec in specs:
        yield path
        yield from included_files(spec)
