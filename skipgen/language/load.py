"""Read YAML safely, keeping the line and column of every node.

Only PyYAML's safe constructors run: a ``!!python/object`` or any other constructor tag is
reported as an error, never executed. Plain scalars are read by the YAML 1.2 core schema
(see :mod:`skipgen.language.yaml12`). A key given twice in one mapping is an error too
(PyYAML itself would silently keep the last one). The document is composed within the
limits on depth, nodes and aliases first (see :mod:`skipgen.language.compose`), by libyaml
where PyYAML has it. Only regular files of a bounded size are read (:func:`read_file`)."""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from typing import Any

import yaml

from skipgen.errors import Diagnostic, SpecError
from skipgen.language.compose import Refused, compose
from skipgen.language.limits import MAX_FILE_BYTES
from skipgen.language.yaml12 import TooManyDigits, Yaml12Loader

Path = tuple[str | int, ...]

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_STR_TAG = "tag:yaml.org,2002:str"


@dataclass
class Positions:
    """Where each value (and each mapping key) of a loaded document starts."""

    file: str
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)
    # lines past the file's end that stand for something else (a ``--set`` value): what
    # a diagnostic on such a line names instead of ``file:line:col``
    labels: dict[int, str] = field(default_factory=dict)

    def of(self, path: Path, *, key: bool = False) -> tuple[int, int]:
        """The position of ``path``, or of its nearest located ancestor."""
        table = self.keys if key else self.values
        while path:
            if path in table:
                return table[path]
            if path in self.values:
                return self.values[path]
            path = path[:-1]
        return self.values.get((), (1, 1))

    def diagnostic(
        self, path: Path, message: str, hint: str | None = None, *, key: bool = False
    ) -> Diagnostic:
        line, col = self.of(path, key=key)
        return Diagnostic(self.file, line, col, message, hint)

    def shown(self, path: Path) -> Path:
        """The path a message names for ``path`` (another where a composite's body is)."""
        return path

    def relabel(self, diagnostic: Diagnostic) -> Diagnostic:
        """``diagnostic`` named by its label when it sits on a labelled line."""
        label = self.labels.get(diagnostic.line)
        if label is None or diagnostic.file != self.file:
            return diagnostic
        file = f"{self.file}: {label}"
        return Diagnostic(file, 0, 0, diagnostic.message, diagnostic.hint, diagnostic.notes)


def _short(tag: str) -> str:
    return tag.replace("tag:yaml.org,2002:", "!!")


def _pos(mark: yaml.Mark) -> tuple[int, int]:
    return mark.line + 1, mark.column + 1


class _Builder:
    def __init__(self, file: str) -> None:
        self.positions = Positions(file)
        self.constructor = Yaml12Loader("")
        self.errors: list[Diagnostic] = []

    def error(self, node: yaml.Node, message: str, hint: str | None = None) -> None:
        line, col = _pos(node.start_mark)
        self.errors.append(Diagnostic(self.positions.file, line, col, message, hint))

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.positions.values[path] = _pos(node.start_mark)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ_TAG:
                self.error(node, f"unsupported YAML tag {_short(node.tag)}", _TAG_HINT)
                return None
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        # most scalars are text: what the constructor would give, without its bookkeeping
        value = node.value if node.tag == _STR_TAG else self._scalar(node)
        found = _SURROGATE.search(value) if isinstance(value, str) else None
        if found:
            # "\ud800" in a double-quoted scalar: no file, terminal or generated source can
            # hold such a string (UTF-8 has no encoding for it)
            self.error(
                node,
                f"this text holds {found.group()!a}, half of a UTF-16 surrogate pair, "
                "which is not a character",
                "write the character itself, or its \\U escape (\\U0001F600, not \\uD83D\\uDE00)",
            )
            return None
        return value

    def _scalar(self, node: yaml.Node) -> Any:
        try:
            return self.constructor.construct_object(node, deep=True)
        except TooManyDigits as exc:
            self.error(node, str(exc), exc.hint)
        except yaml.constructor.ConstructorError:
            self.error(node, f"unsupported YAML tag {_short(node.tag)}", _TAG_HINT)
        return None

    def _mapping(self, node: yaml.MappingNode, path: Path) -> dict[Any, Any]:
        if node.tag != _MAP_TAG:
            self.error(node, f"unsupported YAML tag {_short(node.tag)}", _TAG_HINT)
            return {}
        own = sum(1 for key, _ in node.value if key.tag != "tag:yaml.org,2002:merge")
        try:
            self.constructor.flatten_mapping(node)  # resolves `<<: *anchor` merge keys
        except yaml.constructor.ConstructorError as exc:
            self.error(node, f"invalid merge key: {exc.problem}")
            return {}
        merged = len(node.value) - own  # merged pairs come first; the mapping's own override
        result: dict[Any, Any] = {}
        for index, (key_node, value_node) in enumerate(node.value):
            if not isinstance(key_node, yaml.ScalarNode):
                self.error(key_node, "mapping keys must be plain scalars")
                continue
            key = self.build(key_node, (*path, "<key>"))
            if not isinstance(key, str | int) or isinstance(key, bool):
                self.error(key_node, f"mapping key {key!r} must be a string")
                continue
            if key in result and index >= merged and (*path, key) in self.positions.keys:
                line, _ = self.positions.keys[(*path, key)]
                self.error(
                    key_node,
                    f"key {key!r} is given twice in this mapping (first on line {line})",
                    "remove one of them: YAML would silently keep only the last",
                )
                continue
            if index >= merged:
                self.positions.keys[(*path, key)] = _pos(key_node.start_mark)
            result[key] = self.build(value_node, (*path, key))
        self.positions.values.pop((*path, "<key>"), None)
        return result


