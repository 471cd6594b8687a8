"""``skipgen summary``: shapes, parameters and MACs against torchinfo, through the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from math import prod
from pathlib import Path
from typing import Any

import pytest
import torch
import torchinfo
from torch import nn
from typer.testing import CliRunner, Result

import skipgen
from skipgen.cli import app

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))
# An input size for the configs that leave it open (the smallest their pooling allows, x2).
SIZES = {"unet": 32, "unet3d": 16, "unet_small": 16, "unet_deep_supervision": 16}
SIZES["unet_resnet34"] = 64
# torchvision's published cost of its ImageNet models at 224x224, in GMACs (the
# ``_ops`` entry of each weights' metadata, which counts multiply-accumulates).
TORCHVISION_GMACS = {
    "resnet18": 1.81,
    "resnet34": 3.66,
    "resnet50": 4.09,
    "resnet101": 7.80,
    "mobilenet_v2": 0.30,
    "efficientnet_b0": 0.39,
    "densenet121": 2.83,
}


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(app, ["summary", *map(str, args)])


def summary_json(config: Path) -> dict[str, Any]:
    size = SIZES.get(config.stem)
    extra = ["--set", f"input.size={size}"] if size else []
    result = run(config, "--json", *extra)
    assert result.exit_code == 0, result.output
    (data,) = json.loads(result.stdout)
    return data


def torchinfo_macs(module: nn.Module, infos: dict[int, Any]) -> int:
    """torchinfo's MACs of ``module`` and everything in it, one sample.

    torchinfo totals only leaf modules; a module holding parameters beside children (our
    Classifier, a Linear that holds its pool) is counted here by the same rule it applies
    to the leaves (a convolution's parameters times its output positions, any other
    parameter once).
    """
    total = 0
    for inner in module.modules():
        info = infos[id(inner)]
        if info.is_leaf_layer:
            total += info.macs
            continue
        for param in inner.parameters(recurse=False):
            conv = isinstance(inner, nn.modules.conv._ConvNd)
            positions = prod(info.output_size[2:]) if conv else 1
            total += param.numel() * positions
    return total


def assert_matches_torchinfo(data: dict[str, Any], spec: Path, size: int | None) -> None:
    graph = skipgen.lower_spec(spec, set=[f"input.size={size}"] if size else [])
    model = skipgen.build_model(graph).eval()
    shape = (1, graph.in_channels, *(graph.input_size or ()))
    with torch.no_grad():
        stats = torchinfo.summary(model, input_size=shape, verbose=0, device="cpu")
    infos = {info.layer_id: info for info in stats.summary_list}
    for row in data["layers"]:
        owner, _, key = row["module"].rpartition(".")
        held_here = dict(model.get_submodule(owner).named_parameters(recurse=False))
        if key in held_here:  # a layer scale: a parameter of its block, counted once
            assert row["params"] == row["macs"] == held_here[key].numel(), row["module"]
            continue
        module = model.get_submodule(row["module"])
        if "skip" in row and row["params"] == 0 and any(module.children()):
            continue  # a group's end: its long skip joins what its members gave (tested apart)
        info = infos[id(module)]
        shape = info.output_size[1:]
        if "skip" in row:  # the output after the long skip: the channels it gives
            shape = [row["output_shape"][0], *shape[1:]]
        assert row["output_shape"] == shape, row["module"]
        assert row["params"] == info.num_params, row["module"]
        assert row["macs"] == torchinfo_macs(module, infos), row["module"]
    assert data["totals"]["params"] == stats.total_params
    assert data["totals"]["macs"] == torchinfo_macs(model, infos)
    # What torchinfo's own total counts otherwise: the parameters held beside children (see
    # torchinfo_macs) it leaves out, and a layer called twice (a basic block's activation)
    # it counts at each call.
    held = sum(p.numel() for m in model.modules() if any(m.children()) for p in m.parameters(False))
    seen: set[int] = set()
    again = 0
    for info in stats.summary_list:
        if info.is_leaf_layer and info.layer_id in seen:
            again += info.macs
        seen.add(info.layer_id)
    assert torchinfo_macs(model, infos) - stats.total_mult_adds == held - again


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.stem)
def test_every_row_and_the_total_match_torchinfo(config: Path) -> None:
    assert_matches_torchinfo(summary_json(config), config, SIZES.get(config.stem))


# Every built-in block class, with the options that change its cost, and a projected long skip.
EVERY_BLOCK = """\
name: EveryBlock
input: {channels: 3, size: 32}
defaults: {norm: batch, act: relu}
layers:
  - {type: conv, channels: 16, id: enc1}
  - {type: conv, channels: 32, stride: 2, kernel: 5, groups: 2}
  - type: sequence
    name: body
    layers:
      - {type: basic, channels: 32}
      - {type: basic, channels: 40, preact: true, stride: 2}
      - {type: conv, channels: 48, preact: true}
      - {type: conv, channels: 48, stride: 2, skip: add, on_mismatch: project,
         shortcut: {kernel: 3, norm: none, bias: true}}
      - {type: conv, channels: 40, skip: add, on_mismatch: project, shortcut: avgpool}
  - {type: upsample, channels: 24, scale: 4, mode: bilinear, norm: batch, act: relu,
     skip: {mode: add, from: enc1}, on_mismatch: project}
  - {type: transition, channels: 12}
  - {type: dense, layers: 2, growth: 8}
  - {type: norm}
  - {type: inverted_residual, channels: 16, stride: 2, se_ratio: 0.25}
  - {type: inverted_residual, channels: 16, expansion: 1, kernel: 5}
  - {type: upsample, channels: 16, kernel: 4, norm: none, act: none}
  - {type: bottleneck, channels: 64, stride: 2, groups: 2, base_width: 32}
  - {type: bottleneck, channels: 64, preact: true, norm: none}
  - {type: avgpool, kernel: 2, stride: 2}
  - {type: conv, channels: 8, kernel: 1, norm: none, act: none}
  - {type: classifier, classes: 5}
