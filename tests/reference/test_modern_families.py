"""MobileNetV3-Large and EfficientNetV2-S beyond what the zoo's facts pin down.

Under the reference fill rule their outputs hardly depend on the early stages (see
``data/README.md``), so the activations, norms and drop rates of those stages are checked
here against torchvision's model definitions (``mobilenetv3.py``: the ``bneck_conf`` table,
"RE" or "HS" per block; ``efficientnet.py``: SiLU, ``BatchNorm2d(eps=1e-3)`` and
``sd_prob = stochastic_depth_prob * stage_block_id / total_stage_blocks``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn
from typer.testing import CliRunner

import skipgen
from skipgen.cli import app
from skipgen.nn import SqueezeExcitation

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
ACTS = (nn.ReLU, nn.ReLU6, nn.SiLU, nn.Hardswish, nn.Hardsigmoid, nn.Sigmoid, nn.GELU)


def model(name: str) -> nn.Module:
    with torch.device("meta"):
        return skipgen.build_model(CONFIGS / f"{name}.yaml")


def block_activations(block: nn.Module) -> set[type]:
    """Activation types of a block, leaving out those inside its squeeze-excitation."""
    skip = {
        id(m) for se in block.modules() if isinstance(se, SqueezeExcitation) for m in se.modules()
    }
    return {type(m) for m in block.modules() if isinstance(m, ACTS) and id(m) not in skip}


def test_mobilenet_v3_large_activations_follow_torchvisions_table() -> None:
    features = model("mobilenet_v3_large").features
    relu_blocks = range(1, 7)  # bneck_conf rows 1-6: "RE"; rows 7-15: "HS"
    for i, block in enumerate(features):
        expected = {nn.ReLU} if i in relu_blocks else {nn.Hardswish}
        assert block_activations(block) == expected, f"features.{i}"
    ses = [m for m in features.modules() if isinstance(m, SqueezeExcitation)]
    assert len(ses) == 8  # use_se: rows 4-6 and 11-15
    for se in ses:  # torchvision's SqueezeExcitation defaults, with a hardsigmoid gate
        assert (type(se.activation), type(se.scale_activation)) == (nn.ReLU, nn.Hardsigmoid)


def test_mobilenet_v3_large_norms_and_classifier() -> None:
    net = model("mobilenet_v3_large")
    norms = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    assert norms and all((n.eps, n.momentum) == (0.001, 0.01) for n in norms)
    assert [type(m) for m in net.classifier][1:] == [nn.Hardswish, nn.Dropout, nn.Linear]
    assert net.classifier[2].p == 0.2


def test_efficientnet_v2_s_fused_stages_and_norms() -> None:
    net = model("efficientnet_v2_s")
    for i in (1, 2, 3):  # FusedMBConv stages: full 3x3 convs, no depthwise conv
        convs = [m for m in net.features[i].modules() if isinstance(m, nn.Conv2d)]
        assert all(c.groups == 1 for c in convs), f"features.{i}"
        assert convs[0].kernel_size == (3, 3)
    for i in (4, 5, 6):  # MBConv stages: a depthwise conv in every block
        for block in net.features[i]:
            assert any(m.groups > 1 for m in block.modules() if isinstance(m, nn.Conv2d))
    for i, stage in enumerate(net.features):
        assert block_activations(stage) == {nn.SiLU}, f"features.{i}"
    norms = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    assert norms and all((n.eps, n.momentum) == (0.001, 0.1) for n in norms)


@pytest.mark.parametrize(("name", "blocks"), [("efficientnet_b0", 16), ("efficientnet_v2_s", 40)])
def test_stochastic_depth_rises_as_in_torchvision(name: str, blocks: int) -> None:
    """The i-th of n blocks drops its branch with probability ``0.2 * i / n``."""
    rates = [m.drop_path_rate for m in model(name).modules() if hasattr(m, "drop_path_rate")]
    assert rates == pytest.approx([0.2 * i / blocks for i in range(blocks)], abs=1e-12)


@pytest.mark.parametrize(
    ("name", "summary"),
    [
        ("mobilenet_v3_large", "MobileNetV3Large (N, 3, 224, 224) -> (N, 1000), 5,483,032"),
        ("efficientnet_v2_s", "EfficientNetV2S (N, 3, 384, 384) -> (N, 1000), 21,458,488"),
    ],
)
def test_validate_states_torchvisions_parameter_count(name: str, summary: str) -> None:
    result = CliRunner().invoke(app, ["validate", str(CONFIGS / f"{name}.yaml")])
    assert result.exit_code == 0
    assert summary in result.stdout
