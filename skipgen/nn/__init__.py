"""Plain PyTorch building blocks instantiated by the runtime builder.

Every class and helper here depends only on ``torch``, the standard library and the
other names in this package, so its source can be copied into standalone modules.
"""

from .conv import ConvNormAct, NormAct, Shortcut
from .densenet import DenseBlock, DenseLayer, Transition
from .head import Classifier
from .layers import (
    act_layer,
    check_skip,
    combine,
    conv_nd,
    conv_transpose_nd,
    drop_path,
    global_pool,
    norm_layer,
    pool_layer,
    projection,
    same_padding,
)
from .mobilenet import InvertedResidual, SqueezeExcitation
from .resnet import BasicBlock, Bottleneck
from .upsample import UpConv

REGISTRY: dict[str, object] = {
    # blocks
    "ConvNormAct": ConvNormAct,
    "NormAct": NormAct,
    "Shortcut": Shortcut,
    "BasicBlock": BasicBlock,
    "Bottleneck": Bottleneck,
    "SqueezeExcitation": SqueezeExcitation,
    "InvertedResidual": InvertedResidual,
    "DenseLayer": DenseLayer,
    "DenseBlock": DenseBlock,
    "Transition": Transition,
    "UpConv": UpConv,
    "Classifier": Classifier,
    # helpers
    "conv_nd": conv_nd,
    "conv_transpose_nd": conv_transpose_nd,
    "norm_layer": norm_layer,
    "act_layer": act_layer,
    "pool_layer": pool_layer,
    "global_pool": global_pool,
    "same_padding": same_padding,
    "projection": projection,
    "check_skip": check_skip,
    "combine": combine,
    "drop_path": drop_path,
}

__all__ = [
    "REGISTRY",
    "BasicBlock",
    "Bottleneck",
    "Classifier",
    "ConvNormAct",
    "DenseBlock",
    "DenseLayer",
    "InvertedResidual",
    "NormAct",
    "Shortcut",
    "SqueezeExcitation",
    "Transition",
    "UpConv",
    "act_layer",
    "check_skip",
    "combine",
    "conv_nd",
    "conv_transpose_nd",
    "drop_path",
    "global_pool",
    "norm_layer",
    "pool_layer",
    "projection",
    "same_padding",
]
