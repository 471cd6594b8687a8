"""Whether the order of a weights file can be trusted to pair tensors by position. Torch-free.

See :mod:`skipgen.weights` for the rule these checks serve.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import pairwise


def leaf(key: str) -> str:
    """The text after the last dot: ``weight``, ``bias``, ``running_mean``..."""
    return key.rsplit(".", 1)[-1]


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


def order_problem(
    named: list[str], position: Mapping[str, int], model_left: list[str], weights_left: list[str]
) -> str | None:
    """Why pairing ``model_left`` with ``weights_left`` by position cannot be trusted, if so.

    ``named``: the weights' keys that are the model's own, in the file's order;
    ``position``: each model key's place in the model.
    """
    swapped = _out_of_order(named, position)
    if swapped is not None:
        before, after = swapped
        return (
            f"the tensors matched by key come in another order than the model's "
            f"({before!r} before {after!r} in the weights, after it in the model)"
        )
    numbered = _numbering_out_of_order(weights_left)
    if numbered is not None:
        return f"{numbered[0]!r} comes before {numbered[1]!r}, as when names are sorted as text"
    for model_key, weights_key in zip(model_left, weights_left, strict=False):
        if leaf(model_key) != leaf(weights_key):
            return f"the model's {model_key!r} would take the weights' {weights_key!r}"
    return None
