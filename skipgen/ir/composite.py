"""Lowering what a composite block's instance adds to a group: its own skip around the body,
and the saved outputs its body reads through long skips (its ``forward``'s extra inputs).

The skip follows the rules of the built-in residual kinds: identity when the shortcut
fits, else ``on_mismatch`` decides (the definition's default: ``project``, a 1x1 conv and
norm at the body's overall stride). A shortcut can be projected only across a body whose
size changes are all convolutions and pools; an upsampling body cannot be.
"""

from __future__ import annotations

from dataclasses import dataclass

from skipgen.ir.blocks import BlockLowering, projection_call
from skipgen.ir.graph import Block, Call
from skipgen.ir.skips import SkipRequest, decide_skip
from skipgen.kinds.composite import Composite
from skipgen.language.load import Path

SHORTCUT = "shortcut"  # the attribute that holds a projected shortcut


@dataclass(frozen=True, kw_only=True)
class OwnSkip:
    """A composite instance's own skip, decided, and the channels after it."""

    block: Block
    channels: int


def _stride(lowering: BlockLowering, in_slot: int, out_slot: int) -> int | None:
    """The stride from ``in_slot`` to ``out_slot`` when only convolutions (and pools) lie
    between them; None when an upsampling or a global pool does."""
    ops = lowering.record.program.ops
    stride, slot = 1, out_slot
    while slot != in_slot:
        if slot == 0:
            return None
        source, op, _ = ops[slot - 1]
        if op[0] != "conv":
            return None
        stride *= op[2]
        slot = source
    return stride


def own_skip(
    lowering: BlockLowering,
    path: Path,
    layer: Composite,
    channels: tuple[int, int],
    slots: tuple[int, int],
    keys: set[str],
    first: bool = True,
) -> OwnSkip | None:
    """The skip around one instance of ``layer`` from ``channels`` and ``slots`` (its input's
    and its body's output's); None after an error, reported. ``first``: the first of the
    layer's repeats, where a ``shortcut`` that the use gives must have a projection to shape."""
    cin, cout = channels
    in_slot, out_slot = slots
    mode = layer.own_skip
    long = layer.skip is not None and layer.skip.from_ is not None
    if layer.skip is not None:
        mode = "none" if long else layer.skip.mode
    inherited = lowering.inherited(layer)
    stride = _stride(lowering, in_slot, out_slot)
    problems = []
    if mode == "add" and cin != cout:
        problems.append(f"{cin} input channels with {cout} output channels")
    if in_slot != out_slot:
        problems.append("an input and an output of different spatial size")
    request = SkipRequest(
        mode=mode,
        on_mismatch=layer.on_mismatch or layer.own_on_mismatch,
        mismatch=" and ".join(problems),
        layer_kind=f"{layer.type} block",
        projectable=stride is not None,
        shortcut_channels=cin,
        projected_channels=cout if mode == "add" else cin,
        stride=stride or 1,
        form=layer.own_shortcut,
    )
    decision = decide_skip(request, inherited)
    if decision.error is not None:
        lowering.record.layer_error(path, decision.error)
        return None
    # a use's long skip replaces the block's own: the use's `shortcut` shapes the long one
    if first and layer.shortcut_given and not long and decision.projection is None:
        lowering.record.error(
            (*path, "shortcut"),
            f"this {layer.block} block does not project its shortcut ({decision.note}), so a "
            "shortcut form has nothing to shape",
            "remove `shortcut`, or give the block a stride or new channels (its first repeat "
            "projects)",
        )
        return None
    projection: Call | None = None
    program, step = lowering.record.program, lowering.record.step
    shortcut_slot = in_slot
    if decision.projection is not None:
        if SHORTCUT in keys:
            lowering.record.error(
                (*path, "skip"),
                f"the projected shortcut would be named {SHORTCUT!r}, which the body uses",
                f"rename the body's layer {SHORTCUT!r}",
            )
            return None
        slot = lowering.projected_slot(path, layer, inherited, decision.projection, in_slot)
        if slot is None:
            return None
        shortcut_slot = slot
        projection = projection_call(decision.projection, inherited)
    if decision.mode != "none":
        program.check(shortcut_slot, out_slot, step((*path, "skip"), f"the {mode} of this block"))
    shortcut_channels = decision.projection.out_channels if decision.projection else cin
    out = cout + (shortcut_channels if decision.mode == "concat" else 0)
    block = Block(
        name=layer.block,
        skip=decision.mode,
        note=decision.note,
        projection=projection,
        params=decision.params,
        channels=out,
        inputs=(),
        values=tuple(layer.params.items()),
        in_channels=cin,
        defaults=tuple(layer.defaults.items()),
        expressions=tuple(layer.expressions),
        description=layer.description,
        replaced=layer.own_skip if long else "none",
    )
    return OwnSkip(block=block, channels=out)
