"""Hostile input to composite blocks and their skips: every case is a located error with a
hint, exit 1 through the CLI, never a traceback, and the same words on every run."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

import skipgen
from skipgen.cli import app
from skipgen.composite.expr import ExprError, evaluate, parse
from tests.backends.helpers import assert_equivalent, load_module


def write(folder: Path, text: str, name: str = "net.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def validate(path: Path, *options: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["validate", *options, str(path)])
    return result.exit_code, result.stdout, result.stderr


# -- parameter defaults and non-finite values ---------------------------------------------------


@pytest.mark.parametrize("default", [".inf", "-.inf", ".nan"])
def test_a_non_finite_default_is_an_error_at_the_default(tmp_path: Path, default: str) -> None:
    path = write(
        tmp_path,
        f"""\
        name: Net
        input: {{channels: 3}}
        blocks:
          unit:
            params:
              g: {{type: float, default: {default}}}
            layers:
              - {{type: conv, channels: "${{round(g)}}"}}
        layers:
          - {{type: unit}}
        """,
    )
    code, out, err = validate(path)
    assert code == 1 and out == ""
    assert f"{path}:6:33: error: blocks.unit.params.g.default: must be a finite number" in err
    assert "hint: .inf and .nan are not allowed here" in err
    assert "Traceback" not in err


def test_a_default_text_is_held_to_a_uses_length(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"""\
        name: Net
        input: {{channels: 3}}
        blocks:
          unit:
            params:
              act: {{type: str, default: {"x" * 10_000}}}
            layers:
              - {{type: conv, channels: 8}}
        layers:
          - {{type: unit}}
        """,
    )
    code, _, err = validate(path)
    assert code == 1
    message = "blocks.unit.params.act.default: string should have at most 200 characters"
    assert f"{path}:6:33: error: {message}" in err
    assert "x" * 100 not in err  # the value is not echoed back


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan, 1e300])
def test_round_of_a_value_out_of_range_is_an_expression_error(value: float) -> None:
    expr = parse("round(g)", {"g": value})
    with pytest.raises(ExprError, match="out of range") as info:
        evaluate(expr, {"g": value})
    assert info.value.hint


def test_a_huge_value_in_an_expression_is_located_at_the_body(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        name: Net
        input: {channels: 3}
        blocks:
          unit:
            params: {g: float}
            layers:
              - {type: conv, channels: "${round(g * 2)}"}
        layers:
          - {type: unit, g: 1.0e+300}
        """,
    )
    code, _, err = validate(path)
    assert code == 1
    assert f"{path}:7:32: error: blocks.unit.layers[0].channels: a value in the expression" in err
    assert f"note: in the block 'unit' used at {path}:9:5 (layers[0])" in err


# -- the block limit ------------------------------------------------------------------------------

MANY = """\
name: Net
input: {channels: 3}
blocks:
  r:
    params: {c: int}
    layers:
      - {type: conv, channels: "${c}"}
      - {type: conv, channels: "${c}"}
  s:
    params: {c: int}
    layers:
      - {type: r, c: "${c}", repeat: 1000}
      - {type: r, c: "${c}", repeat: 1000}
  d:
    layers:
      - {type: dense, layers: 600, growth: 1}
layers:
"""
LIMIT = "the network reaches more than 10,000 blocks"


def test_the_block_limit_is_reported_at_the_repeat_of_the_use(tmp_path: Path) -> None:
    path = write(tmp_path, MANY + "  - {type: r, c: 8, repeat: 1000}\n" * 6)
    code, _, err = validate(path)
    assert code == 1
    assert f"{path}:23:29: error: layers[5].repeat: {LIMIT} at layers[5].layers[0]" in err
    assert "blocks.r.layers" not in err  # the body's layers have no repeat


