"""Classification head: global pooling, dropout and a linear layer."""

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .layers import ActLayer, act_layer, global_pool


class Classifier(nn.Linear):
    """Global pooling, flatten, dropout and a fully connected layer.

    A subclass of ``nn.Linear``, so its only tensors are ``weight`` and ``bias`` (a head
    named ``fc`` has torchvision ResNet's ``fc.weight`` and ``fc.bias``), whose
    ``forward`` takes ``input`` as ``nn.Linear.forward`` does. ``pool`` is "avg", "max"
    or "none" (the input is already ``(N, in_features)``).
    """

    def __init__(
        self,
        in_features: int,
        classes: int,
        *,
        dropout: float = 0.0,
        pool: str = "avg",
        dims: int = 2,
    ) -> None:
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        super().__init__(in_features, classes)
        self.pool = nn.Identity() if pool == "none" else global_pool(pool, dims)
        self.dropout = float(dropout)

    def forward(self, input: Tensor) -> Tensor:
        x = torch.flatten(self.pool(input), 1)
        if self.dropout > 0.0:
            x = F.dropout(x, p=self.dropout, training=self.training)
        return F.linear(x, self.weight, self.bias)


class MLPClassifier(nn.Sequential):
    """Global pooling, flatten, then a hidden layer: linear, act, dropout, linear.

    Numbered as torchvision's MobileNetV3 ``classifier``: ``0`` the first linear layer
    (a :class:`Classifier`, which pools and flattens first), ``1`` the activation, ``2``
    the dropout and ``3`` the linear layer to ``classes``.
    """

    def __init__(
        self,
        in_features: int,
        hidden_features: int,
        classes: int,
        *,
        act: ActLayer = "hardswish",
        dropout: float = 0.0,
        pool: str = "avg",
        dims: int = 2,
    ) -> None:
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        super().__init__(
            Classifier(in_features, hidden_features, pool=pool, dims=dims),
            act_layer(act),
            nn.Dropout(dropout),
            nn.Linear(hidden_features, classes),
        )
