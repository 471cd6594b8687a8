"""Loading specs: sources, safety, positions, and the JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import skipgen
from skipgen.commands.schema import schema_text
from skipgen.spec.load import load_yaml

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

    from skipgen.nn import REGISTRY
    from skipgen.spec.reserved import BLOCK_NAMES, MODULE_ATTRIBUTES

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
