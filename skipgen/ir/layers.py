"""Lowering a list of layers: repeats, channels, size slots, names and long skips.

:meth:`LayerLowering.lower_list` takes a list of layers with everything that flows into it
(its place in the spec, its names, the incoming channels and size slot) and returns its
stages and what flows out; it keeps no state of its own between calls, so a list can be
lowered inside another. What the whole network shares — the settings, the diagnostics and
size program (:class:`Record`), the stochastic depth schedule — is handed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from skipgen.ir import common
from skipgen.ir.blocks import BlockLowering, PendingNode, SkipSource
from skipgen.ir.graph import LongSkip
from skipgen.ir.names import Names
from skipgen.ir.record import Record
from skipgen.ir.skips import SkipRequest, decide_skip, long_mismatch
from skipgen.kinds.base import Kind
from skipgen.spec import models as m
from skipgen.spec.limits import MAX_CHANNELS
from skipgen.spec.load import Path
from skipgen.spec.locate import format_path

MAX_BLOCKS = 10_000  # blocks after depth scaling (a dense block counts each of its layers)


def scaled_repeats(layer: Kind, scaling: m.Scaling) -> int:
    """How often a layer repeats, after the depth multiplier (at most ``MAX_BLOCKS + 1``)."""
    scale_depth = layer.scale_depth if layer.scale_depth is not None else layer.scales_depth
    if scale_depth and scaling.depth != 1.0:
        return common.scaled_depth(layer.repeat, scaling.depth, MAX_BLOCKS + 1)
    return min(layer.repeat, MAX_BLOCKS + 1)


@dataclass
class DropPathSchedule:
    """Stochastic depth grows linearly over the network's residual blocks, in their order."""

    top_rate: float
    residual_blocks: int
    seen: int = 0  # residual blocks so far

    def next_rate(self) -> float:
        rate = self.top_rate * self.seen / self.residual_blocks
        self.seen += 1
        return rate


@dataclass(frozen=True, kw_only=True)
class LayerList:
    """A list of layers to lower, and what flows into it."""

    layers: Sequence[Kind]
    path: Path  # where the list is in the spec, e.g. ("layers",)
    names: Names  # attribute names, locals and skip sources, by index in ``layers``
    channels: int
    slot: int  # the size slot of its input


@dataclass(frozen=True, kw_only=True)
class PendingStage:
    """A stage whose nodes' spatial sizes are filled in once the size program has run."""

    attr: str
    nodes: tuple[PendingNode, ...]
    sequential: bool
    long_skip: LongSkip | None
    save_as: str | None


@dataclass(frozen=True, kw_only=True)
class LoweredList:
    """The stages of a list of layers, and what flows out of it."""

    stages: tuple[PendingStage, ...]
    channels: int
    slot: int
    flat: bool  # ends with a classifier


