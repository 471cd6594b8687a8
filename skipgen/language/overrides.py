"""``--set key=value``: change a spec's values from the command line, checked like the file.

A key is a dotted path into the document (``scaling.width``, ``layers.3.channels``: a
number indexes a list); a value is YAML (``512`` is an integer, ``none`` a string, ``{mode:
concat, from: enc1}`` a mapping). Each value is given a line of its own past the file's
end; a diagnostic on that line names ``--set key=value`` instead of a line and column
(see :attr:`skipgen.language.load.Positions.labels`), so that an unknown key or a bad value is
reported as the file's own would be, with the same hints.
"""

from __future__ import annotations

from typing import Any

from skipgen.errors import Diagnostic, SpecError
from skipgen.language.limits import MAX_DEPTH, MAX_DIGITS
from skipgen.language.load import Path, Positions, load_yaml
from skipgen.language.locate import quoted, shortened, shown

FIRST_LINE = 1_000_000_000  # past the end of any spec


def label(option: str) -> str:
    """What a diagnostic names for ``option``: ``--set`` and (the start of) the option."""
    return f"--set {shortened(option, _SHOWN)}"


_SHOWN = 80  # characters of a --set option that a message repeats


def _usage(option: str, message: str, hint: str | None = None) -> Diagnostic:
    return Diagnostic(label(option), 0, 0, message, hint)


def parse(option: str) -> tuple[tuple[str, ...], Any]:
    """The key path and the YAML value of one ``key=value``; SpecError if malformed."""
    key, equals, text = option.partition("=")
    parts = tuple(key.split("."))
    if not equals or not key or "" in parts:
        hint = "write KEY=VALUE, the key as a dotted path: --set scaling.width=1.1"
        raise SpecError([_usage(option, "expected KEY=VALUE", hint)])
    if len(parts) > MAX_DEPTH:
        message = f"the key is {len(parts):,} levels deep, more than a spec nests ({MAX_DEPTH})"
        hint = "a spec's keys are a few levels deep: layers.3.channels, scaling.width"
        raise SpecError([_usage(option, message, hint)])
    if not text.strip():
        hint = "write the value after '=' (null to clear an optional key)"
        raise SpecError([_usage(option, f"no value for {shortened(key)}", hint)])
    try:
        value, _ = load_yaml(text, label(option))
    except SpecError as error:
        found = error.diagnostics
        raise SpecError(
            [_usage(option, f"the value: {d.message}", d.hint) for d in found]
        ) from None
    return parts, value


def _step(container: Any, part: str, done: str, option: str) -> tuple[Any, str | int]:
    """The key of ``part`` in ``container``: an index for a list, else the string."""
    if isinstance(container, list):
        if not (part.isascii() and part.isdigit()):
            message = f"{done} is a list: {quoted(part)} is not an index"
            raise SpecError([_usage(option, message, "an index is written in the digits 0-9")])
        index = int(part) if len(part) <= MAX_DIGITS else len(container)  # long: past the end
        if index >= len(container):
            last = f"0 to {len(container) - 1}" if container else "none: it is empty"
            hint = f"{done} has {len(container)} items, numbered from 0 ({last})"
            message = f"{done} has no item {shortened(part.lstrip('0') or '0')}"
            raise SpecError([_usage(option, message, hint)])
        return container, index
    if not isinstance(container, dict):
        message = f"{done} is a value ({shown(container)}), not a mapping or a list"
        raise SpecError([_usage(option, message, f"set {done} itself")])
    return container, part


def apply(data: dict[str, Any], positions: Positions, options: list[str]) -> None:
    """Set each ``key=value`` in ``data``, giving the values lines of their own."""
    for number, option in enumerate(options):
        parts, value = parse(option)
        line = FIRST_LINE + number
        positions.labels[line] = label(option)
        node: Any = data
        path: Path = ()
        for depth, part in enumerate(parts):
            done = shortened(".".join(parts[:depth]), _SHOWN) or "the spec"
            container, step = _step(node, part, done, option)
            path = (*path, step)
            if depth == len(parts) - 1:
                container[step] = value
            elif isinstance(container, dict) and step not in container:
                container[step] = {}
            if path not in positions.values or depth == len(parts) - 1:
                positions.values[path] = positions.keys[path] = (line, 1)
            node = container[step]
        for located in [p for p in positions.values if p[: len(path)] == path and p != path]:
            positions.values.pop(located)  # what the value replaced: nothing to point at
            positions.keys.pop(located, None)


def relabel(error: SpecError, positions: Positions) -> SpecError:
    """``error`` with every diagnostic on a ``--set`` line naming that ``--set``."""
    if not positions.labels:
        return error
    return SpecError([positions.relabel(d) for d in error.diagnostics])
