"""The deterministic input and weights the reference outputs were measured with.

Input: ``x.flatten()[k] = sin(0.3 * k)``. Weights: walk ``state_dict()`` in order; the
``i``-th tensor (buffers included) gets ``s[k] = sin(0.7 * k + i)`` over its flattened
elements, shaped by its role (see ``data/README.md``).
"""

from __future__ import annotations

import math

import torch
from torch import nn


def make_input(shape: list[int] | tuple[int, ...]) -> torch.Tensor:
    """``sin(0.3 * k)`` over the flattened elements, float64."""
    n = math.prod(shape)
    return torch.sin(0.3 * torch.arange(n, dtype=torch.float64)).reshape(tuple(shape))


def write(index: int, key: str, tensor: torch.Tensor) -> None:
    """Overwrite ``tensor``, the ``index``-th state_dict entry ``key``, by the reference rule.

    Works in place, without temporaries: the largest tensors have ~10^7 elements.
    """
    if not tensor.is_floating_point():
        tensor.zero_()
        return
    flat = tensor.view(-1)
    # s = sin(0.7 * k + index)
    torch.arange(flat.numel(), dtype=flat.dtype, out=flat).mul_(0.7).add_(index).sin_()
    leaf = key.rsplit(".", 1)[-1]
    if leaf == "running_mean":
        flat.mul_(0.1)
    elif leaf == "running_var":
        flat.add_(1).mul_(0.25).add_(1)
    elif tensor.dim() >= 2:
        flat.mul_(math.sqrt(2 / math.prod(tensor.shape[1:])))
    elif tensor.dim() == 1 and leaf == "weight":
        flat.mul_(0.1).add_(1)
    else:
        flat.mul_(0.1)


def fill_value(index: int, key: str, shape: list[int], dtype: torch.dtype) -> torch.Tensor:
    """A new tensor holding the ``index``-th state_dict entry ``key`` by the reference rule."""
    tensor = torch.empty(shape, dtype=dtype)
    write(index, key, tensor)
    return tensor


def fill(model: nn.Module) -> nn.Module:
    """Put ``model`` in float64 eval mode, fill every tensor by the reference rule, return it."""
    model.double().eval()
    with torch.no_grad():
        # state_dict() tensors share storage with the model's parameters and buffers.
        for i, (key, tensor) in enumerate(model.state_dict().items()):
            write(i, key, tensor)
    return model


def run(model: nn.Module, input_shape: list[int]) -> torch.Tensor:
    """Fill ``model`` and run it on the reference input, without gradients."""
    fill(model)
    with torch.no_grad():
        return model(make_input(input_shape))
