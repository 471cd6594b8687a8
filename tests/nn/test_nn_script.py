"""Every block compiles with TorchScript and matches eager execution."""

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
    MemoryEfficientDenseBlock,
    NormAct,
    NormActConv,
    PreActBasicBlock,
    PreActBottleneck,
    ResBottleneckBlock,
    Shortcut,
    SqueezeExcitation,
    Transition,
    UpConv,
)

pytestmark = pytest.mark.filterwarnings(
    "ignore:`torch.jit.script` is deprecated:DeprecationWarning"
)

BLOCKS = {
    "ConvNormAct": lambda: ConvNormAct(4, 8, 3, 2),
    "NormActConv": lambda: NormActConv(4, 8, norm_layer=nn.Identity),
    "NormAct": lambda: NormAct(4, act="silu"),
    "BasicBlock": lambda: BasicBlock(4, 8, 2, downsample=True, drop_path=0.1),
    "PreActBasicBlock": lambda: PreActBasicBlock(4, 4, norm_layer=nn.Identity),
    "BasicBlock-concat": lambda: BasicBlock(4, 8, skip="concat", act="none"),
    "Bottleneck": lambda: Bottleneck(4, 8, 2, width=2, downsample=True),
    "PreActBottleneck": lambda: PreActBottleneck(4, 8, 2, width=2, downsample=True),
    "Bottleneck-se": lambda: Bottleneck(4, 8, width=4, groups=2, se_channels=1, downsample=True),
    "ResBottleneckBlock": lambda: ResBottleneckBlock(
        4, 8, 2, width=4, groups=2, se_channels=1, downsample=True
    ),
    "ResBottleneckBlock-identity": lambda: ResBottleneckBlock(4, 4, width=2),
    "SqueezeExcitation": lambda: SqueezeExcitation(4, 2),
    "InvertedResidual": lambda: InvertedResidual(4, 4, hidden_channels=8, se_channels=2),
    "InvertedResidual-plain": lambda: InvertedResidual(4, 8, 2, hidden_channels=4, skip="none"),
    "DenseLayer": lambda: DenseLayer(4, 2, drop_rate=0.1),
    "DenseBlock": lambda: DenseBlock(4, 2, 2),
    "MemoryEfficientDenseBlock": lambda: MemoryEfficientDenseBlock(4, 2, 2),
    "Transition": lambda: Transition(4, 2),
    "UpConv": lambda: UpConv(4, 2),
    "UpConv-bilinear": lambda: UpConv(4, 2, mode="bilinear", norm_layer=nn.BatchNorm2d, act="relu"),
    "Shortcut": lambda: Shortcut(ConvNormAct(4, 8, 3, 2), 4, 8, 2, downsample=True),
    "Classifier": lambda: Classifier(4, 3, dropout=0.2),
}


@pytest.mark.parametrize("name", list(BLOCKS))
def test_script_matches_eager(name):
    module = BLOCKS[name]().eval()
    scripted = torch.jit.script(module)
    x = torch.randn(2, 4, 6, 6)
    torch.testing.assert_close(scripted(x), module(x))
