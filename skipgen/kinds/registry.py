"""The built-in kinds, and every table derived from them.

Nothing here is typed per kind: each table is read off the kinds' own class attributes, so a
kind is stated once, in its module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Union

from pydantic import Field

from skipgen.kinds.act import Activation
from skipgen.kinds.base import Kind, Layer
from skipgen.kinds.basic import Basic
from skipgen.kinds.bottleneck import Bottleneck
from skipgen.kinds.channels import Chunk, Slice
from skipgen.kinds.classifier import Classifier
from skipgen.kinds.conv import Conv
from skipgen.kinds.dense import Dense
from skipgen.kinds.drop_path import DropPath
from skipgen.kinds.flatten import Flatten
from skipgen.kinds.global_pool import AdaptivePool, GlobalPool
from skipgen.kinds.identity import Dropout, Identity
from skipgen.kinds.inverted_residual import InvertedResidual
from skipgen.kinds.linear import Linear
from skipgen.kinds.macs import Formula
from skipgen.kinds.merge import Add, Concat, Mul
from skipgen.kinds.norm import NormAct
from skipgen.kinds.permute import Permute
from skipgen.kinds.pixel_shuffle import PixelShuffle, PixelUnshuffle
from skipgen.kinds.pool import AvgPool, MaxPool
from skipgen.kinds.scale import Scale
from skipgen.kinds.sequence import Sequence
from skipgen.kinds.shuffle import Shuffle
from skipgen.kinds.transition import Transition
from skipgen.kinds.upsample import Upsample

# In the order the language documents them (and the JSON Schema lists them).
BUILTIN_KINDS: tuple[type[Layer], ...] = (
    Conv,
    Basic,
    Bottleneck,
    InvertedResidual,
    Dense,
    Transition,
    MaxPool,
    AvgPool,
    GlobalPool,
    AdaptivePool,
    Upsample,
    PixelShuffle,
    PixelUnshuffle,
    NormAct,
    Activation,
    Dropout,
    Identity,
    Concat,
    Add,
    Mul,
    Classifier,
    Sequence,
    Shuffle,
    Chunk,
    Slice,
    Flatten,
    Permute,
    Linear,
    Scale,
    DropPath,
)

# The blocks the lowering builds around any kind: the shortcut of a skip and the
# projection of a long skip.
SKIP_BLOCKS = ("skipgen.nn.conv:Shortcut", "skipgen.nn.layers:projection")

# The norm layers of skipgen.nn that any kind's `norm` may choose (torch.nn has the others).
NORM_BLOCKS = ("skipgen.nn.layers:LayerNormNd",)


def type_tag(kind: type[Layer]) -> str:
    """The ``type`` value that selects ``kind`` in a spec."""
    return kind.model_fields["type"].annotation.__args__[0]  # type: ignore[union-attr]


KINDS: dict[str, type[Layer]] = {type_tag(kind): kind for kind in BUILTIN_KINDS}

# A layer of a spec: one of the kinds, chosen by its `type`; a sequence holds more of them.
if TYPE_CHECKING:
    Block = Kind | Sequence
else:
    Block = Annotated[Union[BUILTIN_KINDS], Field(discriminator="type")]  # noqa: UP007
    Sequence.model_rebuild(_types_namespace={"Block": Block})

# Attribute names of unnamed layers: a prefix and a counter (`layer1`, `pool2`).
ATTR_PREFIX: dict[str, str] = {tag: kind.attr_prefix for tag, kind in KINDS.items()}

# What each block a built-in kind calls costs, as its kind states it (kinds/macs.py).
BLOCK_MACS: dict[str, Formula] = {
    name: formula for kind in BUILTIN_KINDS for name, formula in kind.macs.items()
}

# The kinds with a residual branch, which a stochastic depth schedule counts.
RESIDUAL_KINDS = frozenset(tag for tag, kind in KINDS.items() if kind.residual)

# Every skipgen.nn block a lowered graph may call, by name: "module:Class".
NN_BLOCKS: dict[str, str] = {
    ref.partition(":")[2]: ref
    for ref in (
        *(ref for kind in BUILTIN_KINDS for ref in kind.blocks),
        *SKIP_BLOCKS,
        *NORM_BLOCKS,
    )
}