_SURROGATE = re.compile("[\ud800-\udfff]")
_TAG_HINT = "skipgen reads plain YAML only: remove the '!!' tag and write the value itself"


def _yaml_error(exc: yaml.YAMLError, text: str, file: str) -> Diagnostic:
    """A diagnostic for PyYAML's own errors: malformed YAML or a forbidden character."""
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, exc.position) + 1
        col = exc.position - text.rfind("\n", 0, exc.position)
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        message = f"character U+{code:04X} is not allowed in YAML"
        hint = "remove it, or write it as an escape sequence in a double-quoted string"
        return Diagnostic(file, line, col, message, hint)
    if not isinstance(exc, yaml.MarkedYAMLError):
        return Diagnostic(file, 1, 1, f"malformed YAML: {exc}")
    mark = exc.problem_mark or exc.context_mark
    line, col = _pos(mark) if mark else (1, 1)
    problem = exc.problem or exc.context or "malformed YAML"
    if exc.context and exc.context_mark and exc.problem:
        start = _pos(exc.context_mark)
        problem += f" ({exc.context} started at line {start[0]}, column {start[1]})"
    return Diagnostic(file, line, col, f"malformed YAML: {problem}")


def decode(raw: bytes, file: str) -> str:
    """The text of a spec file, or a :class:`SpecError` at its first byte that is not UTF-8."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        line = raw.count(b"\n", 0, exc.start) + 1
        col = len(raw[line_start : exc.start].decode("utf-8")) + 1
        message = f"the file is not UTF-8 text: byte 0x{raw[exc.start]:02x} cannot be decoded"
        hint = "save the file as UTF-8"
        raise SpecError([Diagnostic(file, line, col, message, hint)]) from None


class Unreadable(Exception):
    """A spec or block file that skipgen does not read: why, and what to do."""

    def __init__(self, reason: str, hint: str) -> None:
        super().__init__(reason)
        self.reason, self.hint = reason, hint


_SIZE_HINT = "a published network's spec is a few KB: is this the file you meant?"


def _too_large(size: str) -> Unreadable:
    reason = f"it is {size} long; a spec or block file may be {MAX_FILE_BYTES:,} (1 MiB)"
    return Unreadable(reason, _SIZE_HINT)


def _not_regular(mode: int) -> Unreadable:
    if stat.S_ISDIR(mode):
        return Unreadable("it is a folder", "name a .yaml file inside it")
    what = "a special file"
    if stat.S_ISFIFO(mode):
        what = "a named pipe (FIFO)"
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        what = "a device"
    elif stat.S_ISSOCK(mode):
        what = "a socket"
    hint = "skipgen reads specs from regular files only (a link to one is fine): save it to one"
    return Unreadable(f"it is {what}, not a regular file", hint)


def read_file(path: str) -> str:
    """The text of a spec or block file; the one way skipgen reads either.

    Only a regular file (or a link to one) of at most
    :data:`~skipgen.language.limits.MAX_FILE_BYTES` is read: a FIFO would block and a device
    such as ``/dev/zero`` never end, so the kind is checked before opening, and again on
    what was opened (without waiting), and no more than the limit and a byte is read.
    Raises :class:`Unreadable`, or :class:`SpecError` for text that is not UTF-8.
    """
    try:
        found = os.stat(path)
        if not stat.S_ISREG(found.st_mode):
            raise _not_regular(found.st_mode)
        if found.st_size > MAX_FILE_BYTES:
            raise _too_large(f"{found.st_size:,} bytes")
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(descriptor, "rb") as opened:
            mode = os.fstat(opened.fileno()).st_mode
            if not stat.S_ISREG(mode):  # replaced since it was looked at
                raise _not_regular(mode)
            raw = opened.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise Unreadable(exc.strerror or str(exc), "check the path") from None
    if len(raw) > MAX_FILE_BYTES:
        raise _too_large(f"over {MAX_FILE_BYTES:,} bytes")
    return decode(raw, path)


def load_yaml(text: str, file: str = "<string>") -> tuple[Any, Positions]:
    """Parse ``text`` into plain Python data and the position of every node.

    Raises :class:`SpecError` with every problem found.
    """
    if len(text) > MAX_FILE_BYTES:
        message = (
            f"the text has {len(text):,} characters, more than a spec may ({MAX_FILE_BYTES:,})"
        )
        raise SpecError([Diagnostic(file, 1, 1, message, _SIZE_HINT)])
    try:
        root = compose(text)
    except Refused as exc:
        line, col = _pos(exc.mark)
        raise SpecError([Diagnostic(file, line, col, exc.message, exc.hint)]) from None
    except yaml.YAMLError as exc:
        raise SpecError([_yaml_error(exc, text, file)]) from None
    if root is None:
        raise SpecError([Diagnostic(file, 1, 1, "the file is empty", "see configs/ for examples")])
    builder = _Builder(file)
    data = builder.build(root, ())
    if builder.errors:
        raise SpecError(builder.errors)
    return data, builder.positions
