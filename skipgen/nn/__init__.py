"""Plain PyTorch building blocks instantiated by the runtime builder.

Every class and helper here depends only on ``torch``, the standard library and the
other names in this package, so its source can be copied into standalone modules.
"""

from .channels import ChannelSlice
from .channels_last import ConstantScale, Permute, StochasticDepth, scale_parameter
from .checkpoint import Recompute, checkpointed, keep_convolutions
from .conv import ConvNormAct, NormAct, NormActConv, Shortcut
from .densenet import DenseBlock, DenseLayer, MemoryEfficientDenseBlock, Transition
from .fuse import (
    chain_layers,
    channels_last_on_cpu,
    fuse_conv_bn,
    fuse_conv_norms,
    fuse_for_inference,
    layout_for_inference,
    paired_norms,
)
from .head import Classifier, MLPClassifier
from .layers import (
    ActLayer,
    LayerNormNd,
    act_layer,
    avg_pool_nd,
    check_skip,
    combine,
    conv_nd,
    conv_transpose_nd,
    drop_path,
    global_pool,
    pool_layer,
    projection,
    same_padding,
)
from .merge import Add, Concat, Mul
from .mobilenet import (
    InvertedResidual,
    MBConv,
    SqueezeExcitation,
    expand_depthwise_se,
    fused_conv,
)
from .regnet import ResBottleneckBlock
from .resnet import BasicBlock, Bottleneck, PreActBasicBlock, PreActBottleneck
from .shuffle import ChannelShuffle
from .upsample import Interpolate, UpConv

__all__ = [
    "REGISTRY",
    "ActLayer",
    "Add",
    "BasicBlock",
    "Bottleneck",
    "ChannelShuffle",
    "ChannelSlice",
    "Classifier",
    "Concat",
    "ConstantScale",
    "ConvNormAct",
    "DenseBlock",
    "DenseLayer",
    "Interpolate",
    "InvertedResidual",
    "LayerNormNd",
    "MBConv",
    "MLPClassifier",
    "MemoryEfficientDenseBlock",
    "Mul",
    "NormAct",
    "NormActConv",
    "Permute",
    "PreActBasicBlock",
    "PreActBottleneck",
    "Recompute",
    "ResBottleneckBlock",
    "Shortcut",
    "SqueezeExcitation",
    "StochasticDepth",
    "Transition",
    "UpConv",
    "act_layer",
    "avg_pool_nd",
    "chain_layers",
    "channels_last_on_cpu",
    "check_skip",
    "checkpointed",
    "combine",
    "conv_nd",
    "conv_transpose_nd",
    "drop_path",
    "expand_depthwise_se",
    "fuse_conv_bn",
    "fuse_conv_norms",
    "fuse_for_inference",
    "fused_conv",
    "global_pool",
    "keep_convolutions",
    "layout_for_inference",
    "paired_norms",
    "pool_layer",
    "projection",
    "same_padding",
    "scale_parameter",
]

# Every public block and helper, by name (the runtime backend finds them through the kinds).
REGISTRY: dict[str, object] = {name: globals()[name] for name in __all__ if name != "REGISTRY"}
