"""Text of a spec in the emitted file: the only way it gets there.

A spec's free text (a composite block's ``description``, a ``str`` parameter's value, the
spec's file name) reaches the emitted module only as a string literal, a docstring or a
comment made here, never placed raw in a template: whatever the text holds (``\"\"\"``,
backslashes, a NUL byte, a newline, a bidirectional control), the module compiles and the
text stays data. Names reach it only through the one identifier check
(:func:`skipgen.language.reserved.name_problem`).
"""

from __future__ import annotations

import re
import textwrap

_PLAIN = re.compile(r"[A-Za-z0-9_.+<>-]+")


def string_literal(value: str) -> str:
    """A string literal in the quotes ruff-format picks: double, unless that escapes more."""
    quote = "'" if value.count('"') > value.count("'") else '"'
    body = []
    for char in value:
        if char == "\\":
            body.append("\\\\")
        elif char in "'\"":
            body.append("\\" + char if char == quote else char)
        elif char.isprintable():
            body.append(char)
        else:
            body.append(repr(char)[1:-1])  # \x00, \u202e, ...
    return quote + "".join(body) + quote


def _docstring_text(text: str) -> str:
    """``text`` on one line, safe inside a triple-double-quoted string: backslashes doubled,
    every quote escaped that could meet another (or the closing quotes), and every
    character that is not printable written as its escape."""
    line = " ".join(text.split())  # every kind of whitespace and line break: one space
    out = []
    for i, char in enumerate(line):
        if char == "\\":
            out.append("\\\\")
        elif char == '"' and (i in (0, len(line) - 1) or line[i - 1] == '"' or line[i + 1] == '"'):
            out.append('\\"')
        elif char.isprintable():
            out.append(char)
        else:
            out.append(repr(char)[1:-1])
    return "".join(out)


def docstring(text: str, width: int = 76) -> str:
    """A docstring (with its quotes, unindented) saying ``text``, wrapped at ``width``.

    Lines break at spaces only, so that no escape is cut in two."""
    lines = textwrap.wrap(
        _docstring_text(text), width, break_long_words=False, break_on_hyphens=False
    ) or [""]
    if len(lines) == 1:
        return f'"""{lines[0]}"""'
    return '"""' + "\n".join(lines) + '\n"""'


def comment(text: str) -> str:
    """``text`` as a word of a one-line comment: as it is where it holds only letters,
    digits and ``_.+<>-``, else quoted as Python's ``ascii()`` writes it (no space, line
    break, control or character outside ASCII reaches the file unquoted)."""
    return text if _PLAIN.fullmatch(text) else ascii(text)
