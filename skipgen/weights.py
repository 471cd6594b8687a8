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

Every pair must have the same shape and hold values of the same family: floating-point,
complex, integer or boolean (a complex tensor never loads into a float one, which would
drop its imaginary part, nor a float into an integer counter). One exception keeps old
checkpoints usable: when the weights hold no ``num_batches_tracked`` entry at all, the
model's batch norm counters are left out of the pairing and keep their values.

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

By default there is no partial transfer. On any mismatch or ambiguity
:class:`WeightsMismatchError` names the first tensor concerned and the model is left
exactly as it was: the new state is built in full first and loaded with ``strict=True``
only once every tensor fits. One case is not a mismatch: when every tensor of the model is
matched by key and the weights hold more (a backbone loading the classification checkpoint
it came from), the model is loaded in full and the rest is reported as unexpected.

With ``mismatched="skip"`` (fine-tuning: a new head, a new input), every pair that does not
fit is skipped and its model entry keeps its initial value; tensors left over on either
side once the pairs are made are reported as missing or unexpected. An ambiguous order is
still refused: no pairing is better than a wrong one. With ``adapt_input=True`` the first
convolution is loaded even when its input channels differ, as timm's ``adapt_input_conv``
does (see :func:`adapt_input_conv`). :class:`skipgen.transfer_report.TransferReport` says
what happened to every tensor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import Tensor, nn

from skipgen.transfer_report import (
    Adapted,
    Skipped,
    TransferReport,
    dtype_family,
    shape_words,
    tensor_words,
)
from skipgen.weights_order import leaf, order_problem

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
    """A checked plan: the model's complete new state, and what happened to each tensor."""

    state: dict[str, Tensor]
    report: TransferReport


def _shape(t: Tensor) -> tuple[int, ...]:
    return tuple(t.shape)


def _dtype(t: Tensor) -> str:
    return str(t.dtype).removeprefix("torch.")


def _fits(a: Tensor, b: Tensor) -> bool:
    return a.shape == b.shape and dtype_family(_dtype(a)) == dtype_family(_dtype(b))


def _mismatch(
    how: str, model_key: str, model_t: Tensor, weights_key: str, weights_t: Tensor
) -> WeightsMismatchError:
    if model_key == weights_key:
        who = repr(model_key)
    else:
        who = f"the model's {model_key!r} (paired with the weights' {weights_key!r})"
    if model_t.shape != weights_t.shape:
        why = f"shape {shape_words(_shape(model_t))} in the model, "
        why += f"{shape_words(_shape(weights_t))} in the weights"
    else:
        ours, theirs = tensor_words(_dtype(model_t)), tensor_words(_dtype(weights_t))
        why = f"{ours} in the model, {theirs} in the weights"
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
    if any(leaf(str(k)) == COUNTER for k in weights):
        return []
    return [k for k in target if leaf(k) == COUNTER]


def _check_counts(
    target: Mapping[str, Tensor],
    weights: Mapping[str, Tensor],
    paired: int,
    missing: list[str],
    unexpected: list[str],
) -> None:
    if not missing and not unexpected:
        return
    counts = (
        f"the weights do not fit: beside the tensors matched by key, the model has "
        f"{paired + len(missing)} tensors, the weights {paired + len(unexpected)}"
    )
    if missing:
        key = missing[0]
        raise WeightsMismatchError(
            f"{counts}; the model's {key!r} {shape_words(_shape(target[key]))} has no "
            "counterpart; nothing was changed",
            model_key=key,
            model_shape=_shape(target[key]),
        )
    key = unexpected[0]
    raise WeightsMismatchError(
        f"{counts}; the weights' {key!r} {shape_words(_shape(weights[key]))} has no "
        "counterpart in the model; nothing was changed",
        weights_key=key,
        weights_shape=_shape(weights[key]),
    )


def _pair_by_order(
    target: Mapping[str, Tensor],
    weights: Mapping[str, Tensor],
    model_left: list[str],
) -> tuple[list[tuple[str, str]], list[str], list[str]]:
    """Pairs (model key, weights key) for the tensors whose names the other side lacks,
    and what is left over on each side: (pairs, missing, unexpected)."""
    model_keys = set(target)
    weights_left = [k for k in weights if k not in model_keys]
    if model_left and weights_left:
        position = {key: i for i, key in enumerate(target)}
        named = [k for k in weights if k in model_keys]
        reason = order_problem(named, position, model_left, weights_left)
        if reason is not None:
            raise _ambiguous(reason, model_left[0], weights_left[0], len(weights_left))
    n = min(len(model_left), len(weights_left))
    pairs = list(zip(model_left[:n], weights_left[:n], strict=True))
    return pairs, model_left[n:], weights_left[n:]


