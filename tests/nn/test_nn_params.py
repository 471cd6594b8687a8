"""Parameter counts against closed-form formulas written out by hand."""

from functools import partial

import pytest
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


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# Norms with an affine weight and bias: batch, group (4 groups) and instance.
NORMS = {
    "batch": nn.BatchNorm2d,
    "group": partial(nn.GroupNorm, 4),
    "instance": partial(nn.InstanceNorm2d, affine=True),
}


@pytest.mark.parametrize("norm", NORMS)
def test_conv_norm_act(norm):
    norm_layer = NORMS[norm]
    assert count(ConvNormAct(8, 16, norm_layer=norm_layer)) == 3 * 3 * 8 * 16 + 2 * 16


def test_conv_norm_act_variants():
    assert count(ConvNormAct(8, 16, 3, 2, groups=4)) == 3 * 3 * (8 // 4) * 16 + 2 * 16
    assert count(ConvNormAct(8, 16, norm_layer=nn.Identity)) == 3 * 3 * 8 * 16 + 16
    assert count(ConvNormAct(8, 16, bias=True)) == 3 * 3 * 8 * 16 + 16 + 2 * 16
    assert count(NormActConv(8, 16)) == 2 * 8 + 3 * 3 * 8 * 16
    assert count(NormActConv(8, 16, norm_layer=nn.Identity)) == 3 * 3 * 8 * 16 + 16
    assert count(ConvNormAct(8, 16, 5, dims=1)) == 5 * 8 * 16 + 2 * 16
    assert count(ConvNormAct(8, 16, 1, dims=3, act="gelu")) == 8 * 16 + 2 * 16
    assert count(ConvNormAct(8, 8, 3, groups=8, dims=3)) == 27 * 8 + 2 * 8


def test_norm_act():
    assert count(NormAct(8)) == 2 * 8
    assert count(NormAct(8, norm_layer=partial(nn.GroupNorm, 2), act="silu")) == 2 * 8
    assert count(NormAct(8, norm_layer=nn.Identity)) == 0


@pytest.mark.parametrize("norm", NORMS)
def test_basic_block(norm):
    norm_layer = NORMS[norm]
    block = BasicBlock(8, 16, 2, downsample=True, norm_layer=norm_layer)
    expected = 3 * 3 * 8 * 16 + 2 * 16 + 3 * 3 * 16 * 16 + 2 * 16 + 8 * 16 + 2 * 16
    assert count(block) == expected


def test_basic_block_variants():
    assert count(BasicBlock(16, 16)) == 2 * (3 * 3 * 16 * 16 + 2 * 16)
    grouped = 3 * 3 * (16 // 4) * 16 + 2 * 16 + 3 * 3 * 16 * 16 + 2 * 16
    assert count(BasicBlock(16, 16, groups=4)) == grouped
    # Pre-activation: norms over the conv inputs, bias-free projection without norm.
    preact = 2 * 8 + 3 * 3 * 8 * 16 + 2 * 16 + 3 * 3 * 16 * 16 + 8 * 16
    assert count(PreActBasicBlock(8, 16, 2, downsample=True)) == preact
    no_norm = 3 * 3 * 8 * 16 + 16 + 3 * 3 * 16 * 16 + 16 + 8 * 16 + 16
    assert count(BasicBlock(8, 16, 2, norm_layer=nn.Identity, downsample=True)) == no_norm
    # Concat projects the shortcut to in_channels.
    concat = 3 * 3 * 8 * 16 + 2 * 16 + 3 * 3 * 16 * 16 + 2 * 16 + 8 * 8 + 2 * 8
    assert count(BasicBlock(8, 16, 2, skip="concat", downsample=True)) == concat
    assert count(BasicBlock(8, 16, 2, skip="none")) == 3 * 3 * 8 * 16 + 3 * 3 * 16 * 16 + 4 * 16
    assert count(BasicBlock(4, 4, dims=3)) == 2 * (27 * 4 * 4 + 2 * 4)


@pytest.mark.parametrize("norm", NORMS)
def test_bottleneck(norm):
    norm_layer = NORMS[norm]
    block = Bottleneck(8, 16, 2, width=4, downsample=True, norm_layer=norm_layer)
    expected = 8 * 4 + 2 * 4 + 3 * 3 * 4 * 4 + 2 * 4 + 4 * 16 + 2 * 16 + 8 * 16 + 2 * 16
    assert count(block) == expected


def test_bottleneck_variants():
    grouped = 16 * 8 + 2 * 8 + 3 * 3 * (8 // 2) * 8 + 2 * 8 + 8 * 16 + 2 * 16
    assert count(Bottleneck(16, 16, width=8, groups=2)) == grouped
    preact = 2 * 8 + 8 * 4 + 2 * 4 + 3 * 3 * 4 * 4 + 2 * 4 + 4 * 16 + 8 * 16
    assert count(PreActBottleneck(8, 16, 2, width=4, downsample=True)) == preact
    no_norm = 8 * 4 + 4 + 3 * 3 * 4 * 4 + 4 + 4 * 8 + 8
    assert count(Bottleneck(8, 8, width=4, norm_layer=nn.Identity)) == no_norm
    concat = 8 * 4 + 2 * 4 + 3 * 3 * 4 * 4 + 2 * 4 + 4 * 16 + 2 * 16 + 8 * 8 + 2 * 8
    assert count(Bottleneck(8, 16, 2, width=4, skip="concat", downsample=True)) == concat
    assert count(Bottleneck(8, 8, width=4, dims=1)) == 8 * 4 + 8 + 3 * 4 * 4 + 8 + 4 * 8 + 16


def test_squeeze_excitation():
    assert count(SqueezeExcitation(16, 4)) == 16 * 4 + 4 + 4 * 16 + 16
    assert count(SqueezeExcitation(16, 4, act="relu", dims=3)) == 16 * 4 + 4 + 4 * 16 + 16


@pytest.mark.parametrize("norm", NORMS)
def test_inverted_residual(norm):
    norm_layer = NORMS[norm]
    block = InvertedResidual(8, 8, hidden_channels=48, norm_layer=norm_layer)
    expected = 8 * 48 + 2 * 48 + 3 * 3 * 48 + 2 * 48 + 48 * 8 + 2 * 8
    assert count(block) == expected


def test_inverted_residual_variants():
    # No expansion when hidden_channels == in_channels (MobileNetV2's t=1 block).
    no_expand = 3 * 3 * 8 + 2 * 8 + 8 * 16 + 2 * 16
    assert count(InvertedResidual(8, 16, 2, hidden_channels=8, skip="none")) == no_expand
    # EfficientNet MBConv: 5x5 depthwise and squeeze-and-excitation with biases.
    se = 32 * 2 + 2 + 2 * 32 + 32
    mbconv = 8 * 32 + 2 * 32 + 5 * 5 * 32 + 2 * 32 + se + 32 * 8 + 2 * 8
    block = InvertedResidual(8, 8, hidden_channels=32, kernel_size=5, se_channels=2, act="silu")
    assert count(block) == mbconv
    no_norm = 8 * 32 + 32 + 3 * 3 * 32 + 32 + 32 * 8 + 8
    assert count(InvertedResidual(8, 8, hidden_channels=32, norm_layer=nn.Identity)) == no_norm
    projected = 8 * 32 + 2 * 32 + 3 * 3 * 32 + 2 * 32 + 32 * 16 + 2 * 16 + 8 * 16 + 2 * 16
    assert count(InvertedResidual(8, 16, 2, hidden_channels=32, downsample=True)) == projected
    assert count(InvertedResidual(4, 4, hidden_channels=8, dims=1)) == (
        4 * 8 + 2 * 8 + 3 * 8 + 2 * 8 + 8 * 4 + 2 * 4
    )


def dense_layer_params(in_channels: int, growth: int, bn_size: int = 4) -> int:
    mid = bn_size * growth
    return 2 * in_channels + in_channels * mid + 2 * mid + 3 * 3 * mid * growth


def test_dense_layer_and_block():
    assert count(DenseLayer(8, 4)) == 2 * 8 + 8 * 16 + 2 * 16 + 3 * 3 * 16 * 4
    assert count(DenseLayer(8, 4, bn_size=2, drop_rate=0.2)) == dense_layer_params(8, 4, 2)
    no_norm = 8 * 16 + 16 + 3 * 3 * 16 * 4 + 4
    assert count(DenseLayer(8, 4, norm_layer=nn.Identity)) == no_norm
    expected = sum(dense_layer_params(8 + i * 4, 4) for i in range(3))
    assert count(DenseBlock(8, 3, 4)) == expected
    assert count(DenseBlock(8, 2, 4, norm_layer=partial(nn.GroupNorm, 4))) == sum(
        dense_layer_params(8 + i * 4, 4) for i in range(2)
    )


def test_transition():
    assert count(Transition(16, 8)) == 2 * 16 + 16 * 8
    assert (
        count(Transition(16, 8, pool="max", norm_layer=partial(nn.InstanceNorm2d, affine=True)))
        == 2 * 16 + 16 * 8
    )
    assert count(Transition(16, 8, norm_layer=nn.Identity, dims=3)) == 16 * 8 + 8


def test_up_conv():
    assert count(UpConv(8, 4)) == 2 * 2 * 8 * 4 + 4
    assert count(UpConv(8, 4, dims=3)) == 2 * 2 * 2 * 8 * 4 + 4
    assert count(UpConv(8, 4, kernel_size=4)) == 4 * 4 * 8 * 4 + 4
    assert count(UpConv(8, 4, 4, dims=1)) == 4 * 8 * 4 + 4
    assert count(UpConv(8, 4, norm_layer=nn.BatchNorm2d, act="relu")) == 2 * 2 * 8 * 4 + 2 * 4
    assert count(UpConv(8, 4, mode="bilinear", norm_layer=nn.BatchNorm2d)) == 3 * 3 * 8 * 4 + 2 * 4
    assert count(UpConv(8, 4, mode="nearest", kernel_size=1)) == 8 * 4 + 4


def test_shortcut():
    body = ConvNormAct(8, 16, 3, 2)
    block = Shortcut(body, 8, 16, 2, downsample=True)
    assert count(block) == 3 * 3 * 8 * 16 + 2 * 16 + 8 * 16 + 2 * 16
    concat = Shortcut(ConvNormAct(8, 16), 8, 16, skip="concat")
    assert count(concat) == 3 * 3 * 8 * 16 + 2 * 16
    no_norm = Shortcut(
        ConvNormAct(8, 16, norm_layer=nn.Identity), 8, 16, norm_layer=nn.Identity, downsample=True
    )
    assert count(no_norm) == 3 * 3 * 8 * 16 + 16 + 8 * 16 + 16


def test_classifier():
    assert count(Classifier(16, 10)) == 16 * 10 + 10
    assert count(Classifier(16, 10, dropout=0.5, pool="max", dims=3)) == 16 * 10 + 10
