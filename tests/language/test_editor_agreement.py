"""The editor and the CLI agree: the shipped JSON Schema accepts what skipgen accepts.

Editors check specs with a YAML language server, which reads YAML 1.2 and validates the
document against ``schemas/skipgen.schema.json``. Here the same documents go through a JSON
Schema validator (what the language server does) and through skipgen: the shipped configs
and random valid specs must be clean in both, and a spec with a wrong value, type or name
must be flagged by both at the same key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings

import skipgen
from skipgen.language.load import load_yaml
from tests.conftest import CONFIGS, ROOT
from tests.strategies import specs

SCHEMA = json.loads((ROOT / "schemas" / "skipgen.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
BAD = ROOT / "tests" / "language" / "bad"
# Bad specs whose every mistake is a value, a type or a name: a schema can see each one.
# Not value_not_finite.yaml: JSON has no NaN, and a NaN passes every bound, so no schema can
# flag `.nan` (skipgen does); editors see only what JSON Schema can say.
VALUE_CASES = sorted(
    path
    for path in [*BAD.glob("value_*.yaml"), BAD / "name_non_ascii.yaml"]
    if path.stem != "value_not_finite"
)


def _leaves(error: jsonschema.ValidationError) -> list[jsonschema.ValidationError]:
    """The errors under a failed ``oneOf`` of block kinds, in the branch of the layer's own
    ``type`` (the one that a language server reports), or the error itself."""
    if not error.context:
        return [error]
    branches: dict[Any, list[jsonschema.ValidationError]] = {}
    for inner in error.context:
        branches.setdefault(inner.relative_schema_path[0], []).append(inner)
    own = [
        errors
        for errors in branches.values()
        if not any(e.relative_path and e.relative_path[-1] == "type" for e in errors)
    ]
    chosen = own[0] if len(own) == 1 else [e for errors in branches.values() for e in errors]
    return [leaf for inner in chosen for leaf in _leaves(inner)]


def _schema_errors(data: Any) -> list[tuple[str | int, ...]]:
    """Where the schema finds a problem, as paths into the document."""
    found = (leaf for e in VALIDATOR.iter_errors(data) for leaf in _leaves(e))
    return sorted({tuple(leaf.absolute_path) for leaf in found}, key=str)


def test_the_shipped_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("config", CONFIGS, ids=[c.stem for c in CONFIGS])
def test_every_config_is_clean_in_the_editor(config: Path) -> None:
    data, _ = load_yaml(config.read_text(), str(config))
    assert _schema_errors(data) == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=specs())
def test_a_spec_skipgen_accepts_is_clean_in_the_editor(spec: dict[str, Any]) -> None:
    skipgen.lower_spec(spec)
    assert _schema_errors(spec) == []


@pytest.mark.parametrize("path", VALUE_CASES, ids=[p.stem for p in VALUE_CASES])
def test_the_editor_flags_each_wrong_value_where_skipgen_does(path: Path) -> None:
    data, positions = load_yaml(path.read_text(), str(path))
    with pytest.raises(skipgen.SpecError) as info:
        skipgen.load_spec(path)
    cli = {(d.line, d.col) for d in info.value.diagnostics}
    flagged = _schema_errors(data)
    assert flagged, f"the schema accepts {path.name}"
    # Every key skipgen reports, the schema reports too (the schema may say more about a
    # key whose value fails several of its alternatives).
    editor = {positions.of(p) for p in flagged}
    assert cli <= editor


def test_a_whole_number_written_as_a_float_is_that_integer() -> None:
    """JSON Schema counts 64.0 as the integer 64; so does skipgen, and the editor agrees."""
    text = "name: Net\ninput: {channels: 3}\nlayers: [{type: conv, channels: %s}]\n"
    for written in ("64.0", "6.4e1"):
        data, _ = load_yaml(text % written)
        assert data["layers"][0]["channels"] == 64
        assert _schema_errors(data) == []
        same = skipgen.load_spec(text % "64").model_dump()
        assert skipgen.load_spec(text % written).model_dump() == same
    data, _ = load_yaml(text % "64.5")
    assert _schema_errors(data) == [("layers", 0, "channels")]
