"""``skipgen new``: start a spec from one of the configs shipped with skipgen."""

from __future__ import annotations

import os
import re
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Annotated

import typer

from skipgen.api import lower_spec
from skipgen.commands.common import count, fail
from skipgen.errors import SpecError
from skipgen.language.locate import did_you_mean
from skipgen.output import OutputRefused, output_target, read_regular, write_atomic

_SCHEMA_LINE = re.compile(r"^# yaml-language-server: .*\n", re.MULTILINE)
_NAME_LINE = re.compile(r"^name: .*$", re.MULTILINE)
_STEM = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")  # what NAME's file name may be
_WORD_BREAK = re.compile(r"[_-]+")
# The first line of every spec that `skipgen new` writes.
_HEADER = re.compile(r"# Started from skipgen's \w+ config \(skipgen new [\w-]+ --from \w+\)\.\n")
_NAME_HINT = "give a name such as my_net or specs/my_net (its network is then MyNet)"

# The repository's configs/ folder, which installs as the package skipgen.configs.
_CHECKOUT_CONFIGS = Path(__file__).resolve().parent.parent.parent / "configs"


def _configs_folder() -> Traversable:
    """The shipped configs: the package skipgen.configs once installed, else (skipgen run
    from a source checkout) the configs/ folder beside the package."""
    try:
        return resources.files("skipgen.configs")
    except ModuleNotFoundError:
        if _CHECKOUT_CONFIGS.is_dir():
            return _CHECKOUT_CONFIGS
        fail(
            "the shipped configs are missing: skipgen.configs is not installed and there is "
            f"no {_CHECKOUT_CONFIGS}; reinstall skipgen (pip install skipgen)"
        )


def shipped() -> dict[str, str]:
    """The shipped configs' texts by name (``resnet18``), read from the installed package."""
    folder = _configs_folder()
    texts = {
        entry.name.removesuffix(".yaml"): entry.read_text(encoding="utf-8")
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml")
    }
    return dict(sorted(texts.items()))


def shipped_files() -> list[Path]:
    """The shipped configs that are files on disk (not in a zip): inputs of `new`, which
    it never overwrites."""
    return [
        entry
        for entry in _configs_folder().iterdir()
        if isinstance(entry, Path) and entry.name.endswith(".yaml")
    ]


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


def network_name(stem: str) -> str:
    """The class name of the network in the file ``stem``, in CapWords: ``my_net`` and
    ``my-net`` give ``MyNet``, ``MyNet`` stays, ``mynet`` gives ``Mynet`` (where the words
    are is not written in it)."""
    return "".join(word[0].upper() + word[1:] for word in _WORD_BREAK.split(stem) if word)


def _bad_name(message: str) -> typer.BadParameter:
    return typer.BadParameter(f"{message}; {_NAME_HINT}", param_hint="NAME")


def spec_path(name: str) -> Path:
    """The file that NAME names (``.yaml`` added), or a usage error saying why it names none.

    Its folders are the user's to choose; its file name is the network's name, so it is a
    letter followed by letters, digits, '_' or '-', on one line.
    """
    if not name.isprintable():
        unprintable = next(c for c in name if not c.isprintable())
        raise _bad_name(f"{name!r} holds the control character {unprintable!r}")
    if name.endswith(("/", os.sep)):
        raise _bad_name(f"{name!r} ends in '/', so it names a folder, not a file")
    path = Path(name if name.endswith((".yaml", ".yml")) else f"{name}.yaml")
    stem = path.name.removesuffix(".yaml").removesuffix(".yml")
    if not _STEM.fullmatch(stem):
        shown = f"the file name {stem!r}" if stem != name else repr(name)
        raise _bad_name(
            f"{shown} cannot name a network: a name is a letter followed by letters, "
            "digits, '_' or '-'"
        )
    return path


def _start(configs: dict[str, str], source: str, stem: str) -> str:
    """The config's text with the network renamed after ``stem`` and its schema line
    dropped (it points into skipgen's repository), under the header of `new`'s files."""
    text = _SCHEMA_LINE.sub("", configs[source], count=1)
    text = _NAME_LINE.sub(f"name: {network_name(stem)}", text, count=1)
    header = f"# Started from skipgen's {source} config (skipgen new {stem} --from {source}).\n"
    assert _HEADER.fullmatch(header), header
    return header + text


def started_by_new(path: Path) -> bool:
    """True when ``path`` is a regular file whose first line is the header `new` writes."""
    head = read_regular(path, 4096)
    if head is None:
        return False
    first = head.split(b"\n", 1)[0] + b"\n"
    return _HEADER.fullmatch(first.decode("utf-8", errors="replace")) is not None


def _target(path: Path, text: str, force: bool) -> Path | None:
    """The file to write, or None when it already holds ``text``; exit 1 if refused.

    A spec that `new` started is meant to be edited: it is replaced only with --force
    (unless it still holds exactly what this command writes).
    """
    try:
        target = output_target(path, force=force, is_ours=started_by_new, inputs=shipped_files())
    except OutputRefused as refusal:
        fail(str(refusal))
    if force or not target.exists():
        return target
    if read_regular(target) == text.encode("utf-8"):
        return None
    fail(
        f"{path} exists: skipgen new started it, and it differs from what this command "
        "writes (edited since, or from another config); not overwriting it (use --force "
        "to replace it)"
    )


def new(
    name: Annotated[
        str | None,
        typer.Argument(
            metavar="NAME",
            help="The new spec: NAME.yaml is written (NAME may hold a folder: specs/my_net), "
            "and the network is named after it in CapWords (my_net: MyNet).",
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
    path = spec_path(name)
    stem = path.name.removesuffix(".yaml").removesuffix(".yml")
    text = _start(configs, source, stem)
    try:
        lower_spec(text)
    except SpecError as error:
        problems = "; ".join(d.message for d in error.diagnostics)
        raise _bad_name(f"{stem!r} cannot name a network: {problems}") from None
    target = _target(path, text, force)
    if target is None:
        typer.echo(f"{path}: unchanged (skipgen new wrote it from {source})", err=True)
        return
    if not target.parent.is_dir():
        fail(f"cannot write {path}: the folder {target.parent} does not exist")
    try:
        write_atomic(target, text)
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror or exc}")
    typer.echo(f"wrote {path} (from {source}); check it with: skipgen summary {path}", err=True)
