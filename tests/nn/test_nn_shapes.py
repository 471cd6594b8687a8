"""Forward output shapes in 1D, 2D and 3D."""

from functools import partial

import pytest
import torch
from torch import nn

from skipgen.nn import (
    BasicBlock,
    Bottleneck,
    Classifier,
    ConvNormAct,
    DenseBlock,
    DenseLayer,
    InvertedResidual,
    NormAct,
    NormActConv,
    PreActBasicBlock,
    PreActBottleneck,
    Shortcut,
    SqueezeExcitation,
    Transition,
    UpConv,
)

SIZE = 8
BATCH_NORMS = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d, 3: nn.BatchNorm3d}
INSTANCE_NORMS = {1: nn.InstanceNorm1d, 2: nn.InstanceNorm2d, 3: nn.InstanceNorm3d}


def nd(dims: int) -> dict:
    """The keyword arguments of a block in ``dims`` dimensions with batch norm."""
    return {"dims": dims, "norm_layer": BATCH_NORMS[dims]}


def run(module, channels: int, dims: int) -> tuple[int, ...]:
    x = torch.randn(2, channels, *([SIZE] * dims))
    module.eval()
    with torch.no_grad():
        return tuple(module(x).shape)


def spatial(dims: int, size: int) -> tuple[int, ...]:
    return (size,) * dims


@pytest.fixture(params=[1, 2, 3], ids=["1d", "2d", "3d"])
def dims(request):
    return request.param


def test_conv_norm_act(dims):
    assert run(ConvNormAct(4, 8, **nd(dims)), 4, dims) == (2, 8, *spatial(dims, 8))
    group = partial(nn.GroupNorm, 4)
    block = ConvNormAct(4, 8, 3, 2, dims=dims, norm_layer=group, act="gelu")
    assert run(block, 4, dims) == (2, 8, *spatial(dims, 4))
    instance = partial(INSTANCE_NORMS[dims], affine=True)
    block = NormActConv(4, 8, 3, dilation=2, dims=dims, norm_layer=instance)
    assert run(block, 4, dims) == (2, 8, *spatial(dims, 8))


def test_norm_act(dims):
    assert run(NormAct(4, **nd(dims), act="leaky_relu"), 4, dims) == (2, 4, *spatial(dims, 8))


@pytest.mark.parametrize("cls", [BasicBlock, PreActBasicBlock])
def test_basic_block(dims, cls):
    def block(*args, **kwargs):
        return cls(*args, **{**nd(dims), **kwargs})

    assert run(block(4, 4), 4, dims) == (2, 4, *spatial(dims, 8))
    assert run(block(4, 8, 2, downsample=True), 4, dims) == (2, 8, *spatial(dims, 4))
    concat = block(4, 8, 2, skip="concat", downsample=True)
    assert run(concat, 4, dims) == (2, 12, *spatial(dims, 4))
    assert run(block(4, 8, skip="concat"), 4, dims) == (2, 12, *spatial(dims, 8))
    assert run(block(4, 8, 2, skip="none"), 4, dims) == (2, 8, *spatial(dims, 4))
    dilated = block(4, 4, dilation=2, groups=2, norm_layer=nn.Identity)
    assert run(dilated, 4, dims) == (2, 4, *spatial(dims, 8))


@pytest.mark.parametrize("cls", [Bottleneck, PreActBottleneck])
def test_bottleneck(dims, cls):
    def block(*args, **kwargs):
        return cls(*args, width=4, **{**nd(dims), **kwargs})

    assert run(block(8, 8), 8, dims) == (2, 8, *spatial(dims, 8))
    assert run(block(8, 16, 2, downsample=True), 8, dims) == (2, 16, *spatial(dims, 4))
    concat = block(8, 16, 2, skip="concat", downsample=True)
    assert run(concat, 8, dims) == (2, 24, *spatial(dims, 4))
    grouped = block(8, 8, groups=2, dilation=2, norm_layer=partial(nn.GroupNorm, 2))
    assert run(grouped, 8, dims) == (2, 8, *spatial(dims, 8))


def test_squeeze_excitation(dims):
    assert run(SqueezeExcitation(8, 2, dims=dims), 8, dims) == (2, 8, *spatial(dims, 8))


