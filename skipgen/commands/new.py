"""``skipgen new``: start a spec from one of the configs shipped with skipgen."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

from skipgen.api import lower_spec
from skipgen.commands.common import count, fail
from skipgen.errors import SpecError
from skipgen.output import OutputRefused, output_target, write_atomic
from skipgen.spec.locate import did_you_mean

_SCHEMA_LINE = re.compile(r"^# yaml-language-server: .*\n", re.MULTILINE)
_NAME_LINE = re.compile(r"^name: .*$", re.MULTILINE)


def shipped() -> dict[str, str]:
    """The shipped configs' texts by name (``resnet18``), read from the installed package."""
    folder = resources.files("skipgen.configs")
    texts = {
        entry.name.removesuffix(".yaml"): entry.read_text(encoding="utf-8")
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml")
    }
    return dict(sorted(texts.items()))


def description(text: str) -> str:
    """The first line of a config's opening comment, up to its first ': '."""
    for line in _SCHEMA_LINE.sub("", text).splitlines():
        if line.startswith("# "):
            return line[2:].split(": ", 1)[0].strip()
        break
    return ""


def _list() -> None:
    configs = shipped()
    width = max(map(len, configs))
    for name, text in configs.items():
        graph = lower_spec(text)
        shape = "(" + ", ".join(map(str, graph.input_shape())) + ")"
        facts = f"{shape}, {count(graph.params)} parameters"
        typer.echo(f"{name.ljust(width)}  {description(text)}; {facts}")


def _start(configs: dict[str, str], source: str, stem: str) -> str:
    """The config's text with the network renamed to ``stem`` and its schema line dropped
    (it points into skipgen's repository)."""
    text = _SCHEMA_LINE.sub("", configs[source], count=1)
    text = _NAME_LINE.sub(f"name: {stem}", text, count=1)
    header = f"# Started from skipgen's {source} config (skipgen new {stem} --from {source}).\n"
    return header + text


def new(
    name: Annotated[
        str | None,
        typer.Argument(
            metavar="NAME",
            help="The new spec: NAME.yaml is written (NAME may hold a folder: specs/mynet), "
            "and the network is named after it.",
        ),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option("--from", metavar="CONFIG", help="The shipped config to start from."),
    ] = None,
    show: Annotated[
        bool, typer.Option("--list", help="List the shipped configs, one line each.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite NAME.yaml if it exists.")
    ] = False,
) -> None:
    """Write a starting spec, NAME.yaml, from a config shipped with skipgen.

    The configs reproduce reference networks (ResNet, MobileNetV2, EfficientNet, DenseNet,
    U-Net); `skipgen new --list` shows them. An existing file is never overwritten
    unless --force is given.

    \b
    Examples:
      skipgen new --list
      skipgen new mynet --from resnet18
      skipgen validate mynet.yaml --set scaling.width=0.5

    Exit codes: 0 done, 1 a refused or failed write, 2 usage errors.
    """
    if show:
        _list()
        return
    configs = shipped()
    if name is None or source is None:
        missing = "NAME" if name is None else "--from CONFIG"
        raise typer.BadParameter(
            f"give {missing} (skipgen new NAME --from CONFIG), or --list to see the configs",
            param_hint="NAME" if name is None else "'--from'",
        )
    if source not in configs:
        close = did_you_mean(source, list(configs))
        hint = f"{close} " if close else ""
        raise typer.BadParameter(
            f"no config {source!r}; {hint}skipgen new --list shows them all",
            param_hint="'--from'",
        )
    path = Path(name if name.endswith((".yaml", ".yml")) else f"{name}.yaml")
    text = _start(configs, source, path.stem.split(".")[0])
    try:
        lower_spec(text)
    except SpecError as error:
        problems = "; ".join(d.message for d in error.diagnostics)
        raise typer.BadParameter(
            f"{path.stem!r} cannot name a network: {problems}", param_hint="NAME"
        ) from None
    try:
        target = output_target(path, force=force, is_ours=lambda _: False)
    except OutputRefused as refusal:
        fail(str(refusal))
    if not target.parent.is_dir():
        fail(f"cannot write {path}: the folder {target.parent} does not exist")
    try:
        write_atomic(target, text)
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror or exc}")
    typer.echo(f"wrote {path} (from {source}); check it with: skipgen summary {path}", err=True)