"""


def test_every_block_class_matches_torchinfo(tmp_path: Path) -> None:
    spec = tmp_path / "every.yaml"
    spec.write_text(EVERY_BLOCK)
    result = run(spec, "--json")
    assert result.exit_code == 0, result.output
    (data,) = json.loads(result.stdout)
    assert "projection" in [row["kind"] for row in data["layers"]]
    assert None not in [row["macs"] for row in data["layers"]]
    assert_matches_torchinfo(data, spec, None)


# The layers and options that the primitives add: norms with and without affine parameters,
# the channel layer norm, parametrized activations, identity, dropout, drop path. (A PReLU
# that a block calls twice, as a basic block's, torchinfo's own total counts twice.)
PRIMITIVES = """\
name: Primitives
input: {channels: 3, size: 16}
defaults: {norm: {type: instance, affine: true}, act: {type: leaky_relu, slope: 0.1}}
layers:
  - {type: conv, channels: 8, norm: layer, act: {type: prelu, per_channel: true}}
  - {type: identity, id: anchor}
  - {type: conv, channels: 8, norm: instance, act: prelu, skip: add, stochastic_depth: 0.1}
  - {type: dropout, p: 0.2, channelwise: true}
  - {type: basic, channels: 16, stride: 2, norm: {type: layer, eps: 1.0e-6}}
  - {type: norm, norm: {type: batch, affine: false}, act: {type: prelu, per_channel: true}}
  - {type: norm, norm: layer, act: none}
  - {type: act, act: {type: prelu, per_channel: true}}
  - {type: inverted_residual, channels: 16, se_ratio: 0.25, se_act: prelu, act: prelu}
  - {type: dense, layers: 2, growth: 4, act: prelu, norm: layer}
  - {type: dropout}
  - {type: classifier, classes: 5, hidden: 12, act: {type: prelu, per_channel: true}}