def adapt_input_conv(weight: Tensor, channels: int) -> Tensor:
    """A convolution's ``weight`` for ``channels`` input channels, as timm adapts it.

    One channel: the sum over the weight's input channels (a grey image is R = G = B).
    Otherwise the input channels are repeated up to ``channels`` and scaled by
    ``c / channels`` (c the weight's input channels: 3/k for RGB weights), so that an input
    with every channel equal gives the same output as before. Computed in at least float32.
    """
    w = weight.to(torch.promote_types(weight.dtype, torch.float32))
    if channels == 1:
        return w.sum(dim=1, keepdim=True)
    have = w.shape[1]
    repeats = -(-channels // have)
    return w.repeat(1, repeats, *([1] * (w.dim() - 2)))[:, :channels] * (have / channels)


def _adaptable(model_t: Tensor, weights_t: Tensor) -> bool:
    """Two convolution weights that differ only in their input channels."""
    ours, theirs = model_t.shape, weights_t.shape
    return (
        model_t.dim() >= 3
        and ours[0] == theirs[0]
        and ours[2:] == theirs[2:]
        and model_t.is_floating_point()
        and weights_t.is_floating_point()
    )


@dataclass
class _Plan:
    """The new state and the report, filled pair by pair."""

    target: Mapping[str, Tensor]
    weights: Mapping[str, Tensor]
    strict: bool
    first_conv: str | None
    state: dict[str, Tensor] = field(default_factory=dict)
    loaded: dict[str, str] = field(default_factory=dict)
    adapted: list[Adapted] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    def pair(self, model_key: str, weights_key: str, how: str) -> None:
        ours, theirs = self.target[model_key], self.weights[weights_key]
        if _fits(ours, theirs):
            self.state[model_key] = theirs
            self.loaded[model_key] = weights_key
        elif model_key == self.first_conv and _adaptable(ours, theirs):
            rule: Literal["sum", "repeat"] = "sum" if ours.shape[1] == 1 else "repeat"
            self.state[model_key] = adapt_input_conv(theirs, ours.shape[1])
            self.adapted.append(Adapted(model_key, weights_key, _shape(ours), _shape(theirs), rule))
        elif self.strict:
            raise _mismatch(how, model_key, ours, weights_key, theirs)
        else:
            self.state[model_key] = ours
            skipped = Skipped(
                model_key,
                weights_key,
                _shape(ours),
                _shape(theirs),
                model_dtype=_dtype(ours),
                weights_dtype=_dtype(theirs),
            )
            self.skipped.append(skipped)


def match_weights(
    target: Mapping[str, Tensor],
    weights: Mapping[str, Tensor],
    *,
    mismatched: Literal["error", "skip"] = "error",
    first_conv: str | None = None,
) -> Transfer:
    """Pair ``weights`` with a model's ``state_dict`` (``target``) without changing either.

    ``first_conv``: the key of the model's first convolution weight, to adapt when its
    input channels differ. With ``mismatched="error"``, raises
    :class:`WeightsMismatchError` for the first tensor that does not fit; always, when
    pairing by order is ambiguous (see the module's documentation).
    """
    if mismatched not in ("error", "skip"):
        raise ValueError(f"mismatched must be 'error' or 'skip', not {mismatched!r}")
    _check_tensors(weights)
    strict = mismatched == "error"
    kept = _kept_counters(target, weights)
    left_out = set(kept)
    plan = _Plan(target, weights, strict, first_conv, state={k: target[k] for k in kept})
    for key in target:
        if key not in left_out and key in weights:
            plan.pair(key, key, "matched by key")
    model_left = [k for k in target if k not in left_out and k not in weights]
    pairs, missing, unexpected = _pair_by_order(target, weights, model_left)
    how = f"paired by order, as {len(model_left)} of the model's names are not in the weights"
    for model_key, weights_key in pairs:
        plan.pair(model_key, weights_key, how)
    if strict and (missing or (unexpected and model_left)):
        _check_counts(target, weights, len(pairs), missing, unexpected)
    left_over = set(missing)
    plan.state.update((key, target[key]) for key in missing)
    report = TransferReport(
        loaded=plan.loaded,
        adapted=tuple(plan.adapted),
        skipped=tuple(plan.skipped),
        missing=tuple(k for k in target if k in left_out or k in left_over),
        unexpected=tuple(unexpected),
    )
    return Transfer({k: plan.state[k] for k in target}, report)


def first_conv_weight(model: nn.Module) -> str | None:
    """The ``state_dict`` key of the first ungrouped convolution's weight, if any."""
    convs = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
    for name, module in model.named_modules():
        if isinstance(module, convs):
            return f"{name}.weight" if module.groups == 1 else None
    return None


def transfer_weights(
    model: nn.Module,
    state_dict: Mapping[str, Tensor],
    *,
    mismatched: Literal["error", "skip"] = "error",
    adapt_input: bool = False,
) -> TransferReport:
    """Copy ``state_dict`` into ``model``: by key, the rest by order and shape.

    Values are cast to the model's dtypes. ``mismatched="error"`` (the default): on any
    mismatch raises :class:`WeightsMismatchError` (a ``ValueError``) naming the first
    tensor concerned, and changes nothing. ``mismatched="skip"``: loads every tensor that
    fits and leaves the others as initialised. ``adapt_input=True``: the model's first
    convolution takes the weights' even when its input channels differ (see
    :func:`adapt_input_conv`). An ambiguous order is always refused, changing nothing.
    Returns a :class:`~skipgen.transfer_report.TransferReport` of what was done.
    """
    first_conv = first_conv_weight(model) if adapt_input else None
    plan = match_weights(
        model.state_dict(), state_dict, mismatched=mismatched, first_conv=first_conv
    )
    with torch.no_grad():
        model.load_state_dict(plan.state, strict=True)
    return plan.report
