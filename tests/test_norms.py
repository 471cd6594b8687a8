"""Norms with or without affine parameters (instance norm as torch's: without), and the
channel layer norm, in both backends, against torch's own layers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

import skipgen
from skipgen.errors import SpecError
from skipgen.nn import LayerNormNd
from tests.backends.helpers import assert_equivalent, load_module

SHAPES = {1: (2, 6, 16), 2: (2, 6, 8, 8), 3: (2, 6, 4, 4, 4)}


def spec(*layers: dict[str, Any], dims: int = 2, **top: Any) -> dict[str, Any]:
    size = {1: 16, 2: 8, 3: 4}[dims]
    data = {"name": "Net", "input": {"channels": 6, "dims": dims, "size": size}, **top}
    return {**data, "layers": list(layers)}


def bare_norm(norm: Any, dims: int = 2) -> nn.Module:
    """The module of a lone `norm` layer without an activation."""
    model = skipgen.build_model(spec({"type": "norm", "norm": norm, "act": "none"}, dims=dims))
    (layer,) = model.children()
    return layer


def messages(data: dict[str, Any]) -> list[str]:
    with pytest.raises(SpecError) as caught:
        skipgen.lower_spec(data)
    return [d.message for d in caught.value.diagnostics]


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_instance_norm_is_torchs_default_without_affine_parameters(dims: int) -> None:
    norm = bare_norm("instance", dims)
    assert type(norm) is getattr(nn, f"InstanceNorm{dims}d")
    assert not norm.affine and not norm.track_running_stats
    assert list(norm.state_dict()) == []
    assert skipgen.lower_spec(spec({"type": "norm", "norm": "instance", "act": "none"})).params == 0
    # Without running statistics, training and evaluation both use the sample's own.
    x = torch.randn(SHAPES[dims])
    reduce = tuple(range(2, x.dim()))
    mean, var = x.mean(reduce, keepdim=True), x.var(reduce, unbiased=False, keepdim=True)
    expected = (x - mean) / torch.sqrt(var + 1e-5)
    assert torch.allclose(norm.train()(x), expected, atol=1e-5)
    assert torch.allclose(norm.eval()(x), expected, atol=1e-5)


def test_affine_adds_a_scale_and_a_shift_to_any_norm_and_removes_them() -> None:
    instance = bare_norm({"type": "instance", "affine": True})
    assert isinstance(instance, nn.InstanceNorm2d) and instance.affine
    assert [k for k, _ in instance.named_parameters()] == ["weight", "bias"]
    batch = bare_norm({"type": "batch", "affine": False})
    assert isinstance(batch, nn.BatchNorm2d) and not batch.affine
    assert list(batch.state_dict()) == ["running_mean", "running_var", "num_batches_tracked"]
    group = bare_norm({"type": "group", "groups": 2, "affine": False})
    assert isinstance(group, nn.GroupNorm) and not group.affine
    layer = bare_norm({"type": "layer", "affine": False})
    assert isinstance(layer, LayerNormNd) and list(layer.parameters()) == []


def test_every_block_counts_and_builds_the_norms_it_holds(tmp_path: Path) -> None:
    data = spec(
        {"type": "conv", "channels": 8, "norm": {"type": "instance", "affine": True}},
        {"type": "basic", "channels": 8, "norm": {"type": "layer", "eps": 1e-6}},
        {"type": "basic", "channels": 16, "stride": 2, "norm": {"type": "batch", "affine": False}},
        {"type": "bottleneck", "channels": 16, "norm": "instance"},
        {"type": "inverted_residual", "channels": 16, "norm": "layer"},
        {
            "type": "dense",
            "layers": 2,
            "growth": 4,
            "norm": {"type": "group", "groups": 2, "affine": False},
        },
        {"type": "transition", "norm": "layer"},
        {"type": "norm", "norm": "instance", "act": "none"},
        {"type": "upsample", "channels": 6, "norm": "layer", "act": "relu"},
    )
    graph = skipgen.lower_spec(data)
    source = skipgen.generate_source(data)
    assert "norm_layer=partial(nn.InstanceNorm2d, affine=True)" in source
    assert "norm_layer=partial(LayerNormNd, eps=1e-06)" in source
    assert "norm_layer=partial(nn.BatchNorm2d, affine=False)" in source
    assert_equivalent(graph, load_module(source, tmp_path).Net, (2, 6, 8, 8))


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_channel_layer_norm_is_layer_norm_over_the_channels_at_each_position(dims: int) -> None:
    norm = bare_norm({"type": "layer", "eps": 1e-6}, dims)
    assert isinstance(norm, LayerNormNd)
    assert [k for k, _ in norm.named_parameters()] == ["weight", "bias"]  # ConvNeXt's keys
    reference = nn.LayerNorm(6, eps=1e-6)
    with torch.no_grad():
        for weight in (reference.weight, norm.weight):
            weight.copy_(torch.linspace(0.5, 1.5, 6))
        for bias in (reference.bias, norm.bias):
            bias.copy_(torch.linspace(-1, 1, 6))
    x = torch.randn(SHAPES[dims])
    channels_last = x.movedim(1, -1)
    assert torch.allclose(norm(x), reference(channels_last).movedim(-1, 1), atol=1e-6)
    # Per position: each (sample, position) across the channels has mean 0 and variance 1.
    plain = bare_norm("layer", dims)(x)
    assert torch.allclose(plain.mean(1), torch.zeros(()), atol=1e-5)
    assert torch.allclose(plain.var(1, unbiased=False), torch.ones(()), atol=1e-3)


def test_a_layer_norm_needs_no_more_than_one_position() -> None:
    data = spec({"type": "global_pool"}, {"type": "norm", "norm": "layer"})
    assert skipgen.lower_spec(data).out_size == (1, 1)


@pytest.mark.parametrize(
    ("norm", "message"),
    [
        (
            {"type": "instance", "momentum": 0.2},
            "layers[0].norm.momentum: momentum applies only to batch norm: instance norm "
            "normalizes by each sample's own statistics, in training and in evaluation, and "
            "keeps no running statistics",
        ),
        (
            {"type": "layer", "momentum": 0.2},
            "layers[0].norm.momentum: momentum applies only to batch norm: layer norm keeps "
            "no running statistics",
        ),
        (
            {"type": "none", "affine": True},
            "layers[0].norm.affine: a norm of type none has no affine parameters",
        ),
    ],
)
def test_a_norms_options_belong_to_it(norm: dict[str, Any], message: str) -> None:
    assert messages(spec({"type": "conv", "channels": 8, "norm": norm})) == [message]
