"""The language's rules: strict values, bounded counts, names, and a schema that teaches."""

from __future__ import annotations

import builtins
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import skipgen
from skipgen.commands.schema import schema_text
from skipgen.language.limits import LIMITS
from skipgen.language.load import load_yaml
from skipgen.language.models import KINDS
from skipgen.language.reserved import RESERVED_NAMES

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))
SCHEMA = json.loads(schema_text())


def spec(**layer: Any) -> dict[str, Any]:
    return {"name": "Net", "input": {"channels": 3}, "layers": [{"type": "conv", **layer}]}


def only_error(source: Any) -> skipgen.Diagnostic:
    with pytest.raises(skipgen.SpecError) as info:
        skipgen.load_spec(source)
    (diagnostic,) = info.value.diagnostics
    return diagnostic


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("channels", "64", "expected an integer, got '64'"),
        ("channels", True, "expected an integer, got true"),
        ("channels", 8.0, "expected an integer, got 8.0"),
        ("kernel", None, "expected an integer, got null"),
        ("bias", "off", "expected true or false, got 'off'"),
        ("bias", 0, "expected true or false, got 0"),
        ("name", 12, "expected a string, got 12"),
    ],
)
def test_a_wrong_type_is_named_with_what_was_given(key: str, value: Any, message: str) -> None:
    layer = {"channels": 8, key: value}
    assert only_error(spec(**layer)).message == f"layers[0].{key}: {message}"


def test_integers_are_accepted_where_a_float_is_expected() -> None:
    text = (
        "name: Net\ninput: {channels: 3}\nscaling: {width: 2, depth: 1}\n"
        "layers: [{type: inverted_residual, channels: 16, expansion: 4}]\n"
    )
    loaded = skipgen.load_spec(text)
    assert loaded.scaling.width == 2.0 and loaded.layers[0].expansion == 4.0


@pytest.mark.parametrize(
    ("section", "key"),
    [("scaling", "width"), ("scaling", "depth"), ("defaults", "stochastic_depth")],
)
@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan"])
def test_no_float_takes_inf_or_nan(section: str, key: str, value: str) -> None:
    text = (
        f"name: Net\ninput: {{channels: 3}}\n{section}: {{{key}: {value}}}\n"
        "layers: [{type: act, act: relu}]\n"
    )
    diagnostic = only_error(text)
    assert (diagnostic.line, diagnostic.message) == (3, f"{section}.{key}: must be a finite number")


