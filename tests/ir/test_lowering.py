"""The lowering against the real modules: parameter counts, shapes, call defaults."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

import skipgen
from skipgen.ir.common import make_divisible, scaled_depth
from tests.conftest import CONFIGS

torch.manual_seed(0)


def spec(dims: int, layers: list[dict], size: int | None = 16, **extra: object) -> dict:
    data: dict = {"name": "Net", "input": {"channels": 8, "dims": dims}, "layers": layers}
    if size is not None:
        data["input"]["size"] = size
    data.update(extra)
    return data


# One spec per block kind and variant; each is checked in 1D, 2D and 3D.
VARIANTS: dict[str, list[dict]] = {
    "conv": [{"type": "conv", "channels": 12, "kernel": 3, "stride": 2}],
    "conv_preact_grouped": [{"type": "conv", "channels": 16, "groups": 4, "preact": True}],
    "conv_no_norm_bias": [{"type": "conv", "channels": 6, "norm": "none", "act": "none"}],
    "conv_dilated_padded": [{"type": "conv", "channels": 8, "dilation": 2, "padding": 1}],
    "conv_local_add": [{"type": "conv", "channels": 8, "skip": "add"}],
    "conv_local_concat_projected": [
        {"type": "conv", "channels": 4, "stride": 2, "skip": "concat", "on_mismatch": "project"}
    ],
    "conv_preact_projected": [
        {
            "type": "conv",
            "channels": 4,
            "kernel": 1,
            "preact": True,
            "skip": "add",
            "on_mismatch": "project",
        }
    ],
    "basic": [{"type": "basic", "channels": 16, "stride": 2, "repeat": 2}],
    "basic_preact": [{"type": "basic", "channels": 16, "stride": 2, "preact": True}],
    "basic_group_norm": [{"type": "basic", "channels": 16, "norm": {"type": "group", "groups": 4}}],
    "basic_instance_norm_gelu": [
        {"type": "basic", "channels": 8, "norm": "instance", "act": "gelu"}
    ],
    "basic_concat": [{"type": "basic", "channels": 8, "skip": "concat"}],
    "basic_dropped": [{"type": "basic", "channels": 16, "stride": 2, "on_mismatch": "drop"}],
    "bottleneck": [{"type": "bottleneck", "channels": 32, "stride": 2}],
    "bottleneck_resnext": [
        {"type": "bottleneck", "channels": 32, "groups": 4, "base_width": 8, "expansion": 2}
    ],
    "bottleneck_preact": [{"type": "bottleneck", "channels": 32, "preact": True}],
    "inverted_residual": [
        {"type": "inverted_residual", "channels": 8, "expansion": 6, "repeat": 2}
    ],
    "inverted_residual_se_strided": [
        {
            "type": "inverted_residual",
            "channels": 16,
            "stride": 2,
            "kernel": 5,
            "se_ratio": 0.25,
            "act": "silu",
            "stochastic_depth": 0.1,
        }
    ],
    "inverted_residual_no_expand": [
        {"type": "inverted_residual", "channels": 8, "expansion": 1, "act": "relu6"}
    ],
    "inverted_residual_efficientnet_layout": [
        {"type": "inverted_residual", "channels": 8, "se_ratio": 0.25, "layout": "efficientnet"},
        {"type": "inverted_residual", "channels": 8, "expansion": 1, "layout": "efficientnet"},
    ],
    "dense_transition": [
        {"type": "dense", "layers": 3, "growth": 4, "bn_size": 2},
        {"type": "transition", "compression": 0.5},
    ],
    "transition_max": [{"type": "transition", "channels": 6, "pool": "max"}],
    "maxpool": [{"type": "maxpool", "kernel": 3, "stride": 2}],
    "avgpool": [{"type": "avgpool", "kernel": 2}],
    "global_pool": [{"type": "global_pool", "mode": "max"}],
    "upsample_transposed": [{"type": "upsample", "channels": 4}],
    "upsample_bilinear": [
        {"type": "upsample", "channels": 4, "mode": "bilinear", "norm": "batch", "act": "relu"}
    ],
    "upsample_nearest": [{"type": "upsample", "channels": 4, "mode": "nearest", "scale": 3}],
    "norm": [{"type": "norm", "act": "hardswish"}],
    "bare_conv_norm_act": [
        {"type": "conv", "channels": 6, "stride": 2, "norm": "none", "act": "none", "bias": False},
        {"type": "norm", "act": "none", "norm": {"type": "batch", "eps": 0.001}},
        {"type": "act", "act": "leaky_relu"},
    ],
    "batch_norm_momentum": [
        {
            "type": "inverted_residual",
            "channels": 8,
            "stride": 2,
            "se_ratio": 0.25,
            "norm": {"type": "batch", "eps": 0.001, "momentum": 0.01},
        },
        {"type": "norm", "act": "none", "norm": {"type": "batch", "momentum": 0.01}},
    ],
    "bare_group_and_instance_norms": [
        {"type": "norm", "act": "none", "norm": {"type": "group", "groups": 4}},
        {"type": "norm", "act": "none", "norm": "instance"},
        {"type": "norm", "act": "none", "norm": "none"},
        {"type": "act", "act": "silu"},
    ],
    "classifier": [
        {"type": "conv", "channels": 4},
        {"type": "classifier", "classes": 5, "dropout": 0.1},
    ],
    "long_skip_add_projected": [
        {"type": "conv", "channels": 8, "id": "a"},
        {
            "type": "conv",
            "channels": 16,
            "skip": {"mode": "add", "from": "a"},
            "on_mismatch": "project",
        },
    ],
    "long_skip_concat": [
        {"type": "conv", "channels": 4, "id": "a"},
        {"type": "maxpool"},
        {"type": "upsample", "channels": 4, "skip": {"mode": "concat", "from": "a"}},
    ],
}


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_params_and_shapes_equal_the_module(variant: str, dims: int) -> None:
    data = spec(dims, VARIANTS[variant], size=12)
    graph = skipgen.lower_spec(data)
    model = skipgen.build_model(graph).eval()
    assert graph.params == sum(p.numel() for p in model.parameters())
    x = torch.randn(2, 8, *([12] * dims))
    out = model(x)
    assert tuple(out.shape) == graph.output_shape(2)


def test_basic_block_parameter_count_by_hand() -> None:
    graph = skipgen.lower_spec(spec(2, [{"type": "basic", "channels": 16, "stride": 2}]))
    conv1, conv2, downsample = 3 * 3 * 8 * 16, 3 * 3 * 16 * 16, 8 * 16
    assert graph.params == conv1 + conv2 + downsample + 3 * (2 * 16)


def test_skip_notes_say_what_happened() -> None:
    graph = skipgen.lower_spec(
        spec(
            2,
            [
                {"type": "basic", "channels": 8},
                {"type": "basic", "channels": 16, "stride": 2},
                {"type": "inverted_residual", "channels": 24, "stride": 2},
                {"type": "conv", "channels": 24},
            ],
        )
    )
    assert [s.nodes[0].skip_note for s in graph.stages] == [
        "identity",
        "projected",
        "dropped",
        "none",
    ]


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_every_config_builds_with_the_inferred_output_shape(path) -> None:
    graph = skipgen.lower_spec(path)
    model = skipgen.build_model(graph).eval()
    size = graph.input_size or (32,) * graph.dims
    with torch.no_grad():
        out = model(torch.randn(1, graph.in_channels, *size))
    if graph.keyed_outputs:  # a dict under the keys `outputs` gives, in their order
        assert isinstance(out, dict) and list(out) == [o.name for o in graph.outputs]
        out = list(out.values())
    if graph.outputs:
        assert isinstance(out, list) and len(out) == len(graph.outputs)
        for tensor, output in zip(out, graph.outputs, strict=True):
            assert output.reduction is not None
            spatial = tuple(s // output.reduction for s in size)
            assert tuple(tensor.shape) == (1, output.channels, *spatial)
    elif graph.flat:
        assert tuple(out.shape) == (1, graph.out_channels)
    else:
        assert out.shape[:2] == (1, graph.out_channels)
        if graph.out_size is not None:
            assert tuple(out.shape[2:]) == graph.out_size
    assert graph.params == sum(p.numel() for p in model.parameters())


def test_size_rule_for_a_unet_and_unsized_specs() -> None:
    layers = [{"type": "conv", "channels": 4, "id": "e1"}]
    for level in range(4):
        layers += [{"type": "maxpool"}, {"type": "conv", "channels": 4, "id": f"e{level + 2}"}]
    for level in range(4, 0, -1):
        layers.append(
            {"type": "upsample", "channels": 4, "skip": {"mode": "concat", "from": f"e{level}"}}
        )
    graph = skipgen.lower_spec(spec(2, layers, size=None))
    assert graph.size_rule == "height and width: a multiple of 16"
    graph = skipgen.lower_spec(spec(2, layers, size=[48, 64]))
    assert graph.out_size == (48, 64)
    with pytest.raises(skipgen.SpecError, match="sizes 25 and 24 differ along dimension 2"):
        skipgen.lower_spec(spec(2, layers, size=[48, 200]))


def test_size_rule_wording() -> None:
    resnet = skipgen.lower_spec(spec(1, [{"type": "basic", "channels": 8, "stride": 2}], None))
    assert resnet.size_rule == "length: any size"
    shrinking = [{"type": "conv", "channels": 8, "kernel": 5, "padding": 0}] * 2
    assert skipgen.lower_spec(spec(3, shrinking, None)).size_rule == (
        "depth, height and width: at least 9"
    )


def test_width_and_depth_multipliers() -> None:
    assert [make_divisible(c * 1.1, 8) for c in (32, 40, 1280)] == [32, 48, 1408]
    assert [make_divisible(c * 0.5, 8) for c in (32, 16, 24, 96)] == [16, 8, 16, 48]
    assert make_divisible(10, 8) == 16  # never more than 10% below the target
    assert [scaled_depth(r, 1.2) for r in (1, 2, 3, 4)] == [2, 3, 4, 5]
    data = spec(
        2,
        [
            {"type": "conv", "channels": 32},
            {"type": "inverted_residual", "channels": 16, "repeat": 2},
            {"type": "classifier", "classes": 10},
        ],
        scaling={"width": 1.5, "depth": 2.0},
    )
    graph = skipgen.lower_spec(data)
    assert [s.nodes[0].out_channels for s in graph.stages] == [48, 24, 10]
    assert [len(s.nodes) for s in graph.stages] == [1, 4, 1]


def test_stride_applies_to_the_first_repeat_only() -> None:
    graph = skipgen.lower_spec(
        spec(2, [{"type": "basic", "channels": 8, "stride": 2, "repeat": 3}], size=16)
    )
    assert [n.out_size for n in graph.stages[0].nodes] == [(8, 8)] * 3


def test_validate_does_not_import_torch() -> None:
    code = (
        "import sys\n"
        "from skipgen.cli import main\n"
        "sys.argv = ['skipgen', 'validate', *sys.argv[1:]]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
        "assert 'torch' not in sys.modules, 'validate imported torch'\n"
        "print('exit', code)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, *map(str, CONFIGS)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "exit 0" in result.stdout


def test_a_long_skip_may_name_its_source_by_name_or_id() -> None:
    for handle in ("enc", "first"):
        data = spec(
            2,
            [
                {"type": "conv", "channels": 4, "name": "first", "id": "enc"},
                {"type": "conv", "channels": 4, "skip": {"mode": "add", "from": handle}},
            ],
        )
        graph = skipgen.lower_spec(data)
        assert graph.stages[0].save_as == "enc"
        assert graph.stages[1].long_skip.source == "enc"
        model = skipgen.build_model(graph).eval()
        assert tuple(model(torch.randn(1, 8, 16, 16)).shape) == (1, 4, 16, 16)


def test_bare_layers_match_the_block_helpers() -> None:
    """A conv, norm or act with nothing around it is the plain torch module."""
    data = spec(2, VARIANTS["bare_conv_norm_act"])
    model = skipgen.build_model(data)
    assert [type(m).__name__ for m in model.children()] == ["Conv2d", "BatchNorm2d", "LeakyReLU"]
    assert model.conv1.bias is None and model.norm1.eps == 0.001
    assert not model.act1.inplace  # its input may be a saved skip or the caller's tensor
    assert list(model.state_dict())[:2] == ["conv1.weight", "norm1.weight"]


def test_stochastic_depth_rises_linearly_over_the_residual_blocks() -> None:
    graph = skipgen.lower_spec(CONFIGS[0].parent / "efficientnet_b0.yaml")
    rates = [
        dict(node.call.kwargs).get("drop_path", 0.0)
        for node in graph.nodes()
        if node.kind == "inverted_residual"
    ]
    assert len(rates) == 16
    assert rates == pytest.approx([0.2 * i / 16 for i in range(16)])  # torchvision's rule
    own = spec(
        2,
        [
            {"type": "basic", "channels": 8, "repeat": 2, "stochastic_depth": 0.3},
            {"type": "basic", "channels": 8, "repeat": 2},
        ],
        defaults={"stochastic_depth": 0.4},
    )
    rates = [dict(n.call.kwargs).get("drop_path", 0.0) for n in skipgen.lower_spec(own).nodes()]
    assert rates == pytest.approx([0.3, 0.3, 0.4 * 2 / 4, 0.4 * 3 / 4])


def test_norm_momentum_and_eps_reach_every_norm() -> None:
    model = skipgen.build_model(spec(2, VARIANTS["batch_norm_momentum"]))
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(norms) == 4
    assert [m.momentum for m in norms] == [0.01] * 4
    assert [m.eps for m in norms] == [0.001] * 3 + [1e-5]


def test_unsized_output_shapes_follow_the_input() -> None:
    unet = skipgen.lower_spec(CONFIGS[0].parent / "unet.yaml")
    assert unet.input_shape() == ("N", 3, "H", "W")
    assert unet.output_shape() == ("N", 2, "H", "W")
    down = spec(3, [{"type": "conv", "channels": 4, "stride": 2}, {"type": "maxpool"}], None)
    assert skipgen.lower_spec(down).output_shape() == ("N", 4, "?", "?", "?")  # rounding
    pooled = spec(1, [{"type": "maxpool"}, {"type": "maxpool"}], None)
    assert skipgen.lower_spec(pooled).output_shape() == ("N", 8, "?")  # floor(L/4)
    aligned = spec(
        1,
        [  # the concat admits only multiples of 4, so the output is exactly L/4
            {"type": "conv", "channels": 4, "id": "a"},
            {"type": "maxpool"},
            {"type": "maxpool"},
            {
                "type": "upsample",
                "channels": 4,
                "scale": 4,
                "skip": {"mode": "concat", "from": "a"},
            },
            {"type": "maxpool"},
            {"type": "maxpool"},
        ],
        None,
    )
    assert skipgen.lower_spec(aligned).output_shape() == ("N", 8, "L/4")
    up = spec(2, [{"type": "upsample", "channels": 4, "scale": 3}], None)
    assert skipgen.lower_spec(up).output_shape() == ("N", 4, "H*3", "W*3")
