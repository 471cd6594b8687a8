"""What a network returns: the layers that `outputs` names, and the heads that branch off.

The main path is built only as far as an output (or a head) needs it: the layers after the
last one needed are left out, and said so. Heads are lowered after the main path, each
from the output of the layer it names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from skipgen.ir.layers import LayerList, LayerLowering, Outputs
from skipgen.ir.names import Names
from skipgen.ir.pending import PendingGroup
from skipgen.kinds.base import Layer
from skipgen.kinds.sequence import Sequence as SequenceLayer
from skipgen.language import models as m
from skipgen.language.load import Path


@dataclass(frozen=True)
class Kept:
    """The main path as far as the outputs need it, and what was left out."""

    layers: list[Layer]
    dropped: list[Path]  # the layers left out, in the order of the spec


def needed_layers(layers: Sequence[Layer], names: Names) -> Kept:
    """The layers up to the last one an output or a head reads (all of them when the spec
    has no `outputs`); a sequence holding the last one is cut after it, at every depth."""
    needed = [ref.path for ref in names.outputs if ref.path[0] == "layers"]
    needed += list(names.head_sources.values())
    if not names.outputs or not needed:
        return Kept(list(layers), [])
    return _cut_after(layers, ("layers",), needed)


def _cut_after(layers: Sequence[Layer], list_path: Path, needed: list[Path]) -> Kept:
    """The layers of the list at ``list_path`` up to the last one that holds or is a
    ``needed`` path (each of which lies in this list); that one cut likewise when it is a
    sequence that only its layers are needed from."""
    depth = len(list_path)
    last = max(path[depth] for path in needed)
    assert isinstance(last, int)
    kept = list(layers[: last + 1])
    dropped: list[Path] = [(*list_path, i) for i in range(last + 1, len(layers))]
    holder = (*list_path, last)
    inside = [path for path in needed if path[: depth + 1] == holder and len(path) > depth + 1]
    group = kept[last]
    if inside and holder not in needed and isinstance(group, SequenceLayer):
        cut = _cut_after(group.layers, (*holder, "layers"), inside)
        kept[last] = group.model_copy(update={"layers": cut.layers})
        dropped = cut.dropped + dropped
    return Kept(kept, dropped)


@dataclass(frozen=True)
class LoweredHead:
    index: int  # in the spec's `heads`
    source: str  # the local variable holding the output it reads
    group: PendingGroup
    channels: int
    slot: int
    flat: bool


def lower_heads(
    lowering: LayerLowering, spec: m.Spec, names: Names, outputs: Outputs
) -> list[LoweredHead]:
    """Every head whose `from` layer was lowered, from that layer's output."""
    heads = []
    for k, head in enumerate(spec.heads):
        source = names.head_sources.get(k)
        if source is None or source not in outputs:
            continue  # its `from` is already reported, or that layer failed
        channels, slot = outputs[source]
        todo = LayerList(
            layers=head.layers,
            path=("heads", k, "layers"),
            names=names,
            channels=channels,
            slot=slot,
            outputs=outputs,
        )
        lowered = lowering.lower_list(todo)
        group = PendingGroup(
            attr=head.name, members=lowered.stages, walked=False, long_skip=None, save_as=None
        )
        local = names.locals[source]
        heads.append(LoweredHead(k, local, group, lowered.channels, lowered.slot, lowered.flat))
    return heads
