"""``skipgen build``: write standalone PyTorch source for specs (without importing torch)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, NamedTuple

import typer

from skipgen.api import generate_source, load_spec
from skipgen.commands.common import SET_HELP, SPECS_HELP, fail, report, spec_inputs
from skipgen.errors import SpecError
from skipgen.language.models import Spec
from skipgen.output import (
    OutputRefused,
    is_generated,
    output_target,
    read_regular,
    short_diff,
    write_atomic,
)


class Job(NamedTuple):
    """One file to write: the -o name to show, the regular file behind it, its text."""

    shown: Path
    path: Path
    text: str


def _usage(message: str) -> typer.BadParameter:
    return typer.BadParameter(message, param_hint="'-o' / '--output'")


def _names_a_folder(output: str) -> bool:
    return output.endswith(("/", os.sep)) or Path(output).is_dir()


def _targets(specs: list[Path], output: str | None) -> list[Path]:
    """Where each spec's source goes: the file OUT, or OUT/<stem>.py (none for stdout)."""
    if output is None:
        if len(specs) > 1:
            raise _usage("several specs need -o DIR (a folder for their files)")
        return []
    folder = Path(output)
    if len(specs) == 1 and not _names_a_folder(output):
        return [folder]
    if folder.exists() and not folder.is_dir():
        why = "several specs need a folder" if len(specs) > 1 else "a trailing '/' means a folder"
        raise _usage(f"-o {output}: {why}, and {folder} is a file")
    targets: list[Path] = []
    seen: dict[Path, Path] = {}
    for spec in specs:
        target = folder / f"{spec.stem}.py"
        if target in seen:
            raise _usage(f"{seen[target]} and {spec} would both write {target}")
        seen[target] = spec
        targets.append(target)
    return targets


def _resolve(jobs: list[Job], specs: list[tuple[Path, Spec]], force: bool) -> list[Job]:
    """The jobs with each target checked by the output rule; exit 1 if any is refused.

    No target may be a file the specs read (a spec, or a block file it includes).
    """
    checked: list[Job] = []
    refused = False
    inputs: list[Path] = []  # read when a target exists: only then can it be an input
    for job in jobs:
        if not inputs and os.path.lexists(job.path):
            inputs = list(spec_inputs(specs))
        try:
            path = output_target(job.path, force=force, is_ours=is_generated, inputs=inputs)
        except OutputRefused as refusal:
            typer.echo(f"error: {refusal}", err=True)
            refused = True
            continue
        checked.append(Job(job.shown, path, job.text))
    if refused:
        raise typer.Exit(1)
    return checked


def _check(jobs: list[Job]) -> None:
    stale = 0
    for job in jobs:
        current = read_regular(job.path)
        if current == job.text.encode("utf-8"):
            continue
        stale += 1
        if current is None:
            typer.echo(f"{job.shown}: missing; run skipgen build to write it", err=True)
            continue
        typer.echo(f"{job.shown}: out of date with its spec", err=True)
        old = current.decode("utf-8", errors="replace")
        typer.echo(short_diff(old, job.text, str(job.shown)), nl=False)
    if stale:
        raise typer.Exit(1)
    typer.echo(f"{len(jobs)} file{'s' if len(jobs) > 1 else ''} up to date", err=True)


def _write(jobs: list[Job]) -> None:
    for job in jobs:
        if read_regular(job.path) == job.text.encode("utf-8"):
            typer.echo(f"{job.shown}: unchanged", err=True)
            continue
        try:
            job.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(job.path, job.text)
        except OSError as exc:
            fail(f"cannot write {job.shown}: {exc.strerror or exc}")
        typer.echo(f"wrote {job.shown}", err=True)


def build(
    specs: Annotated[
        list[Path],
        typer.Argument(metavar="SPEC", help=SPECS_HELP, exists=True, dir_okay=False, readable=True),
    ],
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            metavar="PATH",
            help="Write one spec to this .py file. With several specs, an existing folder, "
            "or a name ending in '/', write <spec name>.py files into that folder "
            "(created if missing). A symbolic link is written through: the file it points "
            "to is replaced and the link kept. Default: print the source of one spec.",
        ),
    ] = None,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Write nothing; exit 1 and show a diff when an -o file is missing or "
            "differs from what its spec generates now.",
        ),
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Overwrite -o files even if skipgen did not write them (never a spec or "
            "a block file it includes, a folder, a FIFO or a device).",
        ),
    ] = False,
    line_length: Annotated[
        int,
        typer.Option(
            "--line-length",
            min=88,
            help="Lay the source out for this many columns, as ruff format or black "
            "would at that line length (88 is their default; less is refused, since the "
            "copied blocks are written for 88).",
        ),
    ] = 88,
    set_values: Annotated[
        list[str] | None, typer.Option("--set", metavar="KEY=VALUE", help=SET_HELP)
    ] = None,
) -> None:
    """Write standalone PyTorch source for specs: modules that need only torch.

    The source holds the block classes the spec uses and one network class named after
    the spec. An invalid spec writes nothing. Files are written to a temporary file in
    the same folder and renamed into place. Only regular files are written: a folder,
    FIFO, socket or device as -o is refused, and so is a file without skipgen's header
    unless --force is given.

    \b
    Examples:
      skipgen build resnet18.yaml > resnet18.py
      skipgen build resnet18.yaml -o models/resnet18.py
      skipgen build resnet18.yaml -o models/
      skipgen build configs/*.yaml -o models/
      skipgen build configs/*.yaml -o models/ --check

    Exit codes: 0 done (or up to date), 1 an invalid spec, a stale or missing file under
    --check, or a refused -o file, 2 usage errors.
    """
    targets = _targets(specs, output)
    if check and output is None:
        raise _usage("--check compares with files: give -o")
    loaded: list[tuple[Path, Spec]] = []
    sources: list[str] = []
    failed = False
    for spec in specs:
        try:
            valid = load_spec(spec, set=set_values or ())
            sources.append(generate_source(valid, line_length=line_length))
            loaded.append((spec, valid))
        except SpecError as error:
            report(error)
            failed = True
    if failed:
        raise typer.Exit(1)
    if output is None:
        typer.echo(sources[0], nl=False)
        return
    jobs = [Job(t, t, s) for t, s in zip(targets, sources, strict=True)]
    jobs = _resolve(jobs, loaded, force=force or check)
    if check:
        _check(jobs)
    else:
        _write(jobs)
