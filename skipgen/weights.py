"""Bring pretrained weights into a skipgen model.

:func:`transfer_weights` copies a ``state_dict`` into a model in two steps:

1. **By key.** Every tensor of the weights whose key is one of the model's own goes to
   that entry, wherever it stands in the file.
2. **By order.** The tensors left on each side (names the other side does not use) are
   paired position by position: the first left in the model, in the order the model
   registers its tensors, with the first left in the weights, in the file's order. This is
   how a torchvision checkpoint loads into the matching config, whose tensors have the
   same shapes in the same order under partly different names (torchvision's
   ``features.0.0.weight`` is the MobileNetV2 config's ``stem.0.weight``).

Every pair must have the same shape, and a floating-point tensor never pairs with an
integer one. One exception keeps old checkpoints usable: when the weights hold no
``num_batches_tracked`` entry at all, the model's batch norm counters are left out of the
pairing and keep their values.

Pairing by order trusts the file to keep the order in which the model registers its
tensors. A file whose keys were re-sorted (safetensors stores them sorted by name) breaks
that silently: same-shape tensors such as a norm's ``weight`` and ``bias`` would swap
places. So step 2 is refused as **ambiguous** when the file shows that its order is not
the model's:

- the tensors matched by key in step 1 do not come in the file in the model's order;
- a pair of step 2 joins different leaf names (the text after the last dot: ``weight``,
  ``bias``, ``running_mean``...), as a model's ``weight`` paired with a file's ``bias``;
- numbered modules among the tensors left in the weights come out of order
  (``features.10`` before ``features.2``, as sorting names as text leaves them).

What these checks cannot see is a file in some other order whose leaf names, shapes and
numbering all agree with the model's; pairing by order then follows the file.

There is no partial transfer. On any mismatch or ambiguity :class:`WeightsMismatchError`
names the first tensor concerned and the model is left exactly as it was: the new state is
built in full first and loaded with ``strict=True`` only once every tensor fits. To load a
subset of a checkpoint, select those entries yourself and use ``model.load_state_dict(...,
strict=False)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import pairwise
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
    """A checked plan: the model's complete new state and how each entry was matched."""

    state: dict[str, Tensor]
    by_key: list[str]  # model entries filled from the weights' entry of the same name
    by_order: dict[str, str]  # model entry -> the weights' entry paired with it by position
    kept: list[str] = field(default_factory=list)  # model entries left as they were

    @property
    def by(self) -> Literal["key", "order", "key and order"]:
        if not self.by_order:
            return "key"
        return "key and order" if self.by_key else "order"


def _shape(t: Tensor) -> tuple[int, ...]:
    return tuple(t.shape)


