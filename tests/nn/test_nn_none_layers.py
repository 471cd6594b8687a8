"""No norm (``norm_layer=nn.Identity``) and an activation set to "none" are
``nn.Identity`` modules (no ``None`` attributes, no guards in ``forward``), left out of the
``nn.Sequential`` blocks so their children keep torchvision's numbering; the classifier's
``forward`` has ``nn.Linear.forward``'s signature."""

import inspect

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from skipgen.nn import (
    BasicBlock,
    Bottleneck,
    Classifier,
    ConvNormAct,
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

NONE = {"norm_layer": nn.Identity, "act": "none"}


def test_sequential_blocks_leave_out_what_is_none():
    assert list(ConvNormAct(4, 8, **NONE).state_dict()) == ["0.weight", "0.bias"]
    assert list(NormActConv(4, 8, norm_layer=nn.Identity).state_dict()) == [
        "1.weight",
        "1.bias",
    ]
    assert len(NormAct(4, **NONE)) == 0
    assert [type(m) for m in NormAct(4, act="none")] == [nn.BatchNorm2d]
    children = [name for name, _ in Transition(8, 4, **NONE).named_children()]
    assert children == ["conv", "pool"]
    assert [type(m) for m in UpConv(8, 4, norm_layer=nn.BatchNorm2d)] == [
        nn.ConvTranspose2d,
        nn.BatchNorm2d,
    ]
    expanded = InvertedResidual(4, 4, hidden_channels=8, norm_layer=nn.Identity)
    assert [type(m) for m in expanded.conv] == [ConvNormAct, ConvNormAct, nn.Conv2d]


@pytest.mark.parametrize(
    "block",
    [
        lambda: BasicBlock(4, 4, **NONE),
        lambda: PreActBasicBlock(4, 4, **NONE),
        lambda: Bottleneck(4, 4, width=2, **NONE),
        lambda: PreActBottleneck(4, 4, width=2, **NONE),
        lambda: DenseLayer(4, 2, **NONE),
        lambda: SqueezeExcitation(4, 2, act="none"),
    ],
)
def test_absent_layers_are_identities(block):
    module = block()
    public = {name: value for name, value in vars(module).items() if name[0] != "_"}
    assert [name for name, value in public.items() if value is None] in ([], ["downsample"])
    identities = [name for name, m in module.named_children() if isinstance(m, nn.Identity)]
    assert identities
    # a bottleneck without squeeze-and-excitation holds an identity `se` too
    assert all(name.startswith(("bn", "norm", "relu", "activation", "se")) for name in identities)
    x = torch.randn(2, 4, 5, 5)
    before = x.clone()
    module(x)
    assert torch.equal(x, before)  # an identity never lets an in-place activation through


def test_a_block_without_projection_has_no_downsample_module():
    assert BasicBlock(4, 4).downsample is None
    assert Shortcut(nn.Identity(), 4, 4).downsample is None
    assert isinstance(BasicBlock(4, 8, downsample=True).downsample, nn.Sequential)


def test_classifier_forward_is_linear_forward():
    assert inspect.signature(Classifier.forward) == inspect.signature(nn.Linear.forward)
    head = Classifier(8, 3, pool="none")
    x = torch.randn(2, 8)
    assert torch.equal(head(input=x), F.linear(x, head.weight, head.bias))
    pooled = Classifier(8, 3)
    y = torch.randn(2, 8, 4, 4)
    assert torch.allclose(pooled(y), F.linear(y.mean((2, 3)), pooled.weight, pooled.bias))
