"""What the commands share: reading specs and printing diagnostics."""

from __future__ import annotations

import sys
from typing import NoReturn

import typer

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
