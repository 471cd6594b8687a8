"""Read YAML safely, keeping the line and column of every node.

Only PyYAML's safe constructors run: a ``!!python/object`` or any other constructor tag is
reported as an error, never executed. A key given twice in one mapping is an error too
(PyYAML itself would silently keep the last one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from skipgen.errors import Diagnostic, SpecError

Path = tuple[str | int, ...]

# Expanding aliases can turn a small file into a huge tree ("billion laughs"): cap it.
MAX_NODES = 200_000

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"


@dataclass
class Positions:
    """Where each value (and each mapping key) of a loaded document starts."""

    file: str
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)

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


def _short(tag: str) -> str:
    return tag.replace("tag:yaml.org,2002:", "!!")


def _pos(mark: yaml.Mark) -> tuple[int, int]:
    return mark.line + 1, mark.column + 1


class _Builder:
    def __init__(self, file: str) -> None:
        self.positions = Positions(file)
        self.constructor = yaml.SafeLoader("")
        self.errors: list[Diagnostic] = []
        self.count = 0

    def error(self, node: yaml.Node, message: str, hint: str | None = None) -> None:
        line, col = _pos(node.start_mark)
        self.errors.append(Diagnostic(self.positions.file, line, col, message, hint))

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise _TooBig(node)
        self.positions.values[path] = _pos(node.start_mark)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ_TAG:
                self.error(node, f"unsupported YAML tag {_short(node.tag)}", _TAG_HINT)
                return None
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        try:
            return self.constructor.construct_object(node, deep=True)
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


class _TooBig(Exception):
    def __init__(self, node: yaml.Node) -> None:
        self.node = node


_TAG_HINT = "skipgen reads plain YAML only: remove the '!!' tag and write the value itself"


def load_yaml(text: str, file: str = "<string>") -> tuple[Any, Positions]:
    """Parse ``text`` into plain Python data and the position of every node.

    Raises :class:`SpecError` with every problem found.
    """
    builder = _Builder(file)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = _pos(mark) if mark else (1, 1)
        problem = exc.problem or exc.context or "malformed YAML"
        if exc.context and exc.context_mark and exc.problem:
            start = _pos(exc.context_mark)
            problem += f" ({exc.context} started at line {start[0]}, column {start[1]})"
        raise SpecError([Diagnostic(file, line, col, f"malformed YAML: {problem}")]) from None
    except yaml.YAMLError as exc:
        raise SpecError([Diagnostic(file, 1, 1, f"malformed YAML: {exc}")]) from None
    if root is None:
        raise SpecError([Diagnostic(file, 1, 1, "the file is empty", "see configs/ for examples")])
    try:
        data = builder.build(root, ())
    except _TooBig as exc:
        line, col = _pos(exc.node.start_mark)
        raise SpecError(
            [Diagnostic(file, line, col, f"the document expands to over {MAX_NODES} nodes")]
        ) from None
    if builder.errors:
        raise SpecError(builder.errors)
    return data, builder.positions
