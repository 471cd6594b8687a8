"""Loading specs: sources, safety, positions, and the JSON Schema."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

import skipgen
from skipgen.commands.schema import schema_text
from skipgen.errors import Diagnostic
from skipgen.language import compose
from skipgen.language.limits import MAX_DEPTH
from skipgen.language.load import load_yaml

ROOT = Path(__file__).resolve().parents[2]
TEXT = "name: Net\ninput: {channels: 3}\nlayers:\n  - {type: conv, channels: 8}\n"


def test_load_spec_accepts_a_path_a_string_and_a_dict(tmp_path: Path) -> None:
    path = tmp_path / "net.yaml"
    path.write_text(TEXT)
    from_path = skipgen.load_spec(path)
    from_str_path = skipgen.load_spec(str(path))
    from_text = skipgen.load_spec(TEXT)
    from_dict = skipgen.load_spec(
        {"name": "Net", "input": {"channels": 3}, "layers": [{"type": "conv", "channels": 8}]}
    )
    dumps = [s.model_dump() for s in (from_path, from_str_path, from_text, from_dict)]
    assert dumps[0] == dumps[1] == dumps[2] == dumps[3]
    assert from_path.layers[0].channels == 8


def test_errors_in_a_dict_name_the_path() -> None:
    with pytest.raises(skipgen.SpecError) as info:
        skipgen.load_spec({"name": "Net", "input": {"channels": 3}, "layers": [{"type": "x"}]})
    (diagnostic,) = info.value.diagnostics
    assert diagnostic.file == "<dict>"
    assert diagnostic.message == "layers[0].type: unknown block type 'x'"


def test_a_missing_file_is_a_located_error(tmp_path: Path) -> None:
    with pytest.raises(skipgen.SpecError, match="cannot read the spec"):
        skipgen.load_spec(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    "payload",
    [
        "!!python/object/apply:os.system ['touch {marker}']",
        "!!python/object/new:subprocess.Popen [['touch', '{marker}']]",
        "!!python/name:os.system",
    ],
)
def test_constructor_tags_are_refused_and_never_run(tmp_path: Path, payload: str) -> None:
    marker = tmp_path / "ran"
    text = f"name: Net\ninput: {payload.format(marker=marker)}\nlayers: []\n"
    with pytest.raises(skipgen.SpecError, match="unsupported YAML tag"):
        skipgen.load_spec(text)
    assert not marker.exists()


def test_alias_bombs_are_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 8)]
    with pytest.raises(skipgen.SpecError, match="aliases expand the document to over 200000 nodes"):
        load_yaml("\n".join(lines))


def test_anchors_and_merge_keys_work() -> None:
    text = (
        "name: Net\ninput: {channels: 3}\n"
        "common: &c {type: conv, channels: 8}\n"
        "layers:\n  - *c\n  - {<<: *c, channels: 16}\n"
    )
    data, positions = load_yaml(text)
    assert data["layers"] == [{"type": "conv", "channels": 8}, {"type": "conv", "channels": 16}]
    assert positions.of(("layers", 1, "channels")) == (6, 24)
    assert positions.of(("layers", 1, "type")) == (3, 19)  # merged from the anchor


def test_the_shipped_schema_is_current() -> None:
    shipped = (ROOT / "schemas" / "skipgen.schema.json").read_text()
    assert shipped == schema_text(), "run: skipgen schema -o schemas/skipgen.schema.json"
    schema = json.loads(shipped)
    layer_kinds = {
        ref.split("/")[-1]
        for ref in schema["properties"]["layers"]["items"]["discriminator"]["mapping"].values()
    }
    assert {"Conv", "Basic", "Bottleneck", "InvertedResidual", "Dense", "Classifier"} <= (
        layer_kinds
    )


def test_reserved_names_cover_every_module_attribute_and_block() -> None:
    from torch import nn

    from skipgen.language.reserved import BLOCK_NAMES, MODULE_ATTRIBUTES
    from skipgen.nn import REGISTRY

    public = {name for name in dir(nn.Module) if not name.startswith("_")}
    assert public <= MODULE_ATTRIBUTES
    assert set(REGISTRY) == BLOCK_NAMES


def test_schema_command_prints_and_writes(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from skipgen.cli import app

    printed = CliRunner().invoke(app, ["schema"])
    assert printed.exit_code == 0 and printed.stdout == schema_text()
    target = tmp_path / "skipgen.schema.json"
    assert CliRunner().invoke(app, ["schema", "-o", str(target)]).exit_code == 0
    assert target.read_text() == schema_text()
    missing = CliRunner().invoke(app, ["schema", "-o", str(tmp_path / "no" / "x.json")])
    assert missing.exit_code == 1 and "cannot write" in missing.stderr


@pytest.mark.parametrize(
    ("text", "value"),
    [
        # YAML 1.2 core: only true/false are booleans...
        ("[true, True, TRUE, false, False, FALSE]", [True, True, True, False, False, False]),
        (
            "[yes, no, on, off, y, n, Yes, NO, tRue]",
            ["yes", "no", "on", "off", "y", "n", "Yes", "NO", "tRue"],
        ),
        # ... null, ~ and nothing are null ...
        ("[null, Null, NULL, ~, nul]", [None, None, None, None, "nul"]),
        # ... integers in decimal (a leading zero is still decimal), 0o and 0x ...
        ("[12, 012, -3, +4, 0o17, 0x1F]", [12, 12, -3, 4, 15, 31]),
        # ... and floats, a whole one being that integer (as JSON Schema counts numbers);
        # nothing else is a number.
        ("[1.5, .5, 1., 1e3, -2E-1, 1.5e+3]", [1.5, 0.5, 1, 1000, -0.2, 1500]),
        (
            "[1_000, '1:30', 0b11, 0X1F, -0x1, 0o8, NaN, inf]",
            ["1_000", "1:30", "0b11", "0X1F", "-0x1", "0o8", "NaN", "inf"],
        ),
        ("[2024-01-01, =, '12', !!int '7']", ["2024-01-01", "=", "12", 7]),
    ],
)
def test_plain_scalars_follow_the_yaml_1_2_core_schema(text: str, value: list[Any]) -> None:
    data, _ = load_yaml(f"values: {text}\n")
    assert data["values"] == value
    assert [type(v) for v in data["values"]] == [type(v) for v in value]


def test_infinities_and_nans_are_read_as_floats() -> None:
    data, _ = load_yaml("[.inf, -.Inf, +.INF, .nan, .NaN, .NAN]")
    assert data[:3] == [math.inf, -math.inf, math.inf]
    assert all(math.isnan(v) for v in data[3:])


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("x: &a [*a]\n", (1, 8)),
        ("x: &a {b: [1, {c: *a}]}\n", (1, 19)),
        ("a: &a\n  b: 1\n  <<: *a\n", (3, 7)),
    ],
)
def test_an_alias_inside_its_own_node_is_a_located_error(text: str, where: tuple[int, int]) -> None:
    with pytest.raises(skipgen.SpecError) as info:
        load_yaml(text, "loop.yaml")
    (d,) = info.value.diagnostics
    assert (d.file, d.line, d.col) == ("loop.yaml", *where)
    assert d.message == "this alias refers to the node that contains it"
    assert d.hint


@pytest.mark.parametrize(
    "text",
    [
        "x: " + "[" * 2000 + "]" * 2000,
        "x: " + "{a: " * 2000 + "1" + "}" * 2000,
        "x:\n" + "".join("  " * i + "- \n" for i in range(1, 200)),
        "".join("  " * i + "a:\n" for i in range(200)),
    ],
    ids=["flow sequences", "flow mappings", "block sequences", "block mappings"],
)
def test_deep_nesting_is_a_located_error_not_a_recursion_error(text: str) -> None:
    with pytest.raises(skipgen.SpecError) as info:
        skipgen.load_spec(text)
    (d,) = info.value.diagnostics
    assert d.message == f"the document is nested more than {MAX_DEPTH} levels deep"
    assert d.line >= 1 and d.col >= 1 and d.hint


def test_nesting_up_to_the_limit_loads() -> None:
    deepest = "x: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)
    data, _ = load_yaml(deepest)
    for _ in range(MAX_DEPTH - 1):
        data = data["x"] if isinstance(data, dict) else data[0] if data else data
    assert data == []


def test_a_long_plain_file_is_refused_for_its_size_not_for_aliases(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(compose, "MAX_NODES", 1000)  # the same rule as at 200,000, faster
    data, _ = load_yaml("x: [" + ", ".join(["1"] * 997) + "]")  # 1000 with map, key, list
    assert len(data["x"]) == 997
    with pytest.raises(skipgen.SpecError) as info:
        load_yaml("x: [" + ", ".join(["1"] * 998) + "]")
    (d,) = info.value.diagnostics
    assert (d.line, d.col) == (1, 5 + 3 * 997)  # the 998th item: the 1001st node
    assert d.message == "the document has over 1000 nodes, the most a spec may have"
    assert "alias" not in d.message + (d.hint or "")


def test_aliases_count_as_the_nodes_they_stand_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compose, "MAX_NODES", 1000)
    anchor = "a: &a [" + ", ".join(["1"] * 98) + "]\n"  # an anchor of 99 nodes
    data, _ = load_yaml(anchor + "b: [" + ", ".join(["*a"] * 9) + "]")  # 101 + 2 + 9 * 99
    assert len(data["b"]) == 9
    with pytest.raises(skipgen.SpecError) as info:
        load_yaml(anchor + "b: [" + ", ".join(["*a"] * 10) + "]")
    (d,) = info.value.diagnostics
    assert (d.line, d.col) == (2, 5 + 4 * 9)  # the alias that crossed the limit
    assert d.message == "aliases expand the document to over 1000 nodes"


def test_a_byte_that_is_not_utf8_is_reported_at_its_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: Net\n# naïve → ok\ninput: {chan".encode() + b"\xe9ls: 3}\n")
    with pytest.raises(skipgen.SpecError) as info:
        skipgen.load_spec(path)
    (d,) = info.value.diagnostics
    assert (d.line, d.col) == (3, 13)  # columns count characters, as in every diagnostic
    assert d.message == "the file is not UTF-8 text: byte 0xe9 cannot be decoded"


def test_a_forbidden_character_is_reported_where_it_is() -> None:
    with pytest.raises(skipgen.SpecError) as info:
        load_yaml("name: Net\ninput: é\x00\n")
    (d,) = info.value.diagnostics
    assert (d.line, d.col, d.message) == (2, 9, "character U+0000 is not allowed in YAML")


def test_a_diagnostic_cannot_forge_another_line() -> None:
    forged = "x.yaml:1:1: error: all good"
    d = Diagnostic(f"a\n{forged}\x1b[2K.yaml", 3, 4, "bad\r\nvalue\u2028", "use\nthis")
    lines = d.format().splitlines()
    assert lines == [
        "a\\n" + forged + "\\x1b[2K.yaml:3:4: error: bad\\r\\nvalue\\u2028",
        "  hint: use\\nthis",
    ]
    assert Diagnostic("café/ü.yaml", 1, 1, "ok").format() == "café/ü.yaml:1:1: error: ok"


def test_validate_escapes_a_file_name_with_a_newline(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from skipgen.cli import app

    path = tmp_path / "spec\nforged.yaml:1:1: error: x.yaml"
    path.write_text("name: Net\ninput: {channels: 0}\nlayers: [{type: conv, channels: 8}]\n")
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(str(tmp_path))
    assert "spec\\nforged.yaml:1:1: error: x.yaml:2:19: error: input.channels" in lines[0]


@pytest.mark.parametrize("escape", ["\\ud800", "\\uDE00", "\\uD83D\\uDE00"])
def test_a_lone_surrogate_is_a_located_error(escape: str) -> None:
    # Half of a UTF-16 pair is no character: no file, terminal or emitted module holds it
    # (it reached pydantic's model builder, which raised UnicodeEncodeError).
    text = (
        "name: Net\ninput: {channels: 3, size: 8}\nblocks:\n  b:\n"
        f'    description: "a{escape}b"\n'
        "    params: {channels: int}\n"
        '    layers: [{type: conv, channels: "${channels}"}]\n'
        "layers: [{type: b, channels: 4}]\n"
    )
    with pytest.raises(skipgen.SpecError) as caught:
        skipgen.load_spec(text)
    [diagnostic] = caught.value.diagnostics
    assert (diagnostic.line, diagnostic.col) == (5, 18)
    assert "surrogate" in diagnostic.message and diagnostic.message.isascii()