def test_the_block_limit_inside_a_block_is_at_the_repeat_in_its_body(tmp_path: Path) -> None:
    path = write(tmp_path, MANY + "  - {type: s, c: 8, repeat: 5}\n")
    code, _, err = validate(path)
    assert code == 1
    assert f"{path}:13:38: error: blocks.s.layers[1].repeat: {LIMIT}" in err
    assert f"note: in the block 's' used at {path}:18:5 (layers[0])" in err


def test_the_block_limit_in_a_dense_body_is_at_its_layers(tmp_path: Path) -> None:
    path = write(tmp_path, MANY + "  - {type: d}\n" * 17)
    code, _, err = validate(path)
    assert code == 1
    assert f"{path}:16:31: error: blocks.d.layers[0].layers: {LIMIT}" in err
    assert f"note: in the block 'd' used at {path}:34:5 (layers[16])" in err


# -- a use's long skip and the block's own -------------------------------------------------------

RES = """\
name: Net
input: {channels: 3, size: 8}
blocks:
  res:
    params: {c: int}
    skip: add
    layers:
      - {type: conv, channels: "${c}"}
layers:
  - {type: conv, channels: 8, id: enc1}
"""


def test_a_uses_long_skip_is_said_to_replace_the_blocks_skip(tmp_path: Path) -> None:
    use = "  - {type: res, c: 16, skip: {mode: concat, from: enc1}, shortcut: avgpool}\n"
    path = write(tmp_path, RES + use)
    code, _, err = validate(path)
    assert code == 1
    assert err.count("error:") == 1
    assert (
        f"{path}:11:68: error: layers[1].shortcut: this use's skip from 'enc1' replaces the "
        "block's own `skip: add`, and is not projected (identity), so a shortcut form has "
        "nothing to shape\n  hint: remove `shortcut`, or the use's `skip` to keep the block's own"
    ) in err
    assert "new channels" not in err


def test_a_uses_shortcut_shapes_its_projected_long_skip(tmp_path: Path) -> None:
    use = "  - {type: res, c: 16, skip: {mode: add, from: enc1}, shortcut: {kernel: 3}}\n"
    path = write(tmp_path, RES + use)
    code, out, _ = validate(path, "--explain")
    assert code == 0
    assert "res1_skip" in out
    graph = skipgen.lower_spec(path)
    model = skipgen.build_model(graph)
    assert tuple(model.res1_skip[0].weight.shape) == (16, 8, 3, 3)
    assert_equivalent(graph, load_module(skipgen.generate_source(path), tmp_path).Net, (2, 3, 8, 8))


@pytest.mark.parametrize(
    "layer",
    [
        "{type: res, c: 16, skip: {mode: add, from: enc9}, shortcut: avgpool}",
        "{type: basic, channels: 16, skip: {mode: add, from: enc9}, shortcut: avgpool}",
        "{type: conv, channels: 8, skip: {mode: concat, from: enc9}, shortcut: avgpool}",
    ],
)
def test_a_typo_in_from_is_the_only_error(tmp_path: Path, layer: str) -> None:
    path = write(tmp_path, RES + f"  - {layer}\n")
    code, _, err = validate(path)
    assert code == 1
    assert err.count("error:") == 1, err
    assert "layers[1].skip.from: no layer is named 'enc9'\n  hint: did you mean 'enc1'?" in err


# -- the same diagnostics on every run ------------------------------------------------------------

ONE_BODY_MANY_USES = """\
name: Net
input: {channels: 3}
blocks:
  unit:
    params: {c: int, act: {type: str, default: relu}}
    layers:
      - {type: conv, channels: "${c}", act: "${act}"}
      - {type: conv, channels: "${c}", kernel: 0}
layers:
  - {type: unit, c: 0}
  - {type: unit, c: -1, act: gelu}
  - {type: unit, c: 0, act: selu}
  - {type: unit, c: 70000}
"""


