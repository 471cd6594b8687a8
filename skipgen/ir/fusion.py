"""Which of the network's own attributes are a convolution and the batch norm it feeds.

A spec may write a convolution and its norm as two layers (ResNet's stem: ``conv1``,
``bn1``); the network, not a block, then holds the pair, and only the graph tells whether
the convolution's output goes nowhere else: no long skip combines with it and no later
layer reads it. Blocks state their own pairs (``conv_norm_pairs`` in ``skipgen/nn``).
"""

from __future__ import annotations

from itertools import pairwise

from skipgen.ir.graph import Graph, Group, Member, Stage

_CONVS = frozenset(f"nn.{kind}{dims}d" for kind in ("Conv", "ConvTranspose") for dims in (1, 2, 3))
# A batch norm alone, or first in the block of `type: norm` with an activation.
_NORMS = frozenset(f"nn.BatchNorm{dims}d" for dims in (1, 2, 3)) | {"NormAct"}


def _last_path(stage: Stage) -> str:
    return f"{stage.attr}.{len(stage.nodes) - 1}" if stage.sequential else stage.attr


def _first_path(stage: Stage) -> str:
    return f"{stage.attr}.0" if stage.sequential else stage.attr


def _feeds_only_next(member: Member) -> bool:
    """Whether the member's output goes to the next member and nowhere else."""
    skip = member.long_skip
    return member.save_as is None and (skip is None or skip.note == "dropped")


def _pairs(members: tuple[Member, ...], prefix: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for member, after in pairwise(members):
        if (
            isinstance(member, Stage)
            and isinstance(after, Stage)
            and member.nodes[-1].call.target in _CONVS
            and after.nodes[0].call.target in _NORMS
            and not after.reads  # it reads another output, not this conv's
            and _feeds_only_next(member)
        ):
            found.append((prefix + _last_path(member), prefix + _first_path(after)))
    for member in members:
        if isinstance(member, Group) and member.walked:  # the network runs its members
            found += _pairs(member.members, f"{prefix}{member.attr}.")
    return found


def block_conv_norms(group: Group) -> tuple[tuple[str, str], ...]:
    """The same for a composite block's instance: its body's convolutions and norms."""
    return tuple(_pairs(group.members, ""))


def network_conv_norms(graph: Graph) -> tuple[tuple[str, str], ...]:
    """Paths of each convolution the network holds and the batch norm that it alone feeds,
    for ``fuse()``; a block's own pairs are not listed."""
    return tuple(_pairs(graph.stages, ""))
