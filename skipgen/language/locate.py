"""Turn pydantic's validation errors into located diagnostics with hints."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from skipgen.errors import Diagnostic
from skipgen.kinds.base import Layer
from skipgen.kinds.plugins import installed
from skipgen.language.limits import LIMITS, MAX_DIGITS
from skipgen.language.load import Path, Positions
from skipgen.language.models import KINDS, Act, Defaults, Input, Norm, Scaling, Skip, Spec
from skipgen.language.yaml12 import is_number

Kinds = Mapping[str, type[Layer]]  # the kinds a spec may use, by `type`

_SECTION_MODELS: dict[str, type[BaseModel]] = {
    "input": Input,
    "defaults": Defaults,
    "scaling": Scaling,
    "skip": Skip,
    "norm": Norm,
    "act": Act,
    "se_act": Act,
}


QUOTED = 40  # the most characters of a key or a value that a message quotes


def shortened(text: str, limit: int = QUOTED) -> str:
    """``text``, or its first ``limit`` characters and an ellipsis."""
    return text if len(text) <= limit else text[:limit] + "…"


def quoted(text: str) -> str:
    """``text`` quoted for a message, at most :data:`QUOTED` characters of it.

    A key or a value may be a line of a file that is not a spec at all (a password file
    behind a link): a message names it by a short prefix, never the whole line.
    """
    return repr(text) if len(text) <= QUOTED else repr(text[:QUOTED]) + "…"


def format_path(path: Path) -> str:
    text = ""
    for part in path:
        part = part if isinstance(part, int) else shortened(part)
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(document)"


def did_you_mean(word: object, choices: list[str]) -> str | None:
    matches = difflib.get_close_matches(str(word), choices, n=3, cutoff=0.6)
    if not matches:
        return None
    return "did you mean " + " or ".join(repr(m) for m in matches) + "?"


def is_another_kind_of_file(data: Mapping[Any, Any], model: type[BaseModel]) -> bool:
    """Whether a non-empty mapping has none of ``model``'s keys, nor a near miss of one: a
    file of another kind (an error then names the file, not its lines)."""
    keys = list(model.model_fields)
    return bool(data) and not any(key in keys or did_you_mean(key, keys) for key in data)


def _data_path(data: Any, loc: tuple[Any, ...], kinds: Kinds) -> Path:
    """Follow ``loc`` through ``data``, skipping the tags pydantic adds for unions."""
    path: list[str | int] = []
    node = data
    for i, part in enumerate(loc):
        if (
            i
            and isinstance(loc[i - 1], int)
            and isinstance(node, dict)
            and _is_tag(node, part, kinds)
        ):
            continue  # the tag after a layer's index, though the layer may have a key so named
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str) and part not in kinds:
            path.append(part)  # a missing or extra key: keep it, there is nothing to descend
            break
        else:
            continue  # a union tag such as 'conv' or 'str'
        path.append(part)
    return tuple(path)


def _is_tag(layer: dict[Any, Any], part: Any, kinds: Kinds) -> bool:
    """Whether ``part`` is the union tag of ``layer``: its kind, which an ``act`` layer
    also has as a key."""
    return isinstance(part, str) and part in kinds and layer.get("type") == part


def _model_at(data: Any, path: Path, kinds: Kinds, root: type[BaseModel]) -> type[BaseModel] | None:
    """The model that validates the mapping at ``path`` of a document that ``root`` does."""
    if not path:
        return root
    node = data
    for part in path:
        node = node[part]
    if isinstance(node, dict) and path[-2:-1] == ("layers",):
        return kinds.get(str(node.get("type")))
    if len(path) == 2 and isinstance(path[0], str):
        named = _mapped_model(root, path[0])  # a composite block under `blocks`
        if named is not None:
            return named
    return _SECTION_MODELS.get(str(path[-1]))


def _mapped_model(model: type[BaseModel], key: str) -> type[BaseModel] | None:
    """``M`` where ``model``'s ``key`` maps names to ``M``s (``dict[str, M]``)."""
    found = model.model_fields.get(key)
    if found is None or get_origin(found.annotation) is not dict:
        return None
    value = get_args(found.annotation)[1]
    return value if isinstance(value, type) and issubclass(value, BaseModel) else None


