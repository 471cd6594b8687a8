"""Folding batch norms into convolutions: each layer kind against the unfolded pair, and
which pairs a network offers (blocks' declared pairs, plain chains, nothing else)."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from skipgen.nn import BasicBlock, DenseLayer, PreActBottleneck
from skipgen.nn.fuse import channels_last_on_cpu, fuse_conv_bn, fuse_conv_norms, fuse_for_inference
from tests.backends.helpers import trained


def reference(conv: nn.Module, norm: nn.Module, x: Tensor) -> Tensor:
    """``norm(conv(x))`` written out from the definition, in float64."""
    y = conv.double()(x.double())
    shape = (1, -1) + (1,) * (y.dim() - 2)
    mean, var = norm.running_mean.double().view(shape), norm.running_var.double().view(shape)
    out = (y - mean) / torch.sqrt(var + norm.eps)
    if norm.affine:
        out = out * norm.weight.double().view(shape) + norm.bias.double().view(shape)
    conv.float()
    return out


CASES = [
    ("conv1d", lambda: nn.Conv1d(4, 6, 3), nn.BatchNorm1d(6), (2, 4, 9)),
    (
        "conv2d grouped",
        lambda: nn.Conv2d(4, 6, 3, groups=2, bias=False),
        nn.BatchNorm2d(6),
        (2, 4, 7, 7),
    ),
    (
        "depthwise",
        lambda: nn.Conv2d(6, 6, 3, groups=6, bias=False),
        nn.BatchNorm2d(6),
        (2, 6, 7, 7),
    ),
    ("conv3d", lambda: nn.Conv3d(3, 5, 3, bias=False), nn.BatchNorm3d(5), (2, 3, 5, 5, 5)),
    (
        "transposed grouped",
        lambda: nn.ConvTranspose2d(4, 6, 3, stride=2, groups=2),
        nn.BatchNorm2d(6),
        (2, 4, 5, 5),
    ),
    (
        "transposed 3d",
        lambda: nn.ConvTranspose3d(4, 3, 2, stride=2, bias=False),
        nn.BatchNorm3d(3),
        (2, 4, 3, 3, 3),
    ),
    ("no affine", lambda: nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4, affine=False), (2, 3, 5, 5)),
]


@pytest.mark.parametrize(
    ("conv", "norm", "shape"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_fold_equals_conv_then_norm(conv, norm, shape) -> None:
    torch.manual_seed(0)
    conv, norm = conv(), trained(norm)
    x = torch.randn(shape)
    expected = reference(conv, norm, x)
    fuse_conv_bn(conv, norm)
    assert conv.bias is not None
    with torch.no_grad():
        actual = conv(x)
    scale = expected.abs().max()
    assert torch.allclose(actual.double() / scale, expected / scale, atol=1e-6)


def test_fold_keeps_the_weight_in_place_and_in_its_memory_format() -> None:
    conv = nn.Conv2d(8, 16, 3, bias=False).to(memory_format=torch.channels_last)
    weight = conv.weight
    fuse_conv_bn(conv, trained(nn.BatchNorm2d(16)))
    assert conv.weight is weight
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert not conv.weight.is_contiguous()


def test_a_chain_folds_and_the_norm_becomes_identity() -> None:
    torch.manual_seed(0)
    net = trained(nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU()))
    x = torch.randn(2, 3, 8, 8)
    expected = net(x)
    assert fuse_conv_norms(net) == 1
    assert isinstance(net[1], nn.Identity)
    assert torch.allclose(net(x), expected, atol=1e-5)
    assert fuse_conv_norms(net) == 0  # nothing left: idempotent


def test_nested_chains_pair_across_their_boundaries() -> None:
    # DenseNet-like: the conv ending one chain feeds the norm starting the next.
    net = trained(
        nn.Sequential(
            nn.Sequential(nn.BatchNorm2d(3), nn.ReLU(), nn.Conv2d(3, 8, 1)),
            nn.Sequential(nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 4, 3)),
        )
    )
    x = torch.randn(2, 3, 8, 8)
    expected = net(x)
    assert fuse_conv_norms(net) == 1
    assert isinstance(net[1][0], nn.Identity)
    assert isinstance(net[0][0], nn.BatchNorm2d)  # nothing feeds it but the input
    assert torch.allclose(net(x), expected, atol=1e-5)


class Parallel(nn.Sequential):
    """A Sequential whose forward is not a chain: its children see the same input."""

    def forward(self, x: Tensor) -> Tensor:  # type: ignore[override]
        return torch.cat([m(x) for m in self], dim=1)


class Undeclared(nn.Module):
    """A block without conv_norm_pairs: its norm follows a residual add, not the conv."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)

    def forward(self, x: Tensor) -> Tensor:
        return self.bn(self.conv(x) + x)


def test_only_declared_pairs_and_plain_chains_fold() -> None:
    net = trained(nn.Sequential(Parallel(nn.Conv2d(4, 4, 1), nn.BatchNorm2d(4)), Undeclared()))
    x = torch.randn(2, 4, 6, 6)
    expected = net(x)
    assert fuse_conv_norms(net) == 0
    assert torch.equal(net(x), expected)


@pytest.mark.parametrize(
    ("block", "left"),
    [
        (lambda: BasicBlock(8, 16, stride=2, downsample=True), 0),
        (lambda: PreActBottleneck(16, 16, width=4), 1),  # bn1 sees the block's input
        (lambda: DenseLayer(8, 4), 1),  # norm1 sees the concatenation
    ],
    ids=["basic", "preact_bottleneck", "dense_layer"],
)
def test_blocks_fold_their_declared_pairs(block, left: int) -> None:
    torch.manual_seed(0)
    net = trained(block())
    channels = next(m for m in net.modules() if isinstance(m, nn.Conv2d)).in_channels
    x = torch.randn(2, channels, 8, 8)
    expected = net(x)
    fuse_conv_norms(net)
    norms = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(norms) == left
    assert torch.allclose(net(x), expected, atol=1e-5)


def test_training_mode_is_refused_untouched() -> None:
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    with pytest.raises(RuntimeError, match=r"call model\.eval\(\) first"):
        fuse_for_inference(net)
    net.eval()
    net[1].train()  # one submodule still training is enough to refuse
    with pytest.raises(RuntimeError, match=r"eval\(\)"):
        fuse_for_inference(net)
    assert isinstance(net[1], nn.BatchNorm2d)


def test_channels_last_on_cpu_only_for_2d_convolutions() -> None:
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Conv1d(4, 4, 3), nn.Linear(4, 4))
    channels_last_on_cpu(net)
    assert net[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert not net[0].weight.is_contiguous()
    assert net[1].weight.is_contiguous() and net[2].weight.is_contiguous()
