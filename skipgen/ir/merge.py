"""Lowering a merge: the outputs a `concat`, `add` or `mul` names meet in one stage, their
channels combined by the kind's rule and their sizes checked equal for every input size."""

from __future__ import annotations

from skipgen.ir.blocks import PendingNode
from skipgen.ir.graph import INPUT_LOCAL, Call, Read
from skipgen.ir.names import Names
from skipgen.ir.pending import Member, PendingStage
from skipgen.ir.record import Record
from skipgen.kinds.merge import Merge
from skipgen.language.limits import MAX_CHANNELS
from skipgen.language.load import Path


def merge_stage(
    record: Record,
    names: Names,
    path: Path,
    layer: Merge,
    read: list[tuple[int, int]],
    reads: tuple[Read, ...],
) -> tuple[list[Member] | None, int, int, bool]:
    """A merge of the outputs ``reads`` names, whose channels and size slots are
    ``read``: one stage, whose module takes them as a list."""
    channels = [c for c, _ in read]
    shown = [("input" if name == INPUT_LOCAL else name) for name, _ in reads]  # as written
    out = layer.channels(channels)
    if isinstance(out, str):
        listed = ", ".join(f"{name!r} {c}" for name, c in zip(shown, channels, strict=True))
        record.error(
            (*path, "from"),
            f"cannot {layer.type} these outputs ({listed} channels): {out}",
            "merge outputs whose channels agree, or use concat",
        )
        return None, channels[0], read[0][1], False
    first = read[0][1]
    for name, (_, slot) in zip(shown[1:], read[1:], strict=True):
        what = f"{layer.type} of {shown[0]!r} and {name!r}"
        scale = record.program.scale_between(read[0][1], slot)
        if scale is not None and scale != 1:
            record.error(
                (*path, "from"),
                f"{what}: {shown[0]!r} comes at {scale} times the size of {name!r}",
                "merge outputs of one size: resize one of them first (a pool, a strided "
                "conv or an upsample)",
            )
            return None, out, first, False
        record.program.check(read[0][1], slot, record.step((*path, "from"), what))
        # one size (checked): the output takes the latest source's slot, so a block whose
        # body merges an earlier outside output still sees its own chain of sizes
        first = max(first, slot)
    if out > MAX_CHANNELS:
        record.error(
            path,
            f"the output would have {out:,} channels, more than the limit of {MAX_CHANNELS:,}",
            "merge fewer or narrower outputs",
        )
    node = PendingNode(
        kind=layer.type,
        call=Call(layer.target),
        in_channels=channels[0],
        out_channels=out,
        in_slot=first,
        out_slot=first,
        skip="none",
        note="none",
        params=0,
        path=path,
        flat=False,
    )
    stage = PendingStage(
        attr=names.attrs[path],
        nodes=(node,),
        sequential=False,
        long_skip=None,
        save_as=names.locals.get(path),
        checkpoint=layer.checkpoint,
        reads=reads,
    )
    return [stage], out, first, False