def _fields(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def shown(value: Any) -> str:
    """A value as YAML writes it, for messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, str):
        return quoted(value)
    if isinstance(value, int) and abs(value) >= 10**MAX_DIGITS:  # too long to write out
        return f"an integer of over {MAX_DIGITS} digits"
    return repr(value)


def _number(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _type_hint(expected: str, value: Any) -> str | None:
    """What to write instead of ``value`` where ``expected`` (a type word) is required."""
    if expected == "true or false":
        if isinstance(value, str) and value.lower() in _YAML11_BOOLEANS:
            return f"{value!r} is a string in YAML 1.2, which skipgen reads: use true or false"
        return "use true or false"
    if isinstance(value, str) and is_number(value.strip()):
        return f"drop the quotes: {quoted(value)} is a string, {shortened(value.strip())} a number"
    if isinstance(value, str) and is_number(value.replace("_", "")):
        return f"YAML 1.2 numbers have no '_': write {value.replace('_', '')}"
    if isinstance(value, bool):
        return "true and false are booleans: write a number"
    if isinstance(value, str) and value.lower() in _YAML11_BOOLEANS:
        return f"{value!r} is a string in YAML 1.2, which skipgen reads: write a number"
    if expected == "an integer" and isinstance(value, float) and value.is_integer():
        return f"write {int(value)}"
    return None


_YAML11_BOOLEANS = {"yes", "no", "on", "off", "y", "n"}
_EXPECTED = {
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "string_type": "a string",
    "list_type": "a list",
    "model_type": "a mapping (key: value)",
    "dict_type": "a mapping (key: value)",
}
_BOUNDS = {
    "greater_than_equal": ("ge", "must be at least"),
    "less_than_equal": ("le", "must be at most"),
    "greater_than": ("gt", "must be greater than"),
    "less_than": ("lt", "must be less than"),
}


def _bound(err: Any, path: Path) -> tuple[str, str | None]:
    name, words = _BOUNDS[err["type"]]
    limit = err["ctx"][name]
    key = next((part for part in reversed(path) if isinstance(part, str)), "")
    hint = None
    if name == "le" and LIMITS.get(key) == limit:
        hint = f"skipgen's limit for {key}, far beyond any published network"
    return f"{words} {_number(limit)}", hint


def _message(err: Any, path: Path, kinds: Kinds) -> tuple[str, str | None]:
    """The message and hint for one pydantic error (not a missing or unknown key)."""
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind in _EXPECTED:
        expected = _EXPECTED[kind]
        return f"expected {expected}, got {shown(err['input'])}", _type_hint(expected, err["input"])
    if kind in _BOUNDS:
        return _bound(err, path)
    if kind == "finite_number":
        return "must be a finite number", ".inf and .nan are not allowed here"
    if kind == "union_tag_invalid":
        tag = ctx["tag"]
        hint = did_you_mean(tag, list(kinds)) or ("block types: " + ", ".join(kinds))
        return f"unknown block type {quoted(str(tag))}", hint + _plugins_note()
    if kind == "union_tag_not_found":
        return "a layer needs a 'type'", "block types: " + ", ".join(kinds)
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'", ctx["expected"])
        return _lowered(err["msg"]), did_you_mean(err["input"], choices)
    if kind == "too_short":
        return f"needs at least {ctx['min_length']} item", None
    return _lowered(re.sub(r"^Value error, ", "", err["msg"])), getattr(
        ctx.get("error"), "hint", None
    )


def _plugins_note() -> str:
    """Where the installed plugins' kinds come from (their names only: none is imported)."""
    names = installed()
    if not names:
        return ""
    return f"; a plugin's kind needs the plugin under `plugins` (installed: {', '.join(names)})"


def _lowered(msg: str) -> str:
    return msg[0].lower() + msg[1:]


def diagnostics_from(
    error: ValidationError,
    data: Any,
    positions: Positions,
    kinds: Kinds = KINDS,
    *,
    root: type[BaseModel] = Spec,
) -> list[Diagnostic]:
    """Each of pydantic's errors at its place in the spec, for a spec that may use ``kinds``.

    ``root``: the model of the whole document (a block file's, say), whose keys the hints
    for an unknown key offer.
    """
    result = []
    for err in error.errors():
        path = _data_path(data, err["loc"], kinds)
        if err["type"] == "missing" and err["loc"] and isinstance(err["loc"][-1], str):
            # the missing key itself, even when it shares a kind's name (`act` of an act)
            path = (*_data_path(data, err["loc"][:-1], kinds), err["loc"][-1])
        if err["type"] == "missing":
            message = f"{format_path(path)}: missing required key {path[-1]!r}"
            result.append(positions.diagnostic(path[:-1], message))
            continue
        key = err["type"] == "extra_forbidden"
        if key:
            msg, hint = f"unknown key {_key(path[-1])}", _key_hint(data, path, kinds, root)
        else:
            msg, hint = _message(err, path, kinds)
        if err["type"] == "union_tag_invalid":
            path = (*path, "type")
        result.append(positions.diagnostic(path, f"{format_path(path)}: {msg}", hint, key=key))
    return result


def _key(key: str | int) -> str:
    return quoted(key) if isinstance(key, str) else repr(key)


def _key_hint(data: Any, path: Path, kinds: Kinds, root: type[BaseModel]) -> str | None:
    model = _model_at(data, path[:-1], kinds, root)
    if model is None:
        return None
    return did_you_mean(path[-1], _fields(model)) or (
        "allowed keys: " + ", ".join(sorted(_fields(model)))
    )
