"""What :func:`skipgen.transfer_weights` did with each tensor. Torch-free.

Every entry of the model's ``state_dict`` is in exactly one of ``loaded``, ``adapted``,
``skipped`` or ``missing``; every entry of the weights is used (``loaded``, ``adapted``,
``skipped``: considered and refused) or ``unexpected``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal


def shape_words(shape: tuple[int, ...]) -> str:
    """``(64, 3, 7, 7)``; a 1-d shape as ``(10)``, as the error messages write it."""
    return "(" + ", ".join(map(str, shape)) + ")"


@dataclass(frozen=True)
class Skipped:
    """A model entry whose counterpart in the weights does not fit: left as initialised.

    The counterpart has the same key, or was paired with it by order. Shapes are equal
    only when one is a floating-point tensor and the other an integer tensor.
    """

    model_key: str
    weights_key: str
    model_shape: tuple[int, ...]
    weights_shape: tuple[int, ...]

    def describe(self) -> str:
        who = _who(self.model_key, self.weights_key)
        if self.model_shape == self.weights_shape:
            return f"{who}: a floating-point tensor on one side, an integer tensor on the other"
        ours, theirs = shape_words(self.model_shape), shape_words(self.weights_shape)
        return f"{who}: {ours} in the model, {theirs} in the weights"


@dataclass(frozen=True)
class Adapted:
    """The first convolution, loaded from weights with another number of input channels.

    ``rule`` is ``"sum"`` (one input channel: the sum over the weights' input channels) or
    ``"repeat"`` (k channels: the weights' channels repeated up to k, scaled by c/k where
    c is the weights' number of input channels; 3/k for RGB weights), as timm's
    ``adapt_input_conv``.
    """

    model_key: str
    weights_key: str
    model_shape: tuple[int, ...]
    weights_shape: tuple[int, ...]
    rule: Literal["sum", "repeat"]

    def describe(self) -> str:
        who = _who(self.model_key, self.weights_key)
        ours, theirs = shape_words(self.model_shape), shape_words(self.weights_shape)
        have, want = self.weights_shape[1], self.model_shape[1]
        if self.rule == "sum":
            how = f"the sum over its {have} input channels"
        else:
            how = f"its {have} input channels repeated to {want}, scaled by {have}/{want}"
        return f"{who}: {ours} from {theirs}, {how}"


@dataclass(frozen=True)
class TransferReport:
    """What :func:`skipgen.transfer_weights` loaded, adapted and left.

    - ``loaded``: model key -> the weights' key copied into it (the same key, unless the
      pair was made by order);
    - ``adapted``: the first convolution, when its input channels differ (``adapt_input``);
    - ``skipped``: model entries whose counterpart does not fit, with both shapes
      (``mismatched="skip"``); they keep their initial values;
    - ``missing``: model keys with no counterpart in the weights; they keep their values
      (batch norm counters, when the weights have none, are always among them);
    - ``unexpected``: the weights' keys with no counterpart in the model, not used (a
      classifier's, when a backbone loads a classification checkpoint).
    """

    loaded: Mapping[str, str] = field(default_factory=dict)
    adapted: tuple[Adapted, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    missing: tuple[str, ...] = ()
    unexpected: tuple[str, ...] = ()

    @property
    def by_key(self) -> list[str]:
        """Model entries loaded from the weights' entry of the same name."""
        return [key for key, source in self.loaded.items() if key == source]

    @property
    def by_order(self) -> dict[str, str]:
        """Model entry -> the weights' entry paired with it by position."""
        return {key: source for key, source in self.loaded.items() if key != source}

    @property
    def by(self) -> Literal["key", "order", "key and order"]:
        if not self.by_order:
            return "key"
        return "key and order" if self.by_key else "order"

    def lines(self, limit: int = 10) -> list[str]:
        """The report in words, one tensor a line, at most ``limit`` lines per part."""
        parts = [
            ("adapted", [a.describe() for a in self.adapted]),
            ("skipped", [s.describe() for s in self.skipped]),
            ("missing from the weights, left as initialised", [repr(k) for k in self.missing]),
            ("unexpected, not used", [repr(k) for k in self.unexpected]),
        ]
        out = []
        for title, items in parts:
            if not items:
                continue
            out.append(f"{title}: {len(items):,}")
            out.extend(f"  {item}" for item in items[:limit])
            if len(items) > limit:
                out.append(f"  ... and {len(items) - limit:,} more")
        return out


def _who(model_key: str, weights_key: str) -> str:
    if model_key == weights_key:
        return repr(model_key)
    return f"{model_key!r} (the weights' {weights_key!r})"
