"""A run of the input's channels: a ``chunk`` or a ``slice`` layer."""

from torch import Tensor, nn


class ChannelSlice(nn.Module):
    """Channels ``start`` to ``stop`` (not included) of the input, ``x[:, start:stop]``.

    Part ``index`` of ``x.chunk(chunks, dim=1)``, as ShuffleNetV2 splits its input, is
    the slice from ``index * c // chunks`` to ``(index + 1) * c // chunks`` when
    ``chunks`` divides the ``c`` channels.
    """

    def __init__(self, start: int, stop: int) -> None:
        super().__init__()
        if not 0 <= start < stop:
            raise ValueError(f"need 0 <= start < stop, got start={start}, stop={stop}")
        self.start = start
        self.stop = stop

    def forward(self, x: Tensor) -> Tensor:
        return x[:, self.start : self.stop]
