"""A run of the input's channels: one of equal parts (`chunk`), or any (`slice`)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator

from skipgen.errors import LayerError
from skipgen.ir.common import Body, Resolved, call
from skipgen.kinds.base import Kind
from skipgen.kinds.identity import KEEPS_SIZE
from skipgen.kinds.macs import Formula, no_convs
from skipgen.language.limits import ChunkIndex, Chunks, Start, Stop
from skipgen.language.vocabulary import HintedValueError


def channel_slice(start: int, stop: int, errors: tuple[LayerError, ...]) -> Body:
    """Channels ``start`` to ``stop`` of the input, or ``errors``."""
    c = call("ChannelSlice", start, stop)
    return Body(
        out_channels=stop - start,
        op=KEEPS_SIZE,
        params=0,
        make=lambda skip, downsample: c,
        errors=errors,
    )


class Chunk(Kind):
    """part `index` of `chunks` equal parts of the channels (`x.chunk(chunks, dim=1)[index]`,
    as ShuffleNetV2 splits its input)"""

    attr_prefix: ClassVar[str] = "chunk"
    blocks: ClassVar[tuple[str, ...]] = ("skipgen.nn.channels:ChannelSlice",)
    macs: ClassVar[dict[str, Formula]] = {"ChannelSlice": no_convs}

    type: Literal["chunk"]
    chunks: Chunks = Field(default=2, description="how many equal parts")
    index: ChunkIndex = Field(description="which part, from 0")

    @field_validator("index")
    @classmethod
    def _one_of_the_parts(cls, value: int, info: ValidationInfo) -> int:
        chunks = info.data.get("chunks")
        if chunks is not None and value >= chunks:
            raise HintedValueError(
                f"index {value} is past the last of {chunks} parts",
                f"the parts are numbered from 0 to {chunks - 1}",
            )
        return value

    def lower(self, inherited: Resolved, cin: int, cout: int, stride: int) -> Body:
        errors: tuple[LayerError, ...] = ()
        if cin % self.chunks:
            message = f"the input has {cin} channels, which {self.chunks} equal parts do not divide"
            hint = "choose chunks that divide the channels of the layer before it"
            errors = (LayerError(field="chunks", message=message, hint=hint),)
        part = cin // self.chunks
        return channel_slice(self.index * part, (self.index + 1) * part, errors)


class Slice(Kind):
    """channels `start` to `stop` (not included) of the input (`x[:, start:stop]`)"""

    attr_prefix: ClassVar[str] = "slice"
    blocks: ClassVar[tuple[str, ...]] = ("skipgen.nn.channels:ChannelSlice",)
    macs: ClassVar[dict[str, Formula]] = {"ChannelSlice": no_convs}

    type: Literal["slice"]
    start: Start = Field(default=0, description="the first channel taken, from 0")
    stop: Stop = Field(description="the channel after the last one taken")

    @field_validator("stop")
    @classmethod
    def _after_start(cls, value: int, info: ValidationInfo) -> int:
        start = info.data.get("start")
        if start is not None and value <= start:
            raise HintedValueError(
                f"stop {value} is not after start {start}: the slice would be empty",
                "give a stop greater than start",
            )
        return value

    def lower(self, inherited: Resolved, cin: int, cout: int, stride: int) -> Body:
        errors: tuple[LayerError, ...] = ()
        if self.stop > cin:
            message = f"stop {self.stop} is past the input's {cin} channels"
            hint = f"give a stop of at most {cin}"
            errors = (LayerError(field="stop", message=message, hint=hint),)
        return channel_slice(self.start, self.stop, errors)
