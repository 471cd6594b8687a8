"""``--set key=value`` on validate, summary and build: applied and checked like the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

import skipgen
from skipgen.cli import app
from skipgen.errors import SpecError

ROOT = Path(__file__).resolve().parent.parent
UNET = ROOT / "configs" / "unet_small.yaml"
MOBILENET = ROOT / "configs" / "mobilenet_v2.yaml"


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(app, list(map(str, args)))


def test_input_size_is_read_as_an_integer() -> None:
    result = run("validate", UNET, "--set", "input.size=512")
    assert result.exit_code == 0, result.output
    assert "(N, 1, 512, 512) -> (N, 2, 512, 512)" in result.stdout


def test_a_width_multiplier_changes_the_network_as_the_file_would(tmp_path: Path) -> None:
    edited = tmp_path / "mobilenet_half.yaml"
    text = MOBILENET.read_text()
    assert "\nscaling:" not in text
    edited.write_text(text.replace("\nlayers:", "\nscaling: {width: 0.5}\nlayers:", 1))
    by_set = run("summary", MOBILENET, "--json", "--set", "scaling.width=0.5")
    by_file = run("summary", edited, "--json")
    assert by_set.exit_code == by_file.exit_code == 0, by_set.output + by_file.output
    (ours,), (theirs,) = json.loads(by_set.stdout), json.loads(by_file.stdout)
    assert ours["layers"] == theirs["layers"]
    assert ours["totals"]["params"] < skipgen.lower_spec(MOBILENET).params


def test_a_list_item_is_numbered_from_0() -> None:
    graph = skipgen.lower_spec(UNET, set=["layers.2.channels=48"])
    # layers[2] is `conv2` (channels: 32, repeat: 2)
    stage = next(s for p, s in graph.leaves() if p == ("conv2",))
    assert [n.out_channels for n in stage.nodes] == [48, 48]


def test_build_takes_set_and_its_source_differs() -> None:
    plain, wide = run("build", UNET), run("build", UNET, "--set", "layers.0.channels=24")
    assert plain.exit_code == wide.exit_code == 0
    assert "ConvNormAct(1, 24)" in wide.stdout and "ConvNormAct(1, 24)" not in plain.stdout
    assert plain.stdout.splitlines()[2] != wide.stdout.splitlines()[2]  # the spec's hash


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        (
            "scaling.widht=1.1",
            ": --set scaling.widht=1.1: error: scaling.widht: unknown key 'widht'\n"
            "  hint: did you mean 'width'?",
        ),
        (
            "layers.0.channels=many",
            ": --set layers.0.channels=many: error: layers[0].channels: expected an "
            "integer, got 'many'",
        ),
        ("input.size=0", ": --set input.size=0: error: input.size"),
    ],
)
def test_a_bad_key_or_value_names_the_spec_set_and_the_key(option: str, expected: str) -> None:
    result = run("validate", UNET, "--set", option)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{UNET}{expected}"), result.stderr


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("input.size", "--set input.size: error: expected KEY=VALUE"),
        ("input.size=", "--set input.size=: error: no value for input.size"),
        ("layers.10.channels=8", "--set layers.10.channels=8: error: layers has no item 10"),
        ("name.first=x", "--set name.first=x: error: name is a value ('SmallUNet')"),
        ("layers.x=1", "--set layers.x=1: error: layers is a list: 'x' is not an index"),
    ],
)
def test_a_malformed_set_is_an_error_that_says_so(option: str, message: str) -> None:
    result = run("summary", UNET, "--set", option)
    assert result.exit_code == 1
    assert result.stderr.startswith(message), result.stderr


def test_an_error_the_set_causes_elsewhere_is_located_in_the_file() -> None:
    result = run("validate", UNET, "--set", "input.size=37")
    assert result.exit_code == 1
    # 37 -> 18 -> 9 -> 18 -> 36: the second upsampling no longer meets enc1's 37
    assert result.stderr.startswith(
        f"{UNET}:14:42: error: layers[7].skip: concat with the shortcut from 'enc1': sizes 37 "
        "and 36 differ"
    )


def test_the_api_leaves_a_dict_spec_unchanged() -> None:
    spec = {"name": "Net", "input": {"channels": 3}, "layers": [{"type": "conv", "channels": 8}]}
    graph = skipgen.lower_spec(spec, set=["layers.0.channels=16"])
    assert graph.out_channels == 16
    assert spec["layers"] == [{"type": "conv", "channels": 8}]
    with pytest.raises(SpecError, match=r"--set layers\.0\.kind=conv: error"):
        skipgen.lower_spec(spec, set=["layers.0.kind=conv"])
