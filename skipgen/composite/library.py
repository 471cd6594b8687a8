"""Collect a spec's composite blocks: its own ``blocks:`` and those of the files it
``include``s, each checked, located in its own file, and free of cycles.

An ``include`` entry is a path relative to the file that names it, ending in ``.yaml`` or
``.yml``: no URL, no absolute path, no ``~``. It may lead out of the spec's folder (a
project's block library often sits beside its configs). An included file holds
``blocks:`` and may ``include`` more; a file reached twice is read once, and a file that
includes itself, directly or not, is an error. Block files are read as spec files are
(:func:`skipgen.language.load.read_file`): only a regular file, or a link to one, of at most
1 MiB.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field, TypeAdapter, ValidationError

from skipgen.composite.define import BlockDefinition, CompositeUse, use_model
from skipgen.errors import Diagnostic, SpecError
from skipgen.kinds.base import Layer
from skipgen.language.load import Path, Positions, Unreadable, load_yaml, read_file
from skipgen.language.locate import (
    diagnostics_from,
    format_path,
    is_another_kind_of_file,
    quoted,
)
from skipgen.language.vocabulary import StrictModel, check_identifier

MAX_INCLUDED = 64  # files, all includes together
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")  # http:, file:, C: (a drive) ...


class BlockLibrary(StrictModel):
    """A file of composite blocks, which specs include."""

    description: str | None = Field(default=None, description="free text about the blocks")
    include: list[str] = Field(default_factory=list, description="more block files, by path")
    blocks: dict[str, BlockDefinition] = Field(default_factory=dict, description="the blocks")


@dataclass(frozen=True)
class Definition:
    """A composite block, and where it is written."""

    name: str
    body: BlockDefinition
    positions: Positions  # of the file that defines it
    origin: Path  # ("blocks", name) in that file


@dataclass
class Library:
    """The composite blocks a spec may use, by name, and the text of every included file."""

    definitions: dict[str, Definition] = field(default_factory=dict)
    uses: dict[str, type[CompositeUse]] = field(default_factory=dict)
    texts: list[tuple[str, str]] = field(default_factory=list)  # (file, text) of includes


class _Reader:
    def __init__(self, kinds: Mapping[str, type[Layer]]) -> None:
        self.kinds = kinds
        self.library = Library()
        self.errors: list[Diagnostic] = []
        self.seen: set[str] = set()  # resolved paths of the files read

    def file(self, data: dict[str, Any], positions: Positions, chain: tuple[str, ...]) -> None:
        """The blocks of one file (the spec, or an included file) and of what it includes."""
        includes = data.get("include")
        if isinstance(includes, list):
            for i, entry in enumerate(includes):
                if isinstance(entry, str):
                    self.include(entry, positions, ("include", i), chain)
        blocks = data.get("blocks")
        if not isinstance(blocks, dict):
            return  # absent, or not a mapping: the spec's model reports it
        for name, body in blocks.items():
            self.define(str(name), body, positions)

    def include(
        self, entry: str, positions: Positions, where: Path, chain: tuple[str, ...]
    ) -> None:
        problem = _include_problem(entry)
        if problem is not None:
            self.errors.append(positions.diagnostic(where, f"include: {problem}", _INCLUDE_HINT))
            return
        if positions.file.startswith("<"):
            message = "include: a spec given as text has no folder to include from"
            self.errors.append(positions.diagnostic(where, message, "read the spec from a file"))
            return
        target = os.path.join(os.path.dirname(positions.file), entry)
        resolved = os.path.realpath(target)
        if resolved in chain:
            message = f"include: {quoted(entry)} includes itself (through {len(chain)} file(s))"
            self.errors.append(positions.diagnostic(where, message, "remove one of the includes"))
            return
        if resolved in self.seen:
            return
        if len(self.seen) >= MAX_INCLUDED:
            message = f"include: more than {MAX_INCLUDED} files are included"
            self.errors.append(positions.diagnostic(where, message, "merge block files"))
            return
        self.seen.add(resolved)
        try:
            text = read_file(target)
            data, included = load_yaml(text, target)
        except Unreadable as exc:
            message = f"include: cannot read {quoted(entry)}: {exc.reason}"
            self.errors.append(positions.diagnostic(where, message, exc.hint))
            return
        except SpecError as error:
            self.errors.extend(error.diagnostics)
            return
        problems = self.library_problems(data, included)
        if problems:
            self.errors.extend(problems)
            return
        self.library.texts.append((target, text))
        self.file(data, included, (*chain, resolved))

    def library_problems(self, data: Any, positions: Positions) -> list[Diagnostic]:
        """What makes an included file's ``data`` not a block file (its blocks aside)."""
        if not isinstance(data, dict):
            message = "a block file is a mapping with blocks (and include)"
            return [positions.diagnostic((), message, _LIBRARY_HINT)]
        if is_another_kind_of_file(data, BlockLibrary):
            message = "this file is not a block file: it has none of the keys blocks, include"
            return [positions.diagnostic((), message, _LIBRARY_HINT)]
        blocks = data.get("blocks")
        checked = {**data, "blocks": {}} if isinstance(blocks, dict) else data  # each alone
        try:
            BlockLibrary.model_validate(checked)
        except ValidationError as exc:
            return diagnostics_from(exc, data, positions, self.kinds, root=BlockLibrary)
        return []

    def define(self, name: str, body: Any, positions: Positions) -> None:
        where: Path = ("blocks", name)
        try:
            definition = TypeAdapter(BlockDefinition).validate_python(body)
        except ValidationError as exc:
            within = _Prefixed(exc, where)
            data = {"blocks": {name: body}}
            self.errors.extend(diagnostics_from(within, data, positions, self.kinds))  # type: ignore[arg-type]
            return
        problem = self.name_problem(name, positions)
        if problem is not None:
            self.errors.append(positions.diagnostic(where, problem[0], problem[1], key=True))
            return
        self.library.definitions[name] = Definition(name, definition, positions, where)
        self.library.uses[name] = use_model(name, definition)

    def name_problem(self, name: str, positions: Positions) -> tuple[str, str] | None:
        try:
            check_identifier(name, "block name")
        except ValueError as exc:
            return f"blocks.{name}: {exc}", getattr(exc, "hint", "")
        if name in self.kinds:
            return (
                f"blocks.{name}: {name!r} is already a kind",
                "a composite block needs a name of its own",
            )
        other = self.library.definitions.get(name)
        if other is not None:
            line, _ = other.positions.of(other.origin, key=True)
            return (
                f"blocks.{name}: the block {name!r} is already defined "
                f"({other.positions.file}:{line})",
                "rename one of them",
            )
        return None


