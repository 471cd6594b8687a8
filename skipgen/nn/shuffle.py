"""ShuffleNet's channel shuffle, as a module."""

import torch
from torch import Tensor, nn


class ChannelShuffle(nn.Module):
    """The channels as ``groups`` rows, read column by column (torchvision's
    ShuffleNetV2 ``channel_shuffle``): ``view(n, groups, c // groups, ...)``,
    ``transpose(1, 2)``, then ``view(n, c, ...)``, for 1, 2 or 3 spatial dimensions
    (held as one meanwhile). Written with ``view`` and ``transpose``, not
    ``nn.ChannelShuffle``, so that TorchScript, ``torch.export`` and ONNX take it as
    they take the rest of the network.
    """

    def __init__(self, groups: int) -> None:
        super().__init__()
        if groups < 1:
            raise ValueError(f"groups must be a positive integer, got {groups}")
        self.groups = groups

    def forward(self, x: Tensor) -> Tensor:
        n, c = x.shape[0], x.shape[1]
        # the positions in one dimension, whatever their number
        out = x.flatten(2).view(n, self.groups, c // self.groups, -1)
        out = torch.transpose(out, 1, 2).contiguous()
        return out.view_as(x)