class LayerLowering(BlockLowering):
    """Lowers lists of layers of one network; see the module's docstring."""

    def __init__(self, spec: m.Spec, record: Record, schedule: DropPathSchedule) -> None:
        super().__init__(spec, record)
        self.schedule = schedule

    def lower_list(self, todo: LayerList) -> LoweredList:
        """Lower ``todo.layers`` in order, from ``todo.channels`` at ``todo.slot``."""
        channels, slot = todo.channels, todo.slot
        stages: list[PendingStage] = []
        outputs: dict[int, tuple[int, int]] = {}  # layer index -> (channels, slot) after it
        flat_at: int | None = None
        for i, layer in enumerate(todo.layers):
            if flat_at is not None:
                self.record.error(
                    (*todo.path, i),
                    "nothing can follow a classifier, whose output is flat",
                    f"move the classifier ({format_path((*todo.path, flat_at))}) to the end",
                )
                break
            source = _long_skip_source(todo.names, i, outputs)
            stage, channels, slot = self.lower_layer(todo, i, source, channels, slot)
            if stage is None:
                continue
            outputs[i] = (channels, slot)
            stages.append(stage)
            if layer.type == "classifier":
                flat_at = i
        flat = flat_at is not None
        return LoweredList(stages=tuple(stages), channels=channels, slot=slot, flat=flat)

    def lower_layer(
        self, todo: LayerList, i: int, source: SkipSource | None, channels: int, slot: int
    ) -> tuple[PendingStage | None, int, int]:
        """Layer ``i`` of ``todo`` as a stage (None after an error), and its channels and slot."""
        path: Path = (*todo.path, i)
        layer = todo.layers[i]
        repeat = self.checked_repeats(path, layer)
        if source is not None and repeat > 1:
            self.record.error(
                (*path, "repeat"),
                "a layer with `skip.from` cannot repeat",
                "split it into the skip layer and a repeated layer after it",
            )
            source = None
        nodes = self.expand(path, layer, repeat, source, channels, slot)
        if nodes:
            channels, slot = nodes[-1].out_channels, nodes[-1].out_slot
        if len(nodes) < repeat:
            # Go on with the channels the layer asked for, to find later mistakes too.
            return None, self.width(getattr(layer, "channels", None) or channels, layer), slot
        long_skip = None
        if source is not None:
            long_skip, channels = self.long_skip(path, layer, source, nodes[0], todo.names, i)
        if channels > MAX_CHANNELS:
            self.record.error(
                path,
                f"the output would have {channels:,} channels, more than the limit of "
                f"{MAX_CHANNELS:,}",
                "lower channels, scaling.width, growth or the dense layers",
            )
        stage = PendingStage(
            attr=todo.names.attrs[i],
            nodes=tuple(nodes),
            sequential=repeat > 1 or "repeat" in layer.model_fields_set,
            long_skip=long_skip,
            save_as=todo.names.locals.get(i),
        )
        return stage, channels, slot

    def checked_repeats(self, path: Path, layer: Kind) -> int:
        repeat = scaled_repeats(layer, self.spec.scaling)
        if layer.type == "classifier" and repeat > 1:
            self.record.error(
                (*path, "repeat"),
                "a classifier cannot repeat: its output is flat",
                "remove `repeat`: one classifier ends the network",
            )
            return 1
        return repeat

    def expand(
        self,
        path: Path,
        layer: Kind,
        repeat: int,
        source: SkipSource | None,
        channels: int,
        slot: int,
    ) -> list[PendingNode]:
        """The repeats of a layer, one block each, up to the first that fails."""
        nodes: list[PendingNode] = []
        for r in range(repeat):
            node = self.block(path, self.with_drop_path(layer), r == 0, channels, slot, source)
            if node is None:
                break
            nodes.append(node)
            channels, slot = node.out_channels, node.out_slot
        return nodes

    def with_drop_path(self, layer: Kind) -> Kind:
        """The layer with its rate on the network's stochastic depth schedule, if residual."""
        if not layer.residual:
            return layer
        rate = self.schedule.next_rate()  # every residual block counts, rate given or not
        if getattr(layer, "stochastic_depth", None) is not None:
            return layer
        return layer.model_copy(update={"stochastic_depth": rate})

    def long_skip(
        self, path: Path, layer: Kind, source: SkipSource, node: PendingNode, names: Names, i: int
    ) -> tuple[LongSkip | None, int]:
        """The long skip of the layer at ``path``, and the channels after it."""
        mode = layer.skip.mode if layer.skip else "none"
        out_ch = node.out_channels
        inherited = self.inherited(layer)
        request = SkipRequest(
            mode=mode,
            on_mismatch=layer.on_mismatch or layer.default_on_mismatch,
            mismatch=long_mismatch(source.local, source.channels, out_ch, mode),
            layer_kind=layer.type,
            projectable=True,
            shortcut_channels=source.channels,
            projected_channels=out_ch,
        )
        decision = decide_skip(request, inherited)
        if decision.error is not None:
            self.record.layer_error(path, decision.error)
        if decision.note in ("none", "dropped"):
            dropped = LongSkip(source.local, mode, None, None, "dropped", 0)  # type: ignore[arg-type]
            return (dropped if decision.note == "dropped" else None), out_ch
        projection = None
        if decision.projection is not None:
            normed = [(out_ch, node.out_slot)]
            if not self.norms(path, layer, inherited, normed, " in the projected shortcut"):
                return None, out_ch
            projection = common.call(
                "projection", source.channels, out_ch, **inherited.norm_kwargs()
            )
        self.record.program.check(
            source.slot,
            node.out_slot,
            self.record.step((*path, "skip"), f"{mode} with the shortcut from {source.local!r}"),
        )
        channels = source.channels + out_ch if mode == "concat" else out_ch
        attr_skip = f"{names.attrs[i]}_skip" if projection else None
        if attr_skip in names.taken:
            self.record.error(
                (*path, "skip"),
                f"this skip's projection would be named {attr_skip!r}, which a layer already uses",
                "rename that layer, or this one",
            )
        note, params = decision.note, decision.params
        return LongSkip(source.local, mode, projection, attr_skip, note, params), channels  # type: ignore[arg-type]


def _long_skip_source(
    names: Names, i: int, outputs: dict[int, tuple[int, int]]
) -> SkipSource | None:
    """Where layer ``i``'s long skip comes from, if it has one and that layer was lowered."""
    j = names.sources.get(i)
    if j is None or j not in outputs:
        return None
    channels, slot = outputs[j]
    return SkipSource(local=names.locals[j], channels=channels, slot=slot)