def test_errors_in_a_body_come_in_one_order_whatever_the_hash_seed(tmp_path: Path) -> None:
    path = write(tmp_path, ONE_BODY_MANY_USES)
    runs = [
        subprocess.run(
            [sys.executable, "-m", "skipgen", "validate", str(path)],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            check=False,
        )
        for seed in (0, 1, 2, 3, 4)
    ]
    outputs = {(run.returncode, run.stdout, run.stderr) for run in runs}
    assert len(outputs) == 1
    [(code, out, err)] = outputs
    assert code == 1 and out == ""
    # at one place, one message: the uses in the order they are written
    notes = [line for line in err.splitlines() if "kernel: must be at least 1" in line]
    assert len(notes) == 4
    first = err.split("blocks.unit.layers[1].kernel")[1]
    used = [int(n) for n in re.findall(r"\(layers\[(\d)\]\)", first)]
    assert used == sorted(used)


# -- where a long skip is shown -------------------------------------------------------------------

JOINS = """\
name: Net
input: {channels: 3, size: 16}
blocks:
  res:
    params: {c: int}
    skip: add
    layers:
      - {type: conv, channels: "${c}"}
layers:
  - {type: conv, channels: 8, id: enc1}
  - {type: conv, channels: 8, stride: 2}
  - {type: upsample, mode: nearest, scale: 2, skip: {mode: concat, from: enc1}}
  - {type: res, c: 16, skip: {mode: concat, from: enc1}}
  - type: sequence
    name: seq
    skip: {mode: concat, from: enc1}
    layers:
      - {type: conv, channels: 4}
  - {type: conv, channels: 4}
"""
# each layer that takes a skip, and the module that reads what it gives
READERS = {"up1": "res1", "res1": "seq.0", "seq": "conv3"}


def inputs_seen(path: Path) -> dict[str, tuple[int, ...]]:
    """The shape (one sample) that each reader of READERS gets in a real forward pass."""
    model = skipgen.build_model(path).eval()
    seen: dict[str, tuple[int, ...]] = {}

    def hook(name: str) -> Callable[..., None]:
        def record(_: torch.nn.Module, args: tuple[torch.Tensor, ...]) -> None:
            seen.setdefault(name, tuple(args[0].shape[1:]))

        return record

    for reader in READERS.values():
        model.get_submodule(reader).register_forward_pre_hook(hook(reader))
    with torch.no_grad():
        model(torch.randn(1, 3, 16, 16))
    return seen


def test_explain_shows_a_long_skip_on_the_row_of_the_layer_that_takes_it(tmp_path: Path) -> None:
    path = write(tmp_path, JOINS)
    code, out, _ = validate(path, "--explain")
    assert code == 0
    rows = {line.split()[0]: line.split() for line in out.splitlines()[2:]}
    seen = inputs_seen(path)
    for layer, reader in READERS.items():
        channels = rows[layer][2].split("->")[1]
        assert int(channels) == seen[reader][0], layer
        assert "concat from enc1 (identity" in " ".join(rows[layer]), layer
    assert rows["res1"][1:3] == ["res", "16->24"]
    assert "replacing the block's own add" in " ".join(rows["res1"])
    assert "long" not in rows  # an identity skip has no module of its own
    order = [line.split()[0] for line in out.splitlines()[2:]]
    assert order.index("res1.conv1") < order.index("res1") < order.index("seq.0")


def test_summary_shows_a_long_skips_layer_after_the_concatenation(tmp_path: Path) -> None:
    path = write(tmp_path, JOINS)
    result = CliRunner().invoke(app, ["summary", "--json", str(path)])
    assert result.exit_code == 0, result.output
    layers = {row["module"]: row for row in json.loads(result.stdout)[0]["layers"]}
    seen = inputs_seen(path)
    for layer, reader in READERS.items():
        assert tuple(layers[layer]["output_shape"]) == seen[reader], layer
        assert layers[layer]["skip"] == "concat from enc1 (identity)"
    text = CliRunner().invoke(app, ["summary", str(path)]).stdout
    assert "upsample, concat from enc1 (identity)   (16, 16, 16)" in text
