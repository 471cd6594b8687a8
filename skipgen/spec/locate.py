"""Turn pydantic's validation errors into located diagnostics with hints."""

from __future__ import annotations

import difflib
import re
from typing import Any

from pydantic import BaseModel, ValidationError

from skipgen.errors import Diagnostic
from skipgen.spec.load import Path, Positions
from skipgen.spec.models import KINDS, Defaults, Input, Norm, Scaling, Skip, Spec

_SECTION_MODELS: dict[str, type[BaseModel]] = {
    "input": Input,
    "defaults": Defaults,
    "scaling": Scaling,
    "skip": Skip,
    "norm": Norm,
}


def format_path(path: Path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(document)"


def did_you_mean(word: object, choices: list[str]) -> str | None:
    matches = difflib.get_close_matches(str(word), choices, n=3, cutoff=0.6)
    if not matches:
        return None
    return "did you mean " + " or ".join(repr(m) for m in matches) + "?"


def _data_path(data: Any, loc: tuple[Any, ...]) -> Path:
    """Follow ``loc`` through ``data``, skipping the tags pydantic adds for unions."""
    path: list[str | int] = []
    node = data
    for part in loc:
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str) and part not in KINDS:
            path.append(part)  # a missing or extra key: keep it, there is nothing to descend
            break
        else:
            continue  # a union tag such as 'conv' or 'str'
        path.append(part)
    return tuple(path)


def _model_at(data: Any, path: Path) -> type[BaseModel] | None:
    """The model that validates the mapping at ``path``."""
    if not path:
        return Spec
    node = data
    for part in path:
        node = node[part]
    if isinstance(node, dict) and path[-2:-1] == ("layers",):
        return KINDS.get(node.get("type"))
    return _SECTION_MODELS.get(str(path[-1]))


def _fields(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def diagnostics_from(error: ValidationError, data: Any, positions: Positions) -> list[Diagnostic]:
    result = []
    for err in error.errors():
        path = _data_path(data, err["loc"])
        kind = err["type"]
        msg = err["msg"]
        msg = msg[0].lower() + msg[1:]
        if kind == "value_error":
            msg = re.sub(r"^value error, ", "", msg)
        hint = None
        key = False
        if kind == "extra_forbidden":
            key = True
            msg = f"unknown key {path[-1]!r}"
            model = _model_at(data, path[:-1])
            if model is not None:
                hint = did_you_mean(path[-1], _fields(model)) or (
                    "allowed keys: " + ", ".join(sorted(_fields(model)))
                )
        elif kind == "missing":
            msg = f"missing required key {path[-1]!r}"
            path_for_pos = path[:-1]
            result.append(positions.diagnostic(path_for_pos, f"{format_path(path)}: {msg}"))
            continue
        elif kind == "union_tag_invalid":
            tag = err["ctx"]["tag"]
            msg = f"unknown block type {tag!r}"
            path = (*path, "type")
            hint = did_you_mean(tag, list(KINDS)) or ("block types: " + ", ".join(KINDS))
        elif kind == "union_tag_not_found":
            msg = "a layer needs a 'type'"
            hint = "block types: " + ", ".join(KINDS)
        elif kind == "literal_error":
            expected = re.findall(r"'([^']*)'", err["ctx"]["expected"])
            hint = did_you_mean(err["input"], expected)
        elif kind == "model_type" or kind == "dict_type":
            msg = f"expected a mapping (key: value), got {type(err['input']).__name__}"
        result.append(positions.diagnostic(path, f"{format_path(path)}: {msg}", hint, key=key))
    return result