class _Prefixed:
    """A validation error of a part of a file, with its locations made the file's."""

    def __init__(self, error: ValidationError, prefix: Path) -> None:
        self.error, self.prefix = error, prefix

    def errors(self) -> list[dict[str, Any]]:
        return [{**e, "loc": (*self.prefix, *e["loc"])} for e in self.error.errors()]


_LIBRARY_HINT = "an included file holds `blocks:` (and may `include:` more): is it the right file?"
_INCLUDE_HINT = "write a path relative to this file, ending in .yaml, such as blocks/decoder.yaml"


def _include_problem(entry: str) -> str | None:
    if not entry.endswith((".yaml", ".yml")):
        return f"{quoted(entry)} is not a .yaml file"
    if "://" in entry or _URL.match(entry):
        return f"{quoted(entry)} is not a relative path: only files are included, never URLs"
    if os.path.isabs(entry) or entry.startswith(("~", "/", "\\")):
        return f"{quoted(entry)} is an absolute path"
    return None


def read_library(
    data: dict[str, Any], positions: Positions, kinds: Mapping[str, type[Layer]]
) -> Library:
    """The composite blocks a spec defines and includes; a :class:`SpecError` lists every
    problem with them (bad definitions, bad includes, name clashes, cycles)."""
    reader = _Reader(kinds)
    if not positions.file.startswith("<"):
        reader.seen.add(os.path.realpath(positions.file))
    reader.file(data, positions, (os.path.realpath(positions.file),))
    if not reader.errors:
        reader.errors.extend(_cycles(reader.library))
    if reader.errors:
        raise SpecError(reader.errors)
    return reader.library


def _used(layers: list[Any], path: Path) -> list[tuple[str, Path]]:
    """The ``type`` of every layer of a raw body, nested sequences too, with its path."""
    found: list[tuple[str, Path]] = []
    for i, layer in enumerate(layers):
        if not isinstance(layer, dict):
            continue
        if isinstance(layer.get("type"), str):
            found.append((layer["type"], (*path, i, "type")))
        if isinstance(layer.get("layers"), list):
            found += _used(layer["layers"], (*path, i, "layers"))
    return found


def _cycles(library: Library) -> list[Diagnostic]:
    """A composite that uses itself, directly or through others: located at the use."""
    names = library.definitions
    uses = {
        name: [(t, p) for t, p in _used(d.body.layers, (*d.origin, "layers")) if t in names]
        for name, d in names.items()
    }
    errors: list[Diagnostic] = []
    done: set[str] = set()  # explored: no cycle goes through it

    def visit(name: str, stack: tuple[str, ...]) -> None:
        for used, path in uses[name]:
            if used in stack:
                cycle = " -> ".join((*stack[stack.index(used) :], used))
                errors.append(
                    names[name].positions.diagnostic(
                        path,
                        f"{format_path(path)}: {name!r} uses {used!r}, which uses it in "
                        f"turn: {cycle}",
                        "a block cannot contain itself: break the cycle",
                    )
                )
            elif used not in done:
                visit(used, (*stack, used))
        done.add(name)

    for name in names:
        if name not in done:
            visit(name, (name,))
    return errors
