"""The stages of a list of layers before the size program has run: how a layer's repeats
(blocks, or copies of a sequence's members) sit in its list, under which keys."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from skipgen.ir.blocks import PendingNode
from skipgen.ir.graph import Block, LongSkip, Read
from skipgen.kinds.base import Layer
from skipgen.kinds.sequence import Sequence as SequenceLayer


@dataclass(frozen=True, kw_only=True)
class PendingStage:
    """A stage whose nodes' spatial sizes are filled in once the size program has run."""

    attr: str
    nodes: tuple[PendingNode, ...]
    sequential: bool
    long_skip: LongSkip | None
    save_as: str | None
    checkpoint: bool = False
    reads: tuple[Read, ...] = ()  # the saved outputs it runs on, where not the previous
    alias: str | None = None  # a second key it is registered under


@dataclass(frozen=True, kw_only=True)
class PendingGroup:
    """A sequence's stages and groups, under one key."""

    attr: str
    members: tuple[PendingStage | PendingGroup, ...]
    walked: bool
    long_skip: LongSkip | None
    save_as: str | None
    checkpoint: bool = False
    block: Block | None = None  # an instance of a composite block
    reads: tuple[Read, ...] = ()  # the saved output it runs on, where not the previous
    order: tuple[str, ...] = ()  # the keys registered first (its `register`)
    alias: str | None = None  # a second key it is registered under


Member = PendingStage | PendingGroup


def members_of(
    attr: str,
    numbered: bool,
    walked: bool,
    layer: Layer,
    lowered: list[PendingNode] | list[tuple[Member, ...]],
    blocks: list[Block | None],
) -> list[Member]:
    """How a layer's repeats (blocks, or copies of a sequence's members) sit in its list.

    At the top level, and for a named layer anywhere, the layer is one key: its block, or an
    ``nn.Sequential`` of its repeats (of its copies, for a repeated sequence). An unnamed
    layer inside a sequence is ``numbered``: it takes one number per repeat, from its
    first (``attr``). ``walked``: the network's forward walks a sequence's members itself.
    """
    keys = [str(int(attr) + r) for r in range(len(lowered))] if numbered else [attr]
    if isinstance(layer, SequenceLayer):
        copies = cast("list[tuple[Member, ...]]", lowered)

        blocks = blocks or [None] * len(copies)

        def group(key: str, r: int, walked: bool, checkpoint: bool) -> PendingGroup:
            return PendingGroup(
                attr=key,
                members=copies[r],
                walked=walked and blocks[r] is None,  # a block's forward runs its body
                long_skip=None,
                save_as=None,
                checkpoint=checkpoint,
                block=blocks[r],
                order=tuple(layer.register_ or ()),
            )

        if numbered or (len(copies) == 1 and "repeat" not in layer.model_fields_set):
            return [group(key, r, walked, layer.checkpoint) for r, key in enumerate(keys)]
        inner = tuple(group(str(r), r, False, False) for r in range(len(copies)))
        return [
            PendingGroup(
                attr=attr,
                members=inner,
                walked=False,
                long_skip=None,
                save_as=None,
                checkpoint=layer.checkpoint,
            )
        ]
    nodes = cast("list[PendingNode]", lowered)
    if numbered:
        return [
            PendingStage(
                attr=key,
                nodes=(node,),
                sequential=False,
                long_skip=None,
                save_as=None,
                checkpoint=layer.checkpoint,
            )
            for key, node in zip(keys, nodes, strict=True)
        ]
    sequential = len(nodes) > 1 or "repeat" in layer.model_fields_set
    return [
        PendingStage(
            attr=attr,
            nodes=tuple(nodes),
            sequential=sequential,
            long_skip=None,
            save_as=None,
            checkpoint=layer.checkpoint,
        )
    ]
