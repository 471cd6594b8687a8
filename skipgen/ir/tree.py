"""Walking the tree of layers: sequences hold layers, and any layer may repeat."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from skipgen.ir import common
from skipgen.kinds.base import Layer
from skipgen.kinds.sequence import Sequence as SequenceLayer
from skipgen.language import models as m
from skipgen.language.load import Path

MAX_BLOCKS = 10_000  # blocks after depth scaling (a dense block counts each of its layers)


def scaled_repeats(layer: Layer, scaling: m.Scaling) -> int:
    """How often a layer repeats, after the depth multiplier (at most ``MAX_BLOCKS + 1``)."""
    own = getattr(layer, "scale_depth", None)
    scale_depth = own if own is not None else layer.scales_depth
    if scale_depth and scaling.depth != 1.0:
        return common.scaled_depth(layer.repeat, scaling.depth, MAX_BLOCKS + 1)
    return min(layer.repeat, MAX_BLOCKS + 1)


def walk(
    layers: Sequence[Layer], path: Path, scaling: m.Scaling, copies: int = 1
) -> Iterator[tuple[Path, Layer, int]]:
    """Every layer under ``path`` in order, sequences before their layers, with how many
    copies of it the network holds (its repeats times those of the sequences around it)."""
    for i, layer in enumerate(layers):
        here = (*path, i)
        count = min(copies * scaled_repeats(layer, scaling), MAX_BLOCKS + 1)
        yield here, layer, count
        if isinstance(layer, SequenceLayer):
            yield from walk(layer.layers, (*here, "layers"), scaling, count)


def is_inside(path: Path, group: Path) -> bool:
    """Whether the layer at ``path`` lies inside the sequence at ``group``."""
    return len(path) > len(group) and path[: len(group)] == group
