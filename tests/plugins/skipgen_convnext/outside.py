"""An nn module the emitter cannot copy: a relative import out of its package."""

from torch import nn

from ..elsewhere import Helper  # type: ignore[import-not-found]


class Outside(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.helper = Helper()
