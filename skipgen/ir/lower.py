"""Lowering: a validated spec becomes a frozen graph, with every mistake located.

Repeats are expanded, defaults and width/depth multipliers applied, names and references
resolved, and channels (and, when the input size is known, spatial sizes) inferred — in
plain Python, without torch. All errors are collected and raised together.

The layers are lowered by :mod:`skipgen.ir.layers`; this module does what concerns the
network as a whole: the block count, the size program's run and the :class:`Graph`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, cast

from skipgen.composite.frames import FramedPositions
from skipgen.errors import SpecError
from skipgen.ir.blocks import PendingNode
from skipgen.ir.graph import INPUT_LOCAL, Graph, Group, Head, Node, Output, Stage, outside_reads
from skipgen.ir.layers import (
    DropPathSchedule,
    LayerList,
    LayerLowering,
    LoweredList,
    Outputs,
)
from skipgen.ir.names import Names, resolve
from skipgen.ir.outputs import LoweredHead, lower_heads, needed_layers
from skipgen.ir.pending import Member, PendingGroup
from skipgen.ir.record import Record
from skipgen.ir.sizes import (
    AXES,
    Failure,
    SizeSet,
    describe,
    exact_scale,
    failure_hint,
    working_sizes,
)
from skipgen.ir.tree import MAX_BLOCKS, walk
from skipgen.kinds.base import Layer
from skipgen.kinds.dense import Dense
from skipgen.kinds.sequence import Sequence as SequenceLayer
from skipgen.language import models as m
from skipgen.language.load import Path, Positions
from skipgen.language.locate import format_path

TYPICAL_SIZE = 224  # with no input size, a size failure is explained at this size

Sizes = list[list[int]]  # per dimension, the size in every slot
SizesOf = Callable[[int], tuple[int, ...] | None]  # a slot's size along every dimension


@dataclass(frozen=True)
class PendingOutput:
    name: str
    local: str
    channels: int
    slot: int
    flat: bool


class _Network:
    def __init__(self, spec: m.Spec, positions: Positions) -> None:
        self.spec = spec
        self.positions = positions
        self.record = Record(positions)
        self.working: SizeSet | None = None  # found on first use

    def lower(self) -> Graph:
        spec = self.spec
        names = self.names = resolve(spec, self.positions, self.record.error)
        self.check_block_count()
        walked = walk(spec.layers, ("layers",), spec.scaling)
        residual = sum(count for _, layer, count in walked if layer.drops_path)
        schedule = DropPathSchedule(spec.defaults.stochastic_depth, residual)
        lowering = LayerLowering(spec, self.record, schedule)
        kept = needed_layers(spec.layers, names)
        outputs: Outputs = {}
        todo = LayerList(
            layers=kept.layers,
            path=("layers",),
            names=names,
            channels=spec.input.channels,
            slot=0,
            outputs=outputs,
        )
        lowered = lowering.lower_list(todo)
        heads = lower_heads(lowering, spec, names, outputs)
        return self.finish(lowered, heads, self.returned(names, outputs, heads), kept.dropped)

    def returned(
        self, names: Names, outputs: Outputs, heads: list[LoweredHead]
    ) -> list[PendingOutput]:
        """What the network returns, in the order of `outputs`."""
        by_head: dict[Path, LoweredHead] = {("heads", head.index): head for head in heads}
        found = []
        for ref in names.outputs:
            if ref.path[0] == "heads":
                head = by_head.get(ref.path)
                if head is not None:
                    found.append(
                        PendingOutput(
                            ref.name,
                            self.spec.heads[int(ref.path[1])].name,
                            head.channels,
                            head.slot,
                            head.flat,
                        )
                    )
            elif ref.path in outputs:
                channels, slot = outputs[ref.path]
                layer = self.layer_at(ref.path)
                flat = layer.flattens
                found.append(PendingOutput(ref.name, names.locals[ref.path], channels, slot, flat))
        return found

    def layer_at(self, path: Path) -> Layer:
        node: Any = self.spec
        for part in path:
            node = node[part] if isinstance(part, int) else getattr(node, str(part))
        return node

    def check_block_count(self) -> None:
        """Refuse, before expanding anything, a network of more than ``MAX_BLOCKS`` blocks."""
        total = unscaled = 0
        layers = self.spec.layers
        scaled_walk = walk(layers, ("layers",), self.spec.scaling)
        plain_walk = walk(layers, ("layers",), m.Scaling())
        for (path, layer, count), (_, _, plain) in zip(scaled_walk, plain_walk, strict=True):
            if isinstance(layer, SequenceLayer):
                continue
            size = layer.layers if isinstance(layer, Dense) else 1
            total += count * size
            unscaled += plain * size
            if total > MAX_BLOCKS:
                scaled = unscaled <= MAX_BLOCKS
                self.record.error(
                    ("scaling", "depth") if scaled else self.crossing_key(path, layer),
                    f"the network reaches more than {MAX_BLOCKS:,} blocks at {format_path(path)}"
                    + (" after depth scaling" if scaled else ""),
                    f"skipgen builds at most {MAX_BLOCKS:,} blocks (each layer of a dense "
                    "block counts); lower `repeat` or `scaling.depth`",
                )
                raise SpecError(self.record.diagnostics)

    def crossing_key(self, path: Path, layer: Layer) -> Path:
        """The key to blame for the block count crossing the limit at the layer at ``path``:
        a dense block's `layers`, else the innermost `repeat` written around the layer, else
        the layer itself, or the use in the spec of the composite block it lies in."""
        if isinstance(layer, Dense) and "repeat" not in layer.model_fields_set:
            return (*path, "layers")
        around = [path[:k] for k in range(len(path), 1, -1) if isinstance(path[k - 1], int)]
        for outer in around:  # innermost first
            if "repeat" in self.layer_at(outer).model_fields_set:
                return (*outer, "repeat")
        positions = self.positions  # framed where composite bodies were expanded
        if not isinstance(positions, FramedPositions):
            return around[0]
        return next(p for p in around if not positions.enclosing(p))

    # -- sizes -----------------------------------------------------------------------------
    def rule(self) -> str:
        """Which input sizes work, in words."""
        if self.working is None:
            self.working = working_sizes(self.record.program)
        return describe(self.working)

    def run_sizes(self) -> Sizes | None:
        """The size in every slot for the input size given, or None when none is given."""
        dims = self.spec.input.dims
        size = self.spec.input.size
        diagnostics = self.record.diagnostics
        if size is not None and len(size) not in (1, dims):
            self.record.error(
                ("input", "size"),
                f"{len(size)} sizes given for {dims} dimensions",
                "give one size for every dimension, or a single number",
            )
        elif size is not None and not diagnostics:
            values = []
            for axis, n in enumerate(size * dims if len(size) == 1 else size):
                vals, failure = self.record.program.run(n)
                if failure is not None:
                    along = f" along dimension {axis + 1}" if dims > 1 else ""
                    self.size_error(failure, vals, n, along)
                    return None
                values.append(vals)
            return values
        elif size is None and not diagnostics and self.rule().startswith("no size"):
            vals, failure = self.record.program.run(TYPICAL_SIZE)
            if failure is not None:
                self.size_error(failure, vals, TYPICAL_SIZE, "")
        return None

    def size_error(self, failure: Failure, vals: list[int], n: int, along: str) -> None:
        """Report a size failure at input size ``n``; ``along`` names the dimension, if any."""
        step = self.record.steps[failure.where]
        hint = failure_hint(self.rule(), self.spec.input.dims)
        problem = self.record.program.explain(failure, vals)
        self.record.error(step.path, f"{step.what}{problem}{along} (input size {n})", hint)

    def out_scale(self, slot: int) -> tuple[int, int] | None:
        """The output size as one fixed fraction of every working input size, if it is."""
        sizes = self.working
        ratio = None if sizes is None else exact_scale(self.record.program, slot, sizes)
        if not ratio:
            return None
        return ratio.numerator, ratio.denominator

    # -- the graph -------------------------------------------------------------------------
    def finish(
        self,
        lowered: LoweredList,
        heads: list[LoweredHead],
        returned: list[PendingOutput],
        dropped: list[Path],
    ) -> Graph:
        spec = self.spec
        dims = spec.input.dims
        values = self.run_sizes()
        if self.record.diagnostics:
            raise SpecError(self.record.diagnostics)

        def sizes_of(slot: int) -> tuple[int, ...] | None:
            return None if values is None else tuple(v[slot] for v in values)

        unsized = spec.input.size is None
        input_size = tuple(values[a][0] for a in range(dims)) if values else None
        graph = Graph(
            name=spec.name,
            file=self.positions.file,
            dims=dims,
            in_channels=spec.input.channels,
            input_size=input_size,
            stages=tuple(self.member(s, sizes_of) for s in lowered.stages),
            out_channels=lowered.channels,
            out_size=None if lowered.flat else sizes_of(lowered.slot),
            flat=lowered.flat,
            size_rule=f"{AXES[dims]}: {self.rule()}",
            out_scale=self.out_scale(lowered.slot) if unsized and not lowered.flat else None,
            sizes=self.working,
            heads=tuple(Head(h.source, cast(Group, self.member(h.group, sizes_of))) for h in heads),
            dropped=tuple(self.dropped(path) for path in dropped),
        )
        modules = {
            member.save_as or member.attr: ".".join(path)
            for path, member in graph.members()
            if member.save_as is not None or path in {(h.group.attr,) for h in heads}
        }
        outputs = []
        for out in returned:
            size = None if out.flat else sizes_of(out.slot)
            outputs.append(
                Output(
                    out.name,
                    out.local,
                    modules[out.local],
                    out.channels,
                    size,
                    out.flat,
                    None if out.flat else self.reduction(input_size, size, out.slot),
                )
            )
        keyed = isinstance(spec.outputs, dict)
        order = tuple(spec.register_ or ())
        return replace(graph, outputs=tuple(outputs), keyed_outputs=keyed, order=order)

    def reduction(
        self, input_size: tuple[int, ...] | None, size: tuple[int, ...] | None, slot: int
    ) -> int | None:
        """How many times smaller than the input an output is, if a whole number."""
        if input_size is not None and size is not None:
            ratios = {i / s for i, s in zip(input_size, size, strict=True) if s}
            if len(ratios) == 1:
                ratio = ratios.pop()
                return int(ratio) if ratio.is_integer() else None
            return None
        scale = self.out_scale(slot)
        if scale is not None and scale[0] == 1:
            return scale[1]
        return None

    def dropped(self, path: Path) -> tuple[str, str]:
        """The module path and kind of a layer that no output needs."""
        keys = [self.names.attrs[path[: k + 2]] for k in range(0, len(path), 2)]
        return ".".join(keys), self.layer_at(path).type

    def member(self, pending: Member, sizes_of: SizesOf) -> Stage | Group:
        if isinstance(pending, PendingGroup):
            members = tuple(self.member(p, sizes_of) for p in pending.members)
            block = pending.block
            if block is not None:
                inputs = outside_reads(members)  # its own input is its forward's x
                inputs.pop(INPUT_LOCAL, None)
                block = replace(block, inputs=tuple(inputs), input_channels=tuple(inputs.values()))
            return Group(
                pending.attr,
                members,
                pending.walked,
                pending.long_skip,
                pending.save_as,
                checkpoint=pending.checkpoint,
                block=block,
                reads=pending.reads,
                order=pending.order,
                alias=pending.alias,
            )
        return Stage(
            pending.attr,
            tuple(self.node(p, sizes_of) for p in pending.nodes),
            pending.sequential,
            pending.long_skip,
            pending.save_as,
            pending.checkpoint,
            pending.reads,
            pending.alias,
        )

    def node(self, pending: PendingNode, sizes_of: SizesOf) -> Node:
        where = self.positions.diagnostic(pending.path, "")
        return Node(
            pending.kind,
            pending.call,
            pending.in_channels,
            pending.out_channels,
            sizes_of(pending.in_slot),
            None if pending.flat else sizes_of(pending.out_slot),
            pending.skip,
            pending.note,
            pending.params,
            where.line,
            where.col,
            pending.flat,
            where.file if where.file != self.positions.file else None,
            where.notes,
            pending.channels_last,
        )


def lower(spec: m.Spec, positions: Positions) -> Graph:
    """Lower a validated spec; raises :class:`SpecError` listing every problem."""
    return _Network(spec, positions).lower()
