"""What the commands share: reading specs and printing diagnostics."""

from __future__ import annotations

import sys
from typing import NoReturn

import typer
from rich.console import Console

from skipgen.errors import SpecError

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
    when piped; never wrapped or cut when piped."""
    if stdout_is_tty():
        return Console(highlight=False)
    return Console(highlight=False, width=100_000, no_color=True, force_terminal=False)
