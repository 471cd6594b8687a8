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


def dtype_family(dtype: str) -> str:
    """What values a dtype (``"float32"``, torch's name without ``torch.``) holds:
    ``floating-point``, ``complex``, ``boolean`` or ``integer``. Tensors of one family load
    into each other (cast to the model's dtype); of two families, never."""
    if dtype.startswith("complex"):
        return "complex"
    if dtype.startswith(("float", "bfloat", "half", "double")):
        return "floating-point"
    return "boolean" if dtype == "bool" else "integer"


def tensor_words(dtype: str) -> str:
    """``a floating-point tensor (float32)``, ``a complex tensor (complex64)``."""
    family = dtype_family(dtype)
    article = "an" if family[0] in "aeiou" else "a"
    return f"{article} {family} tensor ({dtype})"


@dataclass(frozen=True)
class Skipped:
    """A model entry whose counterpart in the weights does not fit: left as initialised.

    The counterpart has the same key, or was paired with it by order. Shapes are equal
    only when the two tensors hold values of different families (see :func:`dtype_family`);
    their dtypes are then named.
    """

    model_key: str
    weights_key: str
    model_shape: tuple[int, ...]
    weights_shape: tuple[int, ...]
    model_dtype: str = field(default="float32", compare=False)
    weights_dtype: str = field(default="float32", compare=False)

    def describe(self) -> str:
        who = _who(self.model_key, self.weights_key)
        if self.model_shape == self.weights_shape:
            ours, theirs = tensor_words(self.model_dtype), tensor_words(self.weights_dtype)
            return f"{who}: {ours} in the model, {theirs} in the weights"
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
