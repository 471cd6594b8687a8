"""Lowering a list of layers: repeats, channels, size slots, names and long skips.

:meth:`LayerLowering.lower_list` takes a list of layers with everything that flows into it
(its place in the spec, its names, the incoming channels and size slot) and returns its
stages and what flows out; it keeps no state of its own between calls, so a list can be
lowered inside another. What the whole network shares — the settings, the diagnostics and
size program (:class:`Record`), the stochastic depth schedule — is handed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from skipgen.ir.blocks import BlockLowering, PendingNode, SkipSource, projection_call
from skipgen.ir.composite import own_skip
from skipgen.ir.forms import Form, channels_last_node
from skipgen.ir.graph import Block, LongSkip, Read, combined_channels
from skipgen.ir.merge import merge_stage
from skipgen.ir.names import Names
from skipgen.ir.pending import Member, PendingStage, members_of
from skipgen.ir.reads import INPUT
from skipgen.ir.record import Record
from skipgen.ir.skips import (
    SkipRequest,
    decide_skip,
    long_mismatch,
    projection_stride,
    unprojectable,
)
from skipgen.ir.tree import scaled_repeats
from skipgen.kinds.base import Kind, Layer
from skipgen.kinds.composite import Composite
from skipgen.kinds.merge import Merge
from skipgen.kinds.sequence import Sequence as SequenceLayer
from skipgen.language import models as m
from skipgen.language.limits import MAX_CHANNELS
from skipgen.language.load import Path
from skipgen.language.locate import format_path
from skipgen.language.shortcut import Shortcut


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


Outputs = dict[Path, tuple[int, int]]  # layer path -> (channels, size slot) after it


@dataclass(frozen=True, kw_only=True)
class LayerList:
    """A list of layers to lower, and what flows into it."""

    layers: Sequence[Layer]
    path: Path  # where the list is in the spec, e.g. ("layers",)
    names: Names  # module keys, locals and skip sources of every layer of the spec
    channels: int
    slot: int  # the size slot of its input
    outputs: Outputs  # what every layer lowered so far gave, shared by the lists of a spec
    keyed: bool = False  # a composite block's body: its layers are attributes, not numbered


@dataclass(frozen=True, kw_only=True)
class LoweredList:
    """The stages of a list of layers, and what flows out of it."""

    stages: tuple[Member, ...]
    channels: int
    slot: int
    flat: bool  # ends with a layer whose output is flat (a classifier)


class LayerLowering(BlockLowering):
    """Lowers lists of layers of one network; see the module's docstring."""

    def __init__(self, spec: m.Spec, record: Record, schedule: DropPathSchedule) -> None:
        super().__init__(spec, record)
        self.schedule = schedule

    def lower_list(self, todo: LayerList) -> LoweredList:
        """Lower ``todo.layers`` in order, from ``todo.channels`` at ``todo.slot``."""
        channels, slot = todo.channels, todo.slot
        if todo.keyed or todo.path == ("layers",):  # what `from: input` reads in this list
            todo.outputs[(*todo.path[:-1], INPUT)] = (channels, slot)
        stages: list[Member] = []
        form = Form()
        keyed = todo.keyed or todo.path == ("layers",)
        for i, layer in enumerate(todo.layers):
            if form.flat and not layer.takes_flat:
                shown = format_path((*todo.path, form.since or 0))
                self.record.error(
                    (*todo.path, i),
                    f"nothing but linear, act, dropout and drop_path can follow "
                    f"{_flat_layer(todo.layers[form.since or 0])}, whose output is flat",
                    f"move it ({shown}) to the end",
                )
                break
            problem = form.problem(layer, keyed)
            if problem is not None:
                self.record.error((*todo.path, i), *problem)
                continue
            members, channels, slot, flat = self.lower_layer(todo, i, channels, slot)
            if members is None:
                continue
            if form.channels_last or form.flat:
                members = [_in_form(m, form) for m in members]
            todo.outputs[(*todo.path, i)] = (channels, slot)
            form.after(layer, i, flat)
            if form.channels_last:  # its output has the channels last
                members = [_channels_last(m) for m in members]
            stages.extend(members)
        if form.channels_last:
            self.record.error(
                (*todo.path, form.since or 0),
                "the channels are still last where this list of layers ends",
                "put `{type: permute, to: channels_first}` after the layers that need them last",
            )
        flat = form.flat
        return LoweredList(stages=tuple(stages), channels=channels, slot=slot, flat=flat)

    def lower_layer(
        self, todo: LayerList, i: int, channels: int, slot: int
    ) -> tuple[list[Member] | None, int, int, bool]:
        """Layer ``i`` of ``todo`` as members of its list (None after an error), the channels
        and slot after it, and whether its output is flat."""
        path: Path = (*todo.path, i)
        layer = todo.layers[i]
        inputs = todo.names.inputs.get(path)
        reads: tuple[Read, ...] = ()
        if inputs is None and isinstance(layer, Merge):  # its `from` failed, reported
            return None, channels, slot, False
        if inputs is not None:
            if any(j not in todo.outputs for j in inputs):  # an error there, reported
                return None, channels, slot, False
            read = [todo.outputs[j] for j in inputs]
            reads = tuple((todo.names.locals[j], c) for j, (c, _) in zip(inputs, read, strict=True))
            if isinstance(layer, Merge):
                return merge_stage(self.record, todo.names, path, layer, read, reads)
            channels, slot = read[0]
        source = _long_skip_source(todo.names, path, todo.outputs)
        repeat = self.checked_repeats(path, layer)
        if source is not None and repeat > 1:
            self.record.error(
                (*path, "repeat"),
                "a layer with `skip.from` cannot repeat",
                "split it into the skip layer and a repeated layer after it",
            )
            source = None
        blocks: list[Block | None] = []
        if isinstance(layer, SequenceLayer):
            copies, out_ch, out_slot, flat = self.copies(
                todo, path, layer, repeat, (channels, slot), blocks
            )
            if len(copies) < repeat:
                return None, out_ch, out_slot, flat
            lowered: list[PendingNode] | list[tuple[Member, ...]] = copies
        else:
            assert isinstance(layer, Kind)  # a block: every layer but a sequence
            nodes = self.expand(path, layer, repeat, source, channels, slot)
            if len(nodes) < repeat:
                # Go on with the channels the layer asked for, to find later mistakes too.
                return (
                    None,
                    self.width(getattr(layer, "channels", None) or channels, layer),
                    slot,
                    False,
                )
            if source is not None and layer.sized_by_skip():  # its output: the source's size
                nodes[-1] = replace(nodes[-1], out_slot=source.slot)
            out_ch, out_slot = nodes[-1].out_channels, nodes[-1].out_slot
            flat = layer.flattens
            lowered = nodes
        long_skip = None
        if source is not None:
            long_skip, out_ch = self.long_skip(path, layer, source, out_ch, out_slot, todo)
        if out_ch > MAX_CHANNELS:
            self.record.error(
                path,
                f"the output would have {out_ch:,} channels, more than the limit of "
                f"{MAX_CHANNELS:,}",
                "lower channels, scaling.width, growth or the dense layers",
            )
        numbered = todo.path != ("layers",) and layer.name is None and not todo.keyed
        attr, walked = todo.names.attrs[path], path in todo.names.walked
        members = members_of(attr, numbered, walked, layer, lowered, blocks)
        members[-1] = replace(members[-1], long_skip=long_skip, save_as=todo.names.locals.get(path))
        members[0] = replace(members[0], reads=reads, alias=layer.alias)
        return members, out_ch, out_slot, flat

    def copies(
        self,
        todo: LayerList,
        path: Path,
        layer: SequenceLayer,
        repeat: int,
        start: tuple[int, int],
        blocks: list[Block | None],
    ) -> tuple[list[tuple[Member, ...]], int, int, bool]:
        """The copies of a sequence's layers from ``start`` (channels, size slot), up to the
        first that fails; the channels and slot after them, and whether the output is flat.
        A composite's own skip around each copy goes into ``blocks``."""
        channels, slot = start
        copies: list[tuple[Member, ...]] = []
        flat = False
        for r in range(repeat):
            if flat:
                self.record.error(
                    (*path, "repeat"),
                    "a sequence whose output is flat (it ends in a classifier) cannot repeat",
                    "remove `repeat`",
                )
                break
            errors = len(self.record.diagnostics)
            body = layer.layers
            if r and isinstance(layer, Composite) and layer.later is not None:
                body = layer.later  # its stride applies to the first copy only
            inner = LayerList(
                layers=body,
                path=(*path, "layers"),
                names=todo.names,
                channels=channels,
                slot=slot,
                outputs=todo.outputs,
                keyed=isinstance(layer, Composite),
            )
            lowered = self.lower_list(inner)
            if len(self.record.diagnostics) > errors:
                break  # a copy's errors are every copy's: report them once
            out_ch = lowered.channels
            if isinstance(layer, Composite):
                keys = set(todo.names.taken.get(inner.path, ()))
                own = own_skip(
                    self, path, layer, (channels, out_ch), (slot, lowered.slot), keys, r == 0
                )
                if own is None:
                    break
                blocks.append(own.block)
                out_ch = own.channels
            copies.append(lowered.stages)
            channels, slot, flat = out_ch, lowered.slot, lowered.flat
        return copies, channels, slot, flat

    def checked_repeats(self, path: Path, layer: Layer) -> int:
        repeat = scaled_repeats(layer, self.spec.scaling)
        if layer.flattens and repeat > 1:
            self.record.error(
                (*path, "repeat"),
                f"a {layer.type} cannot repeat: its output is flat",
                f"remove `repeat`: one {layer.type} ends the network",
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
        """The layer with its rate on the network's stochastic depth schedule, if it counts
        in it (:attr:`Layer.drops_path`)."""
        if not layer.drops_path:
            return layer
        rate = self.schedule.next_rate()  # every residual block counts, rate given or not
        if getattr(layer, "stochastic_depth", None) is not None:
            return layer
        return layer.model_copy(update={"stochastic_depth": rate})

    def long_skip(
        self,
        path: Path,
        layer: Layer,
        source: SkipSource,
        out_ch: int,
        out_slot: int,
        todo: LayerList,
    ) -> tuple[LongSkip | None, int]:
        """The long skip of the layer at ``path``, and the channels after it."""
        mode = layer.skip.mode if layer.skip else "none"
        inherited = self.inherited(layer)
        on_mismatch = layer.on_mismatch or layer.default_on_mismatch
        scale = self.record.program.scale_between(source.slot, out_slot)
        stride = projection_stride(scale)
        if mode != "none" and not stride and on_mismatch != "drop":
            self.record.layer_error(path, unprojectable(source.local, scale))
            return None, out_ch
        form = _long_skip_form(layer)
        if form is not None and form.registered is not None:
            self.record.error(
                (*path, "shortcut", "registered"),
                "a skip from an earlier layer registers its projection after the layer, "
                f"as {todo.names.attrs[path]}_skip: `registered` places a block's own",
                "remove `registered`",
            )
            return None, out_ch
        request = SkipRequest(
            mode=mode,
            on_mismatch=on_mismatch,
            mismatch=long_mismatch(source.local, source.channels, out_ch, mode, scale),
            layer_kind=layer.type,
            projectable=True,
            shortcut_channels=source.channels,
            projected_channels=source.channels if mode == "concat" else out_ch,
            stride=stride,
            form=form,
        )
        decision = decide_skip(request, inherited)
        if decision.error is not None:
            self.record.layer_error(path, decision.error)
        elif form is not None and decision.projection is None:
            which = f"the skip from {source.local!r}"
            hint = "remove `shortcut`"
            if isinstance(layer, Composite) and layer.own_skip != "none":
                which = f"this use's skip from {source.local!r} replaces the block's own "
                which += f"`skip: {layer.own_skip}`, and"
                hint += ", or the use's `skip` to keep the block's own"
            self.record.error(
                (*path, "shortcut"),
                f"{which} is not projected ({decision.note}), so a shortcut form has nothing "
                "to shape",
                hint,
            )
            return None, out_ch
        resizes = isinstance(layer, Kind) and layer.sized_by_skip()
        if decision.note in ("none", "dropped"):
            dropped = LongSkip(source.local, mode, None, None, "dropped", 0, resizes=resizes)  # type: ignore[arg-type]
            return (dropped if decision.note == "dropped" or resizes else None), out_ch
        projection, shortcut_slot = None, source.slot
        if decision.projection is not None:
            where = ((*path, "skip"), "the projected shortcut")
            slot = self.projected_slot(
                path, layer, inherited, decision.projection, source.slot, where
            )
            if slot is None:
                return None, out_ch
            shortcut_slot = slot
            projection = projection_call(decision.projection, inherited)
        self.record.program.check(
            shortcut_slot,
            out_slot,
            self.record.step((*path, "skip"), f"{mode} with the shortcut from {source.local!r}"),
        )
        channels = combined_channels(mode, decision.projection is None, source.channels, out_ch)
        attr_skip = f"{todo.names.attrs[path]}_skip" if projection else None
        if attr_skip in todo.names.taken[todo.path]:
            self.record.error(
                (*path, "skip"),
                f"this skip's projection would be named {attr_skip!r}, which a layer already uses",
                "rename that layer, or this one",
            )
        note, params = decision.note, decision.params
        first = layer.skip is None or layer.skip.order != "shortcut_last"
        skip = LongSkip(
            source.local,
            mode,  # type: ignore[arg-type]
            projection,
            attr_skip,
            note,  # type: ignore[arg-type]
            params,
            first,
            resizes,
            source.channels,
        )
        return skip, channels


def _long_skip_form(layer: Layer) -> Shortcut | None:
    """How the layer asks its long skip's projection to be built: its ``shortcut``; a
    composite use's own (not its block's, which shapes the block's own skip)."""
    if isinstance(layer, Composite):
        return layer.own_shortcut if layer.shortcut_given else None
    form: Shortcut | None = getattr(layer, "shortcut", None)
    return form


def _flat_layer(layer: Layer) -> str:
    """What a layer whose output is flat is, in words."""
    if isinstance(layer, SequenceLayer):
        return "a sequence that ends in a classifier"
    return f"a {layer.type}"


def _long_skip_source(names: Names, path: Path, outputs: Outputs) -> SkipSource | None:
    """Where the long skip of the layer at ``path`` comes from, if it has one and that layer
    was lowered."""
    j = names.sources.get(path)
    if j is None or j not in outputs:
        return None
    channels, slot = outputs[j]
    return SkipSource(local=names.locals[j], channels=channels, slot=slot)


def _channels_last(member: Member) -> Member:
    """A member whose output has the channels on the last axis."""
    if not isinstance(member, PendingStage):
        return member
    return replace(member, nodes=tuple(replace(n, channels_last=True) for n in member.nodes))


def _in_form(member: Member, form: Form) -> Member:
    """A member lowered after a flat output (its nodes flat too), or while the channels are
    last (its layer norm over the last axis)."""
    if not isinstance(member, PendingStage):
        return member
    nodes = tuple(
        replace(channels_last_node(n) if form.channels_last else n, flat=n.flat or form.flat)
        for n in member.nodes
    )
    return replace(member, nodes=nodes)
