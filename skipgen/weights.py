"""Bring pretrained weights into a skipgen model.

:func:`transfer_weights` copies a ``state_dict`` into a model in one of two ways:

- **by key**, when the weights use exactly the model's own names (in any order);
- **by order**, otherwise: the two ordered lists of tensors are paired position by position.
  This is how a torchvision checkpoint loads into the matching config, whose tensors have
  the same shapes in the same order under partly different names (torchvision's
  ``features.0.0.weight`` is the MobileNetV2 config's ``stem.0.weight``).

Either way every pair must have the same shape, and a floating-point tensor never pairs
with an integer one. One exception keeps old checkpoints usable: when the weights hold no
``num_batches_tracked`` entry at all, the model's batch norm counters are left out of the
pairing and keep their values.

There is no partial transfer. On any mismatch :class:`WeightsMismatchError` names the first
tensor that does not fit and the model is left exactly as it was: the new state is built
in full first and loaded with ``strict=True`` only once every tensor fits. To load a subset
of a checkpoint, select those entries yourself and use ``model.load_state_dict(...,
strict=False)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import Tensor, nn

COUNTER = "num_batches_tracked"


class WeightsMismatchError(ValueError):
    """The weights do not fit the model; nothing was changed.

    ``model_key``/``model_shape`` and ``weights_key``/``weights_shape`` describe the first
    pair that does not fit (``None`` on the side that has no tensor at that position).
    """

    def __init__(
        self,
        message: str,
        *,
        model_key: str | None = None,
        model_shape: tuple[int, ...] | None = None,
        weights_key: str | None = None,
        weights_shape: tuple[int, ...] | None = None,
    ) -> None:
        super().__init__(message)
        self.model_key = model_key
        self.model_shape = model_shape
        self.weights_key = weights_key
        self.weights_shape = weights_shape


@dataclass
class Transfer:
    """A checked plan: the model's complete new state and how it was matched."""

    state: dict[str, Tensor]
    by: Literal["key", "order"]
    kept: list[str] = field(default_factory=list)  # model entries left as they were


def _shape(t: Tensor) -> tuple[int, ...]:
    return tuple(t.shape)


def _words(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(map(str, shape)) + ")"


def _fits(a: Tensor, b: Tensor) -> bool:
    return a.shape == b.shape and a.is_floating_point() == b.is_floating_point()


def _kind(t: Tensor) -> str:
    return "a floating-point tensor" if t.is_floating_point() else "an integer tensor"


def _mismatch(
    how: str, model_key: str, model_t: Tensor, weights_key: str, weights_t: Tensor
) -> WeightsMismatchError:
    if model_key == weights_key:
        who = repr(model_key)
    else:
        who = f"the model's {model_key!r} (paired with the weights' {weights_key!r})"
    if model_t.shape != weights_t.shape:
        why = f"shape {_words(_shape(model_t))} in the model, "
        why += f"{_words(_shape(weights_t))} in the weights"
    else:
        why = f"{_kind(model_t)} in the model, {_kind(weights_t)} in the weights"
    return WeightsMismatchError(
        f"the weights do not fit ({how}): {who} has {why}; nothing was changed",
        model_key=model_key,
        model_shape=_shape(model_t),
        weights_key=weights_key,
        weights_shape=_shape(weights_t),
    )


def match_weights(target: Mapping[str, Tensor], weights: Mapping[str, Tensor]) -> Transfer:
    """Pair ``weights`` with a model's ``state_dict`` (``target``) without changing either.

    Raises :class:`WeightsMismatchError` for the first tensor that does not fit.
    """
    for key, value in weights.items():
        if not isinstance(value, Tensor):
            raise WeightsMismatchError(
                f"the weights hold a {type(value).__name__} under {key!r}, not a tensor",
                weights_key=str(key),
            )
    has_counters = any(str(k).rsplit(".", 1)[-1] == COUNTER for k in weights)
    kept = [] if has_counters else [k for k in target if k.rsplit(".", 1)[-1] == COUNTER]
    skipped = set(kept)
    keys = [k for k in target if k not in skipped]
    state = {k: target[k] for k in kept}

    if set(keys) == set(weights):
        for key in keys:
            if not _fits(target[key], weights[key]):
                raise _mismatch("matched by key", key, target[key], key, weights[key])
        state.update((key, weights[key]) for key in keys)
        return Transfer({k: state[k] for k in target}, "key", kept)

    names = list(weights)
    missing = next((k for k in keys if k not in weights), None)
    how = "matched by order"
    if missing is not None:
        how += f", as the model's {missing!r} is not among the weights' keys"
    for model_key, weights_key in zip(keys, names, strict=False):
        model_t, weights_t = target[model_key], weights[weights_key]
        if not _fits(model_t, weights_t):
            raise _mismatch(how, model_key, model_t, weights_key, weights_t)
        state[model_key] = weights_t
    if len(keys) != len(names):
        n = min(len(keys), len(names))
        counts = f"the model has {len(keys)} tensors, the weights {len(names)}"
        if len(keys) > n:
            key = keys[n]
            raise WeightsMismatchError(
                f"the weights do not fit ({how}): {counts}; the model's {key!r} "
                f"{_words(_shape(target[key]))} has no counterpart; nothing was changed",
                model_key=key,
                model_shape=_shape(target[key]),
            )
        key = names[n]
        raise WeightsMismatchError(
            f"the weights do not fit ({how}): {counts}; the weights' {key!r} "
            f"{_words(_shape(weights[key]))} has no counterpart in the model; nothing was changed",
            weights_key=key,
            weights_shape=_shape(weights[key]),
        )
    return Transfer({k: state[k] for k in target}, "order", kept)


def transfer_weights(model: nn.Module, state_dict: Mapping[str, Tensor]) -> nn.Module:
    """Copy ``state_dict`` into ``model`` by key, else by order and shape; return ``model``.

    Values are cast to the model's dtypes. On any mismatch raises
    :class:`WeightsMismatchError` (a ``ValueError``) naming the first tensor that does not
    fit, and changes nothing.
    """
    plan = match_weights(model.state_dict(), state_dict)
    with torch.no_grad():
        model.load_state_dict(plan.state, strict=True)
    return model
