"""``skipgen schema``: the JSON Schema of the spec language, for editors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from skipgen.commands.common import fail
from skipgen.output import write_atomic
from skipgen.spec.models import Spec


def schema_text() -> str:
    data = Spec.model_json_schema(by_alias=True)
    data["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    data["title"] = "skipgen spec"
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def schema(
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write to this file instead of stdout."),
    ] = None,
) -> None:
    """Print the JSON Schema of spec files (editors use it for completion and checks).

    Point an editor at it with a first line such as
    `# yaml-language-server: $schema=schemas/skipgen.schema.json`.
    """
    text = schema_text()
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        write_atomic(output, text)
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}")