def _properties(node: Any, where: str = "") -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Every (model, property name, property schema) in a JSON Schema."""
    if isinstance(node, dict):
        for name, prop in (node.get("properties") or {}).items():
            yield where, name, prop
        for key, value in node.items():
            yield from _properties(value, f"{where}/{key}")
    elif isinstance(node, list):
        for value in node:
            yield from _properties(value, where)


def test_every_property_in_the_schema_has_a_description() -> None:
    props = list(_properties(SCHEMA))
    assert len(props) > 150
    missing = [f"{where}.{name}" for where, name, prop in props if not prop.get("description")]
    assert missing == []


def test_every_kind_and_its_type_value_are_described_by_its_docstring() -> None:
    mapping = SCHEMA["properties"]["layers"]["items"]["discriminator"]["mapping"]
    assert set(mapping) == set(KINDS)
    for kind, ref in mapping.items():
        definition = SCHEMA["$defs"][ref.split("/")[-1]]
        docstring = " ".join((KINDS[kind].__doc__ or "").split())
        assert docstring, kind
        assert definition["description"] == docstring
        assert definition["properties"]["type"]["description"] == docstring
    assert SCHEMA["$defs"]["Norm"]["properties"]["type"]["description"]


def _numeric(prop: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for option in [prop, *prop.get("anyOf", [])]:
        if option.get("type") in ("integer", "number") and "enum" not in option:
            yield option
        if option.get("type") == "array":
            yield from _numeric(option["items"])


def test_every_count_and_size_is_bounded_by_the_limits_table() -> None:
    seen = set()
    for where, name, prop in _properties(SCHEMA):
        for option in _numeric(prop):
            bound = option.get("maximum", option.get("exclusiveMaximum"))
            assert bound is not None, f"{where}.{name} has no maximum"
            if name == "dims":  # 1, 2 or 3: what the language means, not a limit
                assert bound == 3
            elif option["type"] == "integer" or name in LIMITS:
                assert bound == LIMITS[name], f"{where}.{name}"
                seen.add(name)
    assert seen == set(LIMITS)


@pytest.mark.parametrize(
    ("layer", "key", "limit"),
    [
        ("channels: 8, repeat: 1000000000000", "repeat", 1000),
        ("channels: 10**9", "channels", 65536),
    ],
)
def test_a_value_past_its_limit_is_a_located_error(layer: str, key: str, limit: int) -> None:
    layer = layer.replace("10**9", "1000000000")
    text = f"name: Net\ninput: {{channels: 3}}\nlayers:\n  - {{type: conv, {layer}}}\n"
    diagnostic = only_error(text)
    assert diagnostic.message == f"layers[0].{key}: must be at most {limit}"
    assert (diagnostic.line, diagnostic.col) == (4, text.splitlines()[3].index("1000") + 1)
    assert diagnostic.hint


def test_every_builtin_is_reserved() -> None:
    public = {name for name in dir(builtins) if not name.startswith("_")}
    assert {"range", "len", "super", "isinstance", "print"} <= public <= RESERVED_NAMES


# Python reads these (fullwidth letters, a ligature) as x, forward, first, torch and Net.
NFKC_TWINS = ["\uff58", "\uff46orward", "\ufb01rst", "\uff54\uff4f\uff52\uff43\uff48", "\uff2eet"]


@pytest.mark.parametrize("name", [*NFKC_TWINS, "na\u00efve"])
@pytest.mark.parametrize("field", ["name", "id"])
def test_only_ascii_names(name: str, field: str) -> None:
    diagnostic = only_error(spec(channels=8, **{field: name}))
    assert diagnostic.message.startswith(f"layers[0].{field}: {field} {name!r} has characters")
    assert diagnostic.hint is not None and "ASCII" in diagnostic.hint


@pytest.mark.parametrize("config", CONFIGS, ids=[c.stem for c in CONFIGS])
def test_configs_read_the_same_in_yaml_1_1_and_1_2(config: Path) -> None:
    """The shipped configs use no scalar that YAML 1.1 and 1.2 read differently."""
    text = config.read_text()
    assert load_yaml(text)[0] == yaml.safe_load(text)
    skipgen.load_spec(config)


NAMED_KINDS = ("Conv", "Dense")


def test_the_schema_tells_editors_which_characters_a_name_may_have() -> None:
    identifiers = {SCHEMA["properties"]["name"]["pattern"]}
    identifiers |= {SCHEMA["$defs"][kind]["properties"]["id"]["pattern"] for kind in NAMED_KINDS}
    keys = {SCHEMA["$defs"][kind]["properties"]["name"]["pattern"] for kind in NAMED_KINDS}
    (identifier,), (key,) = identifiers, keys
    for refused in [*NFKC_TWINS, "3d", "my block", "_private", "a-b", "a.b"]:
        assert re.fullmatch(identifier, refused) is None
        assert only_error(spec(channels=8, id=refused)).message.startswith("layers[0].id")
    for accepted in ["layer1", "Enc_2", "x9"]:
        assert re.fullmatch(identifier, accepted)
        skipgen.load_spec(spec(channels=8, id=accepted))
    # a layer's name is a module key (block1-0), or a path into containers (blocks.0)
    for refused in [*NFKC_TWINS, "my block", "_private", "a..b", ".a", "a.", "a/b"]:
        assert re.fullmatch(key, refused) is None
        assert only_error(spec(channels=8, name=refused)).message.startswith("layers[0].name")
    for accepted in ["layer1", "Enc_2", "blocks.0", "inner_blocks.3"]:
        assert re.fullmatch(key, accepted)
        skipgen.load_spec(spec(channels=8, name=accepted))
