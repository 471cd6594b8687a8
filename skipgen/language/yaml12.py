"""PyYAML's safe loader with the scalars of the YAML 1.2 core schema.

PyYAML reads YAML 1.1, where ``yes``, ``no``, ``on``, ``off``, ``y`` and ``n`` are booleans,
``1_000`` and ``1:30`` are numbers and ``2024-01-01`` is a date. Editors read specs through a
YAML 1.2 language server, so skipgen reads them the same way: only ``true``/``false`` are
booleans, only ``null``/``~`` (or nothing) is null, and numbers are written as in JSON, plus
``0o``/``0x`` integers and ``.inf``/``.nan``. Everything else is a string.

The rules are PyYAML's own mechanism: a loader class with its own implicit resolvers (which
tag a plain scalar gets) and constructors (what a tag becomes).
"""

from __future__ import annotations

import math
import re

import yaml
from yaml.composer import Composer

from skipgen.language.limits import MAX_DIGITS

_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"

# The YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution), tried in order.
# Each rule: a tag, its pattern and the first characters a match can start with ("": empty).
_RESOLVERS: list[tuple[str, str, str | list[str]]] = [
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    (_INT, r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        _FLOAT,
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+.0123456789",
    ),
    ("tag:yaml.org,2002:merge", r"^<<$", "<"),  # `<<: *anchor`, as editors also read it
]


class Yaml12Loader(yaml.SafeLoader):
    """A safe loader that resolves plain scalars by the YAML 1.2 core schema."""


Yaml12Loader.yaml_implicit_resolvers = {}  # none of YAML 1.1's: only the rules below


class TooManyDigits(ValueError):
    """An integer written with more digits than a spec may give.

    Python refuses to convert a decimal text of over 4,300 digits, and cannot write back an
    integer that long (one given in hexadecimal) when a message quotes it: the bound comes
    first, so that neither happens.
    """

    def __init__(self, digits: int) -> None:
        super().__init__(f"this integer has {digits:,} digits, more than a spec may write")
        self.hint = f"no key takes a number of over {MAX_DIGITS} digits; quote it if it is text"


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    text = loader.construct_scalar(node)
    digits = len(text.lstrip("+-")) - (2 if text.startswith(("0o", "0x")) else 0)
    if digits > MAX_DIGITS:
        raise TooManyDigits(digits)
    if text.startswith(("0o", "0x")):
        return int(text[2:], 8 if text[1] == "o" else 16)
    return int(text)


def _construct_float(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> float | int:
    """A float; a whole number written as one (``64.0``, ``1e3``) is that integer.

    JSON Schema, which editors check specs against, counts numbers by value: ``64.0`` is an
    integer there, so skipgen reads it as one too, and a float field takes it as ``64.0``.
    """
    text = loader.construct_scalar(node).lower()
    if text.endswith(".inf"):
        return -math.inf if text.startswith("-") else math.inf
    if text == ".nan":
        return math.nan
    value = float(text)
    return int(value) if value.is_integer() else value


for _tag, _pattern, _first in _RESOLVERS:
    Yaml12Loader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))
_NUMBERS = [re.compile(pattern) for tag, pattern, _ in _RESOLVERS if tag in (_INT, _FLOAT)]
Yaml12Loader.add_constructor(_INT, _construct_int)
Yaml12Loader.add_constructor(_FLOAT, _construct_float)


def is_number(text: str) -> bool:
    """Whether ``text``, written without quotes, is a number in YAML 1.2."""
    return any(pattern.match(text) for pattern in _NUMBERS)


def _fast_loader() -> type[yaml.SafeLoader] | None:
    """The loader with libyaml's scanner and parser (C) under PyYAML's composer (Python),
    and the same scalars, where PyYAML was built with libyaml; else None.

    Every event still passes through ``get_event``, where a subclass checks its limits,
    but the text is read several times faster than by the pure-Python reader.
    """
    if not getattr(yaml, "__with_libyaml__", False):
        return None

    class FastYaml12Loader(Composer, yaml.CSafeLoader):  # type: ignore[misc]
        yaml_implicit_resolvers = Yaml12Loader.yaml_implicit_resolvers
        yaml_constructors = Yaml12Loader.yaml_constructors

        def __init__(self, stream: str) -> None:
            yaml.CSafeLoader.__init__(self, stream)
            Composer.__init__(self)

    return FastYaml12Loader  # type: ignore[return-value]


FastYaml12Loader = _fast_loader()


def _composing_loader() -> type[yaml.SafeLoader] | None:
    """libyaml composing too (C), with the same scalars, where its parser bounds how deep a
    document nests (libyaml 0.2.6 refuses over 1,000 levels, so its composer, which recurses
    in C, never runs out of stack); else None.

    It checks nothing as it composes: whoever uses it checks the tree it gives, and only on
    a text short enough that the tree, aliases left unexpanded, is small whatever it holds.
    """
    if FastYaml12Loader is None or yaml._yaml.get_version() < (0, 2, 6):  # type: ignore[attr-defined]
        return None

    class ComposingYaml12Loader(yaml.CSafeLoader):  # type: ignore[misc]
        yaml_implicit_resolvers = Yaml12Loader.yaml_implicit_resolvers
        yaml_constructors = Yaml12Loader.yaml_constructors

    return ComposingYaml12Loader  # type: ignore[return-value]


ComposingYaml12Loader = _composing_loader()