"""


def test_the_primitives_match_torchinfo(tmp_path: Path) -> None:
    spec = tmp_path / "primitives.yaml"
    spec.write_text(PRIMITIVES)
    result = run(spec, "--json")
    assert result.exit_code == 0, result.output
    (data,) = json.loads(result.stdout)
    assert None not in [row["macs"] for row in data["layers"]]
    assert_matches_torchinfo(data, spec, None)


# The shortcut forms, Fused-MBConv at expansion 1 with a projected shortcut (one conv), a
# long skip projected across a stride, an attention gate's product and an upsample to its
# skip's size.
SHORTCUTS = """\
name: Shortcuts
input: {channels: 3, size: 30}
defaults: {norm: batch, act: relu}
layers:
  - {type: conv, channels: 8, id: enc1}
  - {type: basic, channels: 16, stride: 2, shortcut: avgpool}
  - {type: basic, channels: 24, stride: 2, preact: true, shortcut: {kernel: 3}}
  - {type: bottleneck, channels: 32,
     shortcut: {kernel: 3, norm: none, bias: true, registered: first}}
  - {type: inverted_residual, channels: 32, stride: 2, on_mismatch: project, shortcut: avgpool}
  - {type: inverted_residual, channels: 40, expansion: 1, fused: true, on_mismatch: project}
  - {type: inverted_residual, channels: 32, expansion: 1, fused: true, on_mismatch: project}
  - {type: conv, channels: 32, skip: {mode: add, from: enc1}, on_mismatch: project}
  - {type: conv, channels: 32, skip: {mode: add, from: enc1}, on_mismatch: project,
     shortcut: {type: avgpool, kernel: 3, norm: none}}
  - {type: conv, channels: 1, kernel: 1, norm: none, act: sigmoid,
     skip: {mode: mul, from: enc1}, on_mismatch: project}
  - {type: maxpool, kernel: 3, stride: 2, skip: add, on_mismatch: project, shortcut: avgpool}
  - {type: dense, layers: 1, growth: 4, skip: add, on_mismatch: project, shortcut: {kernel: 3}}
  - {type: transition, channels: 16, skip: add, on_mismatch: project,
     shortcut: {type: avgpool, norm: none}}
  - {type: upsample, mode: bilinear, size: skip, skip: {mode: concat, from: enc1}}
  - {type: conv, channels: 4, kernel: 1, norm: none, act: none}
