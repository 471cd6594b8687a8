"""The ``skipgen`` command line: arguments in, diagnostics and exit codes out.

Exit codes: 0 done, 1 an invalid spec (or a stale file under ``build --check``), 2 usage.
"""

from __future__ import annotations

import gc

import typer

from skipgen import __version__
from skipgen.commands.build import build
from skipgen.commands.diff import diff
from skipgen.commands.graph import graph
from skipgen.commands.new import new
from skipgen.commands.schema import schema
from skipgen.commands.summary import summary
from skipgen.commands.validate import validate
from skipgen.commands.weights import weights

app = typer.Typer(
    name="skipgen",
    help="Compile YAML specs of skip-connection networks into PyTorch.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.command()(validate)
app.command()(summary)
app.command()(diff)
app.command()(graph)
app.command()(build)
app.command()(new)
app.command()(weights)
app.command()(schema)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"skipgen {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Compile YAML specs of skip-connection networks into PyTorch."""


def main() -> None:
    # A command runs once and exits. What importing made lives until then, so no collection
    # need walk it again (freeze); and a large spec makes many objects at once, few of them
    # in cycles, so the cycle collector runs less often (it still runs).
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    app()