def test_inverted_residual(dims):
    def block(*args, **kwargs):
        return InvertedResidual(*args, **nd(dims), **kwargs)

    assert run(block(4, 4, hidden_channels=16), 4, dims) == (2, 4, *spatial(dims, 8))
    strided = block(4, 8, 2, hidden_channels=4, skip="none")
    assert run(strided, 4, dims) == (2, 8, *spatial(dims, 4))
    mbconv = block(4, 4, hidden_channels=16, kernel_size=5, se_channels=2, act="silu")
    assert run(mbconv, 4, dims) == (2, 4, *spatial(dims, 8))
    concat = block(4, 8, 2, hidden_channels=16, skip="concat", downsample=True)
    assert run(concat, 4, dims) == (2, 12, *spatial(dims, 4))


def test_dense(dims):
    assert run(DenseLayer(8, 4, **nd(dims)), 8, dims) == (2, 4, *spatial(dims, 8))
    dense = DenseBlock(8, 3, 4, **nd(dims))
    assert run(dense, 8, dims) == (2, 8 + 3 * 4, *spatial(dims, 8))
    assert run(Transition(8, 4, **nd(dims)), 8, dims) == (2, 4, *spatial(dims, 4))
    transition = Transition(8, 4, pool="max", **nd(dims))
    assert run(transition, 8, dims) == (2, 4, *spatial(dims, 4))


@pytest.mark.parametrize(
    ("scale", "kwargs"),
    [
        (2, {}),
        (2, {"kernel_size": 3}),
        (2, {"kernel_size": 4, "norm_layer": "batch", "act": "relu"}),
        (3, {"kernel_size": 4}),
        (2, {"mode": "nearest"}),
        (2, {"mode": "bilinear", "norm_layer": partial(nn.GroupNorm, 2)}),
        (4, {"mode": "bilinear", "kernel_size": 1}),
    ],
)
def test_up_conv(dims, scale, kwargs):
    if kwargs.get("norm_layer") == "batch":
        kwargs = {**kwargs, "norm_layer": BATCH_NORMS[dims]}
    block = UpConv(8, 4, scale, dims=dims, **kwargs)
    assert run(block, 8, dims) == (2, 4, *spatial(dims, SIZE * scale))


def test_up_conv_rejects_inexact_kernels():
    with pytest.raises(ValueError, match="kernel_size=1"):
        UpConv(8, 4, 2, kernel_size=1)
    with pytest.raises(ValueError, match="kernel_size=2"):
        UpConv(8, 4, 1, kernel_size=2)
    with pytest.raises(ValueError, match="got 4"):
        UpConv(8, 4, mode="nearest", kernel_size=4)
    with pytest.raises(ValueError, match="'bicubic'"):
        UpConv(8, 4, mode="bicubic")


def test_shortcut(dims):
    body = ConvNormAct(4, 8, 3, 2, **nd(dims))
    block = Shortcut(body, 4, 8, 2, downsample=True, **nd(dims))
    assert run(block, 4, dims) == (2, 8, *spatial(dims, 4))
    body = ConvNormAct(4, 8, **nd(dims))
    assert run(Shortcut(body, 4, 8, skip="concat", **nd(dims)), 4, dims) == (
        2,
        12,
        *spatial(dims, 8),
    )


@pytest.mark.parametrize("pool", ["avg", "max"])
def test_classifier(dims, pool):
    assert run(Classifier(8, 5, dropout=0.5, pool=pool, dims=dims), 8, dims) == (2, 5)


def test_classifier_without_pool():
    head = Classifier(8, 5, pool="none").eval()
    assert head(torch.randn(3, 8)).shape == (3, 5)


def test_blocks_keep_their_input():
    """In-place activations never overwrite the caller's tensor."""
    blocks = [
        NormActConv(4, 4, norm_layer=nn.Identity),
        NormAct(4, norm_layer=nn.Identity),
        PreActBasicBlock(4, 4, norm_layer=nn.Identity),
        PreActBottleneck(4, 4, width=2, norm_layer=nn.Identity),
        DenseLayer(4, 2, norm_layer=nn.Identity),
        Transition(4, 2, norm_layer=nn.Identity),
    ]
    for block in blocks:
        x = torch.randn(2, 4, 6, 6)
        before = x.clone()
        block.train()(x)
        assert torch.equal(x, before), type(block).__name__


def test_skip_validation():
    with pytest.raises(ValueError, match="stride=2"):
        BasicBlock(4, 4, 2)
    with pytest.raises(ValueError, match="from 4 to 8"):
        Bottleneck(4, 8, width=2)
    with pytest.raises(ValueError, match="'mul'"):
        InvertedResidual(4, 4, hidden_channels=8, skip="mul")
    with pytest.raises(ValueError, match="skip='none'"):
        Shortcut(ConvNormAct(4, 4), 4, 4, skip="none", downsample=True)
    with pytest.raises(ValueError, match=r"got 1\.5"):
        Classifier(4, 2, dropout=1.5)