"""


def test_shortcut_forms_and_gates_match_torchinfo(tmp_path: Path) -> None:
    spec = tmp_path / "shortcuts.yaml"
    spec.write_text(SHORTCUTS)
    result = run(spec, "--json")
    assert result.exit_code == 0, result.output
    (data,) = json.loads(result.stdout)
    assert [row["kind"] for row in data["layers"]].count("projection") == 3
    assert None not in [row["macs"] for row in data["layers"]]
    assert_matches_torchinfo(data, spec, None)


@pytest.mark.parametrize("name", sorted(TORCHVISION_GMACS))
def test_totals_are_torchvisions_published_cost(name: str) -> None:
    data = summary_json(ROOT / "configs" / f"{name}.yaml")
    assert data["input_shape"] == [3, 224, 224]
    assert round(data["totals"]["macs"] / 1e9, 2) == TORCHVISION_GMACS[name]


def test_the_table_on_a_pipe_is_plain_text() -> None:
    result = run(ROOT / "configs" / "resnet50.yaml")
    assert result.exit_code == 0, result.output
    assert result.stdout.isascii() and "\x1b" not in result.stdout
    lines = result.stdout.splitlines()
    assert lines[0] == f"ResNet50 ({ROOT / 'configs' / 'resnet50.yaml'})"
    assert lines[2].split() == ["module", "kind", "output", "params", "MACs"]
    assert lines[-3] == "parameters: 25,557,032 (97.5 MiB in float32)"  # torchvision's count
    assert lines[-2].startswith("multiply-accumulates: 4.09 G (")
    assert lines[-2].endswith(") at 3x224x224")
    assert all(line == line.rstrip() for line in lines)


def test_depth_collapses_into_the_ancestor_rows() -> None:
    full = summary_json(ROOT / "configs" / "mobilenet_v2.yaml")
    result = run(ROOT / "configs" / "mobilenet_v2.yaml", "--json", "--depth", "1")
    (top,) = json.loads(result.stdout)
    assert [r["module"] for r in top["layers"]] == ["features", "classifier"]
    features = [r for r in full["layers"] if r["module"].startswith("features.")]
    assert len(features) == 19  # torchvision's features.0 .. features.18
    assert top["layers"][0]["params"] == sum(r["params"] for r in features)
    assert top["layers"][0]["macs"] == sum(r["macs"] for r in features)
    assert top["layers"][0]["output_shape"] == [1280, 7, 7]
    assert top["totals"] == full["totals"]


def test_without_an_input_size_it_says_how_to_give_one() -> None:
    result = run(ROOT / "configs" / "unet.yaml")
    assert result.exit_code == 0, result.output
    assert "(64, ?, ?)" in result.stdout
    assert "multiply-accumulates" not in result.stdout
    assert "--set input.size=" in result.stdout.splitlines()[-1]
    sized = summary_json(ROOT / "configs" / "unet.yaml")
    assert sized["layers"][0]["output_shape"] == [64, 32, 32]


def test_an_invalid_spec_exits_1_with_its_location(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: Bad\ninput: {channels: 3}\nlayers:\n  - {type: conv, channels: 0}\n")
    result = run(bad)
    assert result.exit_code == 1
    assert f"{bad}:4:28: error: layers[0].channels: must be at least 1" in result.stderr


def test_depth_must_be_positive() -> None:
    assert run(ROOT / "configs" / "resnet18.yaml", "--depth", "0").exit_code == 2


def test_a_terminal_gets_colours_unless_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    import skipgen.commands.common as common

    monkeypatch.setattr(common, "stdout_is_tty", lambda: True)
    monkeypatch.setenv("FORCE_COLOR", "1")  # the runner's stdout is no terminal: say it is
    monkeypatch.delenv("NO_COLOR", raising=False)
    coloured = run(ROOT / "configs" / "resnet18.yaml").stdout
    assert "\x1b[36mlayer1.0" in coloured  # the module column, in cyan
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[36m" not in run(ROOT / "configs" / "resnet18.yaml").stdout


def test_version_and_shell_completion() -> None:
    from skipgen import __version__

    version = CliRunner().invoke(app, ["--version"])
    assert version.exit_code == 0 and version.stdout == f"skipgen {__version__}\n"
    help_text = CliRunner().invoke(app, ["--help"]).stdout
    assert "--install-completion" in help_text and "--show-completion" in help_text
    for command in ("summary", "graph", "new"):
        assert command in help_text


@pytest.mark.parametrize(
    "args",
    [
        ["summary", "configs/resnet50.yaml", "--depth", "2"],
        ["graph", "configs/unet.yaml", "-o", "{tmp}/unet.dot"],
        ["new", "--list"],
        ["new", "{tmp}/mine", "--from", "unet"],
    ],
    ids=lambda args: args[0],
)
def test_looking_never_imports_torch(args: list[str], tmp_path: Path) -> None:
    argv = [str(ROOT / a) if a.startswith("configs/") else a.format(tmp=tmp_path) for a in args]
    code = (
        "import sys\n"
        "from skipgen.cli import main\n"
        f"sys.argv = ['skipgen', *{argv!r}]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exit:\n"
        "    assert exit.code in (0, None), exit.code\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_every_built_in_kind_states_the_cost_of_each_block_it_calls() -> None:
    from skipgen.kinds.registry import BUILTIN_KINDS

    for kind in BUILTIN_KINDS:
        assert set(kind.macs) == {ref.partition(":")[2] for ref in kind.blocks}, kind.__name__
