"""The tensors of the ``torch.nn`` layers a lowered network calls, without torch, and the
helpers that the block rules (:mod:`skipgen.ir.block_state`) compose them with.

A module's tensors are :data:`Entries`: (key under the module, shape), parameters before
buffers, in the order ``state_dict`` lists them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from skipgen.ir.graph import Partial

Shape = tuple[int, ...]
Entries = list[tuple[str, Shape]]
Args = dict[str, Any]  # a call's arguments by name
Rule = Callable[[Args], Entries]


def conv(
    cin: int, cout: int, kernel: Any, dims: int, groups: int = 1, bias: bool = True
) -> Entries:
    """A convolution's ``weight`` (out, in / groups, *kernel) and ``bias``."""
    size = tuple(kernel) if isinstance(kernel, tuple | list) else (kernel,) * dims
    weight = ("weight", (cout, cin // groups, *size))
    return [weight, ("bias", (cout,))] if bias else [weight]


def _torch_conv(a: Args, dims: int) -> Entries:
    groups, bias = a.get("groups", 1), a.get("bias", True)
    return conv(a["in_channels"], a["out_channels"], a["kernel_size"], dims, groups, bias)


def _running(channels: int, track: bool) -> Entries:
    """A norm's running statistics and its counter (an integer of shape ``()``)."""
    if not track:
        return []
    stats = [("running_mean", (channels,)), ("running_var", (channels,))]
    return [*stats, ("num_batches_tracked", ())]


def _affine(channels: int, affine: bool) -> Entries:
    return [("weight", (channels,)), ("bias", (channels,))] if affine else []


def _batch_norm(a: Args) -> Entries:
    c = a["num_features"]
    return _affine(c, a.get("affine", True)) + _running(c, a.get("track_running_stats", True))


def _instance_norm(a: Args) -> Entries:
    c = a["num_features"]
    return _affine(c, a.get("affine", False)) + _running(c, a.get("track_running_stats", False))


def _group_norm(a: Args) -> Entries:
    return _affine(a["num_channels"], a.get("affine", True))


def _layer_norm(a: Args) -> Entries:
    return _affine(a["channels"], a.get("affine", True))


def _prelu(a: Args) -> Entries:
    return [("weight", (a.get("num_parameters", 1),))]


_NORM_ARGS = ("num_features", "eps", "momentum", "affine", "track_running_stats")
_CONV_ARGS = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation")


# Each torch layer that holds tensors, by the start of its name: positional names, rule.
def _torch_layer_norm(a: Args) -> Entries:
    return _layer_norm({**a, "affine": a.get("elementwise_affine", True)})


def _linear_layer(a: Args) -> Entries:
    weight = [("weight", (a["out_features"], a["in_features"]))]
    return weight + ([("bias", (a["out_features"],))] if a.get("bias", True) else [])


_TORCH_LAYERS: dict[str, tuple[tuple[str, ...], Rule]] = {
    "Conv1d": ((*_CONV_ARGS, "groups", "bias"), lambda a: _torch_conv(a, 1)),
    "Conv2d": ((*_CONV_ARGS, "groups", "bias"), lambda a: _torch_conv(a, 2)),
    "Conv3d": ((*_CONV_ARGS, "groups", "bias"), lambda a: _torch_conv(a, 3)),
    "BatchNorm": (_NORM_ARGS, _batch_norm),
    "InstanceNorm": (_NORM_ARGS, _instance_norm),
    "GroupNorm": (("num_groups", "num_channels", "eps", "affine"), _group_norm),
    "LayerNormNd": (("channels", "eps", "affine"), _layer_norm),
    "LayerNorm": (("channels", "eps", "elementwise_affine"), _torch_layer_norm),
    "Linear": (("in_features", "out_features", "bias"), _linear_layer),
    "PReLU": (("num_parameters",), _prelu),
}


def is_torch_layer(target: str) -> bool:
    """A ``torch.nn`` layer, or the channel layer norm (a subclass of ``nn.LayerNorm``)."""
    return target.startswith("nn.") or target == "LayerNormNd"


def torch_layer(target: str, args: tuple[Any, ...], kwargs: Iterable[tuple[str, Any]]) -> Entries:
    """The tensors of ``target(*args, **kwargs)``, a layer of :func:`is_torch_layer`."""
    name = target.removeprefix("nn.")
    for prefix, (positional, rule) in _TORCH_LAYERS.items():
        if name.startswith(prefix):
            bound = dict(zip(positional, args, strict=False))
            bound.update(kwargs)
            return rule(bound)
    return []  # pools, dropout, upsampling, identity, every activation but PReLU


def norm(norm_layer: Partial, channels: int) -> Entries | None:
    """What ``norm_layer(channels)`` holds; None for ``nn.Identity`` (which blocks leave out
    of their ``nn.Sequential``)."""
    if norm_layer.target == "nn.Identity":
        return None
    return torch_layer(norm_layer.target, (*norm_layer.args, channels), norm_layer.kwargs)


def act(argument: str | Partial) -> Entries | None:
    """What ``act_layer(argument)`` holds; None for "none" (``nn.Identity``)."""
    if argument == "none":
        return None
    if isinstance(argument, Partial):
        return torch_layer(argument.target, argument.args, argument.kwargs)
    return [("weight", (1,))] if argument == "prelu" else []


def child(name: str, entries: Entries | None) -> Entries:
    """A child module's entries under its attribute name."""
    return [(f"{name}.{key}", shape) for key, shape in entries or []]


def children(*named: tuple[str, Entries | None]) -> Entries:
    """Children registered in this order, by attribute name."""
    return [entry for name, entries in named for entry in child(name, entries)]


def numbered(modules: Iterable[Entries | None]) -> Entries:
    """An ``nn.Sequential`` of the modules that are not None (an ``nn.Identity`` that the
    block leaves out), numbered from 0."""
    kept = [m for m in modules if m is not None]
    return children(*((str(i), m) for i, m in enumerate(kept)))