def _words(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(map(str, shape)) + ")"


def _fits(a: Tensor, b: Tensor) -> bool:
    return a.shape == b.shape and a.is_floating_point() == b.is_floating_point()


def _kind(t: Tensor) -> str:
    return "a floating-point tensor" if t.is_floating_point() else "an integer tensor"


def _leaf(key: str) -> str:
    return key.rsplit(".", 1)[-1]


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


def _ambiguous(reason: str, model_key: str, weights_key: str, left: int) -> WeightsMismatchError:
    return WeightsMismatchError(
        f"the weights are ambiguous: {left} of their tensors have names the model does not "
        f"use (first {weights_key!r}, where the model has {model_key!r}), and their order "
        f"cannot be trusted to pair them: {reason}; nothing was changed. Give them the "
        "model's names, or keep them in the order the model registers its tensors",
        model_key=model_key,
        weights_key=weights_key,
    )


def _check_tensors(weights: Mapping[str, Tensor]) -> None:
    for key, value in weights.items():
        if not isinstance(value, Tensor):
            raise WeightsMismatchError(
                f"the weights hold a {type(value).__name__} under {key!r}, not a tensor",
                weights_key=str(key),
            )


def _kept_counters(target: Mapping[str, Tensor], weights: Mapping[str, Tensor]) -> list[str]:
    """The model's batch norm counters, when the weights have none to give them."""
    if any(_leaf(str(k)) == COUNTER for k in weights):
        return []
    return [k for k in target if _leaf(k) == COUNTER]


def _out_of_order(keys: list[str], position: Mapping[str, int]) -> tuple[str, str] | None:
    """The first two neighbours of ``keys`` that come in the other order in ``position``."""
    for before, after in pairwise(keys):
        if position[after] < position[before]:
            return before, after
    return None


def _numbering_out_of_order(keys: list[str]) -> tuple[str, str] | None:
    """Two keys whose numbered parts come out of order (``features.10`` before ``.2``)."""
    highest: dict[tuple[str, ...], tuple[int, str]] = {}
    for key in keys:
        parts = key.split(".")
        for i, part in enumerate(parts[:-1]):
            if not (part.isascii() and part.isdigit()):
                continue
            parent, number = tuple(parts[:i]), int(part)
            seen = highest.get(parent)
            if seen is not None and number < seen[0]:
                return seen[1], key
            if seen is None or number > seen[0]:
                highest[parent] = (number, key)
    return None


def _check_order(
    named: list[str], position: Mapping[str, int], model_left: list[str], weights_left: list[str]
) -> None:
    """Refuse pairing by order when the file shows its order is not the model's."""
    first, left = (model_left[0], weights_left[0]), len(weights_left)
    swapped = _out_of_order(named, position)
    if swapped is not None:
        before, after = swapped
        reason = (
            f"the tensors matched by key come in another order than the model's "
            f"({before!r} before {after!r} in the weights, after it in the model)"
        )
        raise _ambiguous(reason, *first, left)
    numbered = _numbering_out_of_order(weights_left)
    if numbered is not None:
        reason = f"{numbered[0]!r} comes before {numbered[1]!r}, as when names are sorted as text"
        raise _ambiguous(reason, *first, left)
    for model_key, weights_key in zip(model_left, weights_left, strict=False):
        if _leaf(model_key) != _leaf(weights_key):
            reason = f"the model's {model_key!r} would take the weights' {weights_key!r}"
            raise _ambiguous(reason, *first, left)


def _check_counts(
    target: Mapping[str, Tensor],
    weights: Mapping[str, Tensor],
    model_left: list[str],
    weights_left: list[str],
) -> None:
    if len(model_left) == len(weights_left):
        return
    n = min(len(model_left), len(weights_left))
    counts = (
        f"the weights do not fit: beside the tensors matched by key, the model has "
        f"{len(model_left)} tensors, the weights {len(weights_left)}"
    )
    if len(model_left) > n:
        key = model_left[n]
        raise WeightsMismatchError(
            f"{counts}; the model's {key!r} {_words(_shape(target[key]))} has no "
            "counterpart; nothing was changed",
            model_key=key,
            model_shape=_shape(target[key]),
        )
    key = weights_left[n]
    raise WeightsMismatchError(
        f"{counts}; the weights' {key!r} {_words(_shape(weights[key]))} has no counterpart "
        "in the model; nothing was changed",
        weights_key=key,
        weights_shape=_shape(weights[key]),
    )


def _pair_by_order(
    target: Mapping[str, Tensor], weights: Mapping[str, Tensor], model_left: list[str]
) -> dict[str, str]:
    """Model key -> weights key for the tensors whose names the other side lacks."""
    model_keys = set(target)
    weights_left = [k for k in weights if k not in model_keys]
    if not model_left and not weights_left:
        return {}
    if model_left and weights_left:
        position = {key: i for i, key in enumerate(target)}
        named = [k for k in weights if k in model_keys]
        _check_order(named, position, model_left, weights_left)
    how = f"paired by order, as {len(model_left)} of the model's names are not in the weights"
    for model_key, weights_key in zip(model_left, weights_left, strict=False):
        if not _fits(target[model_key], weights[weights_key]):
            raise _mismatch(how, model_key, target[model_key], weights_key, weights[weights_key])
    _check_counts(target, weights, model_left, weights_left)
    return dict(zip(model_left, weights_left, strict=True))


def match_weights(target: Mapping[str, Tensor], weights: Mapping[str, Tensor]) -> Transfer:
    """Pair ``weights`` with a model's ``state_dict`` (``target``) without changing either.

    Raises :class:`WeightsMismatchError` for the first tensor that does not fit, or when
    pairing by order is ambiguous (see the module's documentation).
    """
    _check_tensors(weights)
    kept = _kept_counters(target, weights)
    skipped = set(kept)
    by_key = [k for k in target if k not in skipped and k in weights]
    for key in by_key:
        if not _fits(target[key], weights[key]):
            raise _mismatch("matched by key", key, target[key], key, weights[key])
    model_left = [k for k in target if k not in skipped and k not in weights]
    by_order = _pair_by_order(target, weights, model_left)
    state = {k: target[k] for k in kept}
    state.update((key, weights[key]) for key in by_key)
    state.update((key, weights[source]) for key, source in by_order.items())
    return Transfer({k: state[k] for k in target}, by_key, by_order, kept)


def transfer_weights(model: nn.Module, state_dict: Mapping[str, Tensor]) -> nn.Module:
    """Copy ``state_dict`` into ``model``: by key, the rest by order and shape; return it.

    Values are cast to the model's dtypes. On any mismatch, or when pairing by order is
    ambiguous, raises :class:`WeightsMismatchError` (a ``ValueError``) naming the first
    tensor concerned, and changes nothing.
    """
    plan = match_weights(model.state_dict(), state_dict)
    with torch.no_grad():
        model.load_state_dict(plan.state, strict=True)
    return model
