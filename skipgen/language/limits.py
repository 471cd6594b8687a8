"""The largest count or size each key of a spec may give.

Every bound lies far beyond any published network, so that no real spec meets one; they
keep a typo such as ``channels: 640000`` or ``repeat: 1000000000000`` from turning into a
network that cannot be built, or a validation that never ends. The models in
:mod:`skipgen.language.models` read their maximums from this one table, and the JSON Schema
shows each as the key's ``maximum``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

MAX_CHANNELS = 65_536  # the widest published CNNs use a few thousand
MAX_SIZE = 1_048_576  # per spatial dimension: a minute of 16 kHz audio is 960,000 samples

# The most a key may say, by key name (the same in every block kind that has the key).
LIMITS: dict[str, int | float] = {
    "channels": MAX_CHANNELS,  # input channels and every block's output channels
    "groups": MAX_CHANNELS,  # conv groups and group norm groups
    "growth": MAX_CHANNELS,
    "base_width": MAX_CHANNELS,
    "inner_channels": MAX_CHANNELS,  # a bottleneck's 3x3 conv, given directly (RegNet)
    "group_width": MAX_CHANNELS,  # channels per group (RegNet)
    "classes": 1_000_000,
    "repeat": 1_000,
    "layers": 1_000,  # layers of one dense block
    "kernel": 128,
    "stride": 64,
    "dilation": 1_024,  # WaveNet's 1D dilations reach 512
    "padding": 1_024,
    "scale": 64,
    "expansion": 64,
    "bn_size": 64,
    "size": MAX_SIZE,
    "width": 16.0,  # scaling.width; EfficientNet-L2 uses 4.3
    "depth": 16.0,  # scaling.depth; EfficientNet-L2 uses 5.3
    "divisor": 1_024,
    "se_divisor": 1_024,  # squeeze-excitation width rounding; MobileNetV3 uses 8
    "hidden": MAX_CHANNELS,  # a classifier's hidden features
    "features": MAX_CHANNELS,  # a linear layer's output features
    "factor": 64,  # a pixel shuffle's
    "chunks": MAX_CHANNELS,  # equal parts of the channels
    "index": MAX_CHANNELS,  # which of them (from 0)
    "start": MAX_CHANNELS,  # the first channel a slice takes
    "stop": MAX_CHANNELS,  # the channel after its last
}

# YAML and pydantic work recursively: a document nested deeper than this is refused before
# it is composed, well inside Python's recursion limit. A spec needs five levels.
MAX_DEPTH = 64
# The most nodes a document may have, counting each alias as the nodes it stands for (so an
# alias bomb is refused); a network of a thousand blocks needs about ten thousand.
MAX_NODES = 200_000
# The most bytes a spec file or an included block file may hold (and the most characters a
# spec given as text may): a published network's spec is a few KB, a thousand blocks
# written out one per line about 100 KB. Only regular files are read, at most this much.
MAX_FILE_BYTES = 1_048_576
# The most digits an integer of a spec may have: the largest bound above has seven.
MAX_DIGITS = 100


# The bounded types the models use, one per key of the table.
Channels = Annotated[int, Field(ge=1, le=LIMITS["channels"])]
Groups = Annotated[int, Field(ge=1, le=LIMITS["groups"])]
Growth = Annotated[int, Field(ge=1, le=LIMITS["growth"])]
BaseWidth = Annotated[int, Field(ge=1, le=LIMITS["base_width"])]
InnerChannels = Annotated[int, Field(ge=1, le=LIMITS["inner_channels"])]
GroupWidth = Annotated[int, Field(ge=1, le=LIMITS["group_width"])]
Classes = Annotated[int, Field(ge=1, le=LIMITS["classes"])]
Repeat = Annotated[int, Field(ge=1, le=LIMITS["repeat"])]
DenseLayers = Annotated[int, Field(ge=1, le=LIMITS["layers"])]
Kernel = Annotated[int, Field(ge=1, le=LIMITS["kernel"])]
Stride = Annotated[int, Field(ge=1, le=LIMITS["stride"])]
Dilation = Annotated[int, Field(ge=1, le=LIMITS["dilation"])]
Padding = Annotated[int, Field(ge=0, le=LIMITS["padding"])]
Scale = Annotated[int, Field(ge=1, le=LIMITS["scale"])]
Expansion = Annotated[int, Field(ge=1, le=LIMITS["expansion"])]
ExpansionRatio = Annotated[float, Field(ge=1.0, le=LIMITS["expansion"])]
BnSize = Annotated[int, Field(ge=1, le=LIMITS["bn_size"])]
Extent = Annotated[int, Field(ge=1, le=LIMITS["size"])]
Width = Annotated[float, Field(gt=0.0, le=LIMITS["width"])]
Depth = Annotated[float, Field(gt=0.0, le=LIMITS["depth"])]
Divisor = Annotated[int, Field(ge=1, le=LIMITS["divisor"])]
SeDivisor = Annotated[int, Field(ge=1, le=LIMITS["se_divisor"])]
Hidden = Annotated[int, Field(ge=1, le=LIMITS["hidden"])]
Features = Annotated[int, Field(ge=1, le=LIMITS["features"])]
Factor = Annotated[int, Field(ge=1, le=LIMITS["factor"])]
Chunks = Annotated[int, Field(ge=1, le=LIMITS["chunks"])]
ChunkIndex = Annotated[int, Field(ge=0, le=LIMITS["index"])]
Start = Annotated[int, Field(ge=0, le=LIMITS["start"])]
Stop = Annotated[int, Field(ge=1, le=LIMITS["stop"])]
