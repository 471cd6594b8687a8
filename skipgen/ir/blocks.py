"""Lowering one block: a layer's body from its kind, its norms and its own skip."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from skipgen.errors import LayerError
from skipgen.ir import common
from skipgen.ir.graph import Call, SkipNote
from skipgen.ir.record import Record
from skipgen.ir.skips import (
    Projection,
    SkipDecision,
    SkipRequest,
    decide_skip,
    local_mismatch,
    shortcut_norm,
)
from skipgen.kinds.base import Kind, Layer
from skipgen.language import models as m
from skipgen.language.load import Path
from skipgen.language.locate import format_path
from skipgen.language.shortcut import Shortcut
from skipgen.language.vocabulary import Act, Norm


@dataclass(frozen=True, kw_only=True)
class PendingNode:
    """A node whose spatial sizes are filled in once the size program has run."""

    kind: str
    call: Call
    in_channels: int
    out_channels: int
    in_slot: int
    out_slot: int
    skip: str
    note: SkipNote
    params: int
    path: Path
    flat: bool  # its output is (batch, features)
    channels_last: bool = False  # its output has the channels on the last axis


@dataclass(frozen=True, kw_only=True)
class SkipSource:
    """Where a long skip comes from: a local variable, its channels and size slot."""

    local: str
    channels: int
    slot: int


def form_kwargs(form: Shortcut | None, inherited: common.Resolved) -> dict[str, Any]:
    """The keyword arguments of ``projection`` that build it as a layer's ``shortcut`` asks
    (none without one: its defaults)."""
    if form is None:
        return {}
    kwargs: dict[str, Any] = {
        "kernel_size": form.kernel,
        "pool": form.type == "avgpool",
        "bias": form.bias,
    }
    if form.norm is not None:
        kwargs["norm_layer"] = replace(inherited, norm=form.norm).norm_layer()
    return kwargs


# The keywords of ``projection``, in the order of its signature.
PROJECTION_KEYWORDS = ("kernel_size", "pool", "dims", "norm_layer", "bias")


def projection_call(projection: Projection, inherited: common.Resolved) -> Call:
    """The call of ``projection`` that builds a shortcut's projection (a long skip's, or a
    composite block's own) as the layer's ``shortcut`` asks."""
    kwargs = {**inherited.norm_kwargs(), **form_kwargs(projection.form, inherited)}
    return common.call(
        "projection",
        projection.in_channels,
        projection.out_channels,
        stride=projection.stride,
        **{key: kwargs[key] for key in PROJECTION_KEYWORDS if key in kwargs},
    )


# A block's keywords for the arguments of the projection it builds.
_BLOCK_KEYWORDS = {
    "kernel_size": "shortcut_kernel",
    "pool": "shortcut_pool",
    "bias": "shortcut_bias",
    "norm_layer": "shortcut_norm",
}


def shortcut_kwargs(projection: Projection | None, inherited: common.Resolved) -> dict[str, Any]:
    """The block's keyword arguments that build its projection as the layer's ``shortcut``
    asks (none without one: the block's defaults)."""
    form = projection.form if projection is not None else None
    if form is None:
        return {}
    kwargs = {_BLOCK_KEYWORDS[k]: v for k, v in form_kwargs(form, inherited).items()}
    if form.registered is not None:
        kwargs["shortcut_first"] = form.registered == "first"
    return kwargs


class BlockLowering:
    """Lowers single blocks with the network's settings, into one :class:`Record`."""

    def __init__(self, spec: m.Spec, record: Record) -> None:
        self.spec = spec
        self.record = record

    def inherited(self, layer: Layer) -> common.Resolved:
        """The norm, activation and bias the layer inherits from the network's defaults."""
        defaults = self.spec.defaults
        own = layer.own_norm_act
        norm = getattr(layer, "norm", None) or (Norm(type="none") if own else defaults.norm)
        act = getattr(layer, "act", None) or (Act(type="none") if own else defaults.act)
        return common.Resolved.of(self.spec.input.dims, norm, act, defaults.bias)

    def width(self, channels: int, layer: Kind) -> int:
        scaling = self.spec.scaling
        if scaling.width == 1.0 or not layer.scale_width:
            return channels
        return common.make_divisible(channels * scaling.width, scaling.divisor)

    def block(
        self,
        path: Path,
        layer: Kind,
        first: bool,
        cin: int,
        in_slot: int,
        source: SkipSource | None,
    ) -> PendingNode | None:
        """One repeat of the layer at ``path``; None after an error, reported."""
        inherited = self.inherited(layer)
        lowered = self.body(path, layer, inherited, first, cin, in_slot)
        if lowered is None:
            return None
        body, out_slot = lowered
        mode = self.local_skip_mode(path, layer, source)
        if mode is None:
            return None
        decision = self.local_skip(path, layer, inherited, body, mode, cin, in_slot, out_slot)
        if decision is None:
            return None
        # its shortcut form is its long skip's (see long_skip), even one whose `from` is
        # broken (reported once, there)
        long = layer.skip is not None and layer.skip.from_ is not None
        if first and not long and decision.projection is None and getattr(layer, "shortcut", None):
            self.record.error(
                (*path, "shortcut"),
                f"this {layer.type} does not project its shortcut ({decision.note}), so a "
                "shortcut form has nothing to shape",
                "remove `shortcut`, or give the block a stride or new channels (its first "
                "repeat projects)",
            )
            return None
        projected = decision.projection.out_channels if decision.projection else cin
        return PendingNode(
            kind=layer.type,
            call=self.skip_call(body, inherited, decision, cin, layer.stochastic_depth or 0.0),
            in_channels=cin,
            out_channels=body.out_channels + (projected if decision.mode == "concat" else 0),
            in_slot=in_slot,
            out_slot=out_slot,
            skip=decision.mode,
            note=decision.note,
            params=body.params + decision.params,
            path=path,
            flat=layer.flattens,
        )

    def body(
        self,
        path: Path,
        layer: Kind,
        inherited: common.Resolved,
        first: bool,
        cin: int,
        in_slot: int,
    ) -> tuple[common.Body, int] | None:
        """The layer's body from its kind, and the size slot of its output; None after an
        error, reported."""
        channels = getattr(layer, "channels", None)
        cout = self.width(channels, layer) if channels else 0
        groups = getattr(layer, "groups", 1)
        if channels and cout != channels and groups == channels and groups > 1:
            layer = layer.model_copy(update={"groups": cout})  # depthwise stays depthwise
        stride = getattr(layer, "stride", 1) if first else 1  # pools use their own stride
        body = layer.lower(inherited, cin, cout, stride or 1)
        errors = (*self.act_errors(path, layer, inherited), *body.layer_errors())
        for error in errors:
            self.record.layer_error(path, error)
        if errors:
            return None
        program, step = self.record.program, self.record.step
        if body.min_input:
            program.minimum(in_slot, body.min_input, step(path, layer.type))
        out_slot = program.op(in_slot, body.op, step(path, layer.type))
        slots = {"in": in_slot, "out": out_slot}
        normed = [(channels, slots[at]) for channels, at in body.normed]
        if not self.norms(path, layer, inherited, normed):
            return None
        return body, out_slot

    def act_errors(
        self, path: Path, layer: Kind, inherited: common.Resolved
    ) -> tuple[LayerError, ...]:
        """Why the layer cannot have its activation: a per-channel PReLU needs one channel
        count, which the activations inside a block of several widths do not share."""
        if not inherited.per_channel_act or layer.one_act_width:
            return ()
        if "act" not in type(layer).model_fields:  # a pool, dropout...: no activation
            return ()
        message = (
            f"a per-channel prelu needs the activations of a layer to see one channel "
            f"count, and those of a {layer.type} do not"
        )
        hint = "use prelu without per_channel here, or build the block from conv layers"
        if getattr(layer, "act", None) is None:  # from the defaults: report it there
            self.record.error(("defaults", "act"), f"{message} ({format_path(path)})", hint)
            return ()
        return (LayerError(field="act", message=message, hint=hint),)

    def local_skip_mode(self, path: Path, layer: Kind, source: SkipSource | None) -> str | None:
        """The skip the block itself combines; None after an error, reported."""
        mode = layer.skip.mode if layer.skip else layer.default_skip
        if layer.skip and layer.skip.from_ and source is None:
            mode = "none"  # its reference is broken and already reported
        if layer.flattens and mode != "none":
            self.record.error(
                (*path, "skip"), f"a {layer.type} cannot have a skip", "remove `skip`"
            )
            return None
        if source is not None:  # the long skip is combined in the network's forward
            return "none"
        return mode

    def local_skip(
        self,
        path: Path,
        layer: Kind,
        inherited: common.Resolved,
        body: common.Body,
        mode: str,
        cin: int,
        in_slot: int,
        out_slot: int,
    ) -> SkipDecision | None:
        """What becomes of the skip around the block; None after an error, reported."""
        request = SkipRequest(
            mode=mode,
            on_mismatch=layer.on_mismatch or layer.default_on_mismatch,
            mismatch=local_mismatch(cin, body.out_channels, body.op, mode),
            layer_kind=layer.type,
            projectable=body.op[0] == "conv",
            shortcut_channels=cin,
            projected_channels=body.out_channels if mode == "add" else cin,
            stride=body.stride,
            # a pre-activated block projects with a bare conv; Shortcut with conv + norm
            bare=bool(body.builtin_skip and getattr(layer, "preact", False)),
            form=getattr(layer, "shortcut", None),
        )
        decision = decide_skip(request, inherited)
        if decision.error is not None:
            self.record.layer_error(path, decision.error)
            return None
        projection = decision.projection
        slots = (in_slot, out_slot)
        if projection and not self.project(path, layer, inherited, projection, mode, slots):
            return None
        return decision

    def project(
        self,
        path: Path,
        layer: Kind,
        inherited: common.Resolved,
        projection: Projection,
        mode: str,
        slots: tuple[int, int],
    ) -> bool:
        """Record the projection of a local skip around the block from ``slots`` (its input
        and output size slots) in the size program; False after an error, reported."""
        in_slot, out_slot = slots
        projected_slot = self.projected_slot(path, layer, inherited, projection, in_slot)
        if projected_slot is None:
            return False
        where = self.record.step(path, f"the projected shortcut of this {mode}")
        self.record.program.check(projected_slot, out_slot, where)
        return True

    def projected_slot(
        self,
        path: Path,
        layer: Layer,
        inherited: common.Resolved,
        projection: Projection,
        in_slot: int,
        step: tuple[Path, str] | None = None,
    ) -> int | None:
        """The size slot of a projection's output from its input's (``in_slot``), its norm
        checked over it; None after an error, reported. ``step``: where, and as what, the
        size program names the projection (by default, the layer's "projection")."""
        program = self.record.program
        at, what = step or (path, "projection")
        conv = ("conv", 1, projection.stride, 0, 1)  # any form gives the 1x1 conv's size
        projected_slot = program.op(in_slot, conv, self.record.step(at, what))
        norm = shortcut_norm(projection.form, inherited, projection.bare)
        if norm is not None:
            own = projection.form is not None and projection.form.norm is not None
            normed = [(projection.out_channels, projected_slot)]
            where = (*path, "shortcut", "norm") if own else None
            shortcut = replace(inherited, norm=norm)
            if not self.norms(path, layer, shortcut, normed, " in the projected shortcut", where):
                return None
        return projected_slot

    @staticmethod
    def skip_call(
        body: common.Body,
        inherited: common.Resolved,
        decision: SkipDecision,
        cin: int,
        drop_path: float,
    ) -> Call:
        """The block's call: its own, or wrapped in a ``Shortcut`` that adds the skip (and
        drops its body's output at the layer's stochastic depth rate, for an add)."""
        downsample = decision.projection is not None
        if body.builtin_skip or decision.mode == "none":
            made = body.make(decision.mode, downsample)
            return common.with_kwargs(made, **shortcut_kwargs(decision.projection, inherited))
        return common.call(
            "Shortcut",
            body.make("none", False),
            cin,
            body.out_channels,
            stride=body.stride,
            skip=decision.mode,
            downsample=downsample,
            drop_path=drop_path if decision.mode == "add" else 0.0,
            **inherited.norm_kwargs(),
            **shortcut_kwargs(decision.projection, inherited),
        )

    def norms(
        self,
        path: Path,
        layer: Layer,
        inherited: common.Resolved,
        normed: list[tuple[int, int]],
        where: str = "",
        at: Path | None = None,
    ) -> bool:
        """Check the norm layers over ``(channels, size slot)``; False after an error. A
        group count that does not fit is reported ``at`` the norm's key (by default, the
        layer's own norm or the network's)."""
        norm = inherited.norm
        if at is None:
            at = (*path, "norm") if getattr(layer, "norm", None) else ("defaults", "norm")
        if norm.type == "group":
            for channels, _ in normed:
                if channels % norm.groups:
                    self.record.error(
                        at,
                        f"group norm with {norm.groups} groups cannot split "
                        f"{channels} channels{where}",
                        "choose a group count that divides channels",
                    )
                    return False
        # a norm over one value fails in torch: instance norm normalizes each channel over
        # the positions, group norm each group over its channels and the positions; with
        # one channel per group, one position is not enough for either
        if norm.type == "instance":
            alone = {slot for _, slot in normed}
        else:
            alone = {slot for c, slot in normed if norm.type == "group" and c == norm.groups}
        if alone:
            what = self.norm_words(layer, norm, where)
            for slot in sorted(alone):
                self.record.program.minimum(slot, 2, self.record.step(path, what))
        return True

    @staticmethod
    def norm_words(layer: Layer, norm: Norm, where: str) -> str:
        """The norm that needs 2 positions, as a size error names it."""
        if layer.type == "norm" and not where:
            words = f"this {norm.type} norm"
        else:
            words = f"the {norm.type} norm{where or ' of this ' + layer.type}"
        if norm.type == "group":
            words += f" ({norm.groups} groups of one channel)"
        return words
