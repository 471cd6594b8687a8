"""Lowering: a validated spec becomes a frozen graph, with every mistake located.

Repeats are expanded, defaults and width/depth multipliers applied, names and references
resolved, and channels (and, when the input size is known, spatial sizes) inferred — in
plain Python, without torch. All errors are collected and raised together.
"""

from __future__ import annotations

from dataclasses import dataclass

from skipgen.errors import Diagnostic, SpecError
from skipgen.ir import common
from skipgen.ir.graph import Call, Graph, LongSkip, Node, Stage
from skipgen.ir.names import Names, resolve
from skipgen.ir.sizes import (
    AXES,
    Failure,
    Program,
    SizeSet,
    describe,
    exact_scale,
    keeps_size,
    working_sizes,
)
from skipgen.spec import models as m
from skipgen.spec.limits import MAX_CHANNELS
from skipgen.spec.load import Path, Positions
from skipgen.spec.locate import format_path


@dataclass
class _Pending:
    """A node whose spatial sizes are filled in once the size program has run."""

    kind: str
    call: Call
    in_channels: int
    out_channels: int
    in_slot: int
    out_slot: int
    skip: str
    note: str
    params: int
    path: Path


@dataclass(frozen=True)
class _Source:
    """Where a long skip comes from: a local variable, its channels and size slot."""

    local: str
    channels: int
    slot: int


@dataclass
class _Where:
    """What a size-program step or check stands for, to word a failure."""

    path: Path
    what: str


MAX_BLOCKS = 10_000  # blocks after depth scaling (a dense block counts each of its layers)


class _Lowering:
    def __init__(self, spec: m.Spec, positions: Positions) -> None:
        self.spec = spec
        self.pos = positions
        self.diags: list[Diagnostic] = []
        self.program = Program()
        self.wheres: list[_Where] = []

    # -- helpers -------------------------------------------------------------------------
    def error(self, path: Path, message: str, hint: str | None = None) -> None:
        self.diags.append(self.pos.diagnostic(path, f"{format_path(path)}: {message}", hint))

    def where(self, path: Path, what: str) -> int:
        self.wheres.append(_Where(path, what))
        return len(self.wheres) - 1

    def resolved(self, block: m.Kind, own: bool) -> common.Resolved:
        d = self.spec.defaults
        norm = getattr(block, "norm", None) or (m.Norm(type="none") if own else d.norm)
        act = getattr(block, "act", None) or ("none" if own else d.act)
        return common.Resolved(self.spec.input.dims, norm, act, d.bias)

    def width(self, channels: int, block: m.Kind) -> int:
        s = self.spec.scaling
        if s.width == 1.0 or not block.scale_width:
            return channels
        return common.make_divisible(channels * s.width, s.divisor)

    # -- the walk --------------------------------------------------------------------------
    def run(self) -> Graph:
        spec = self.spec
        names = resolve(spec, self.pos, self.error)
        channels = spec.input.channels
        slot = 0
        flat_at: int | None = None
        stages: list[tuple[str, list[_Pending], bool, LongSkip | None, str | None]] = []
        outputs: dict[int, tuple[int, int]] = {}  # layer index -> (channels, slot)
        repeats = [self.repeats(block) for block in spec.layers]
        self.check_block_count(repeats)
        residual = sum(r for b, r in zip(spec.layers, repeats, strict=True) if b.residual)
        seen = 0  # residual blocks so far, for the network's stochastic depth schedule
        for i, block in enumerate(spec.layers):
            path: Path = ("layers", i)
            if flat_at is not None:
                self.error(
                    path,
                    "nothing can follow a classifier, whose output is flat",
                    f"move the classifier (layers[{flat_at}]) to the end",
                )
                break
            repeat = repeats[i]
            if block.type == "classifier" and repeat > 1:
                self.error(
                    (*path, "repeat"),
                    "a classifier cannot repeat: its output is flat",
                    "remove `repeat`: one classifier ends the network",
                )
                repeat = 1
            source = None
            if i in names.sources and names.sources[i] in outputs:
                j = names.sources[i]
                source = _Source(names.locals[j], *outputs[j])
            if source is not None and repeat > 1:
                self.error(
                    (*path, "repeat"),
                    "a layer with `skip.from` cannot repeat",
                    "split it into the skip layer and a repeated layer after it",
                )
                source = None
            nodes: list[_Pending] = []
            long_skip = None
            for r in range(repeat):
                this = block
                if block.residual:  # stochastic depth counts its residual branch
                    if getattr(block, "stochastic_depth", None) is None:
                        rate = spec.defaults.stochastic_depth * seen / residual
                        this = block.model_copy(update={"stochastic_depth": rate})
                    seen += 1
                node = self.block(i, this, r == 0, channels, slot, source)
                if node is None:
                    break
                nodes.append(node)
                channels, slot = node.out_channels, node.out_slot
            if len(nodes) < repeat:
                # Go on with the channels the layer asked for, to find later mistakes too.
                channels = self.width(getattr(block, "channels", None) or channels, block)
                continue
            if source is not None:
                long_skip, channels = self.long(i, block, source, nodes[0], names)
            if channels > MAX_CHANNELS:
                self.error(
                    path,
                    f"the output would have {channels:,} channels, more than the limit of "
                    f"{MAX_CHANNELS:,}",
                    "lower channels, scaling.width, growth or the dense layers",
                )
            sequential = repeat > 1 or "repeat" in block.model_fields_set
            outputs[i] = (channels, slot)
            stages.append((names.attrs[i], nodes, sequential, long_skip, names.locals.get(i)))
            if block.type == "classifier":
                flat_at = i
        return self.finish(stages, channels, slot, flat_at is not None)

    def repeats(self, block: m.Kind) -> int:
        """How often a layer repeats, after the depth multiplier (at most ``MAX_BLOCKS + 1``)."""
        scale_depth = block.scale_depth if block.scale_depth is not None else block.scales_depth
        if scale_depth and self.spec.scaling.depth != 1.0:
            return common.scaled_depth(block.repeat, self.spec.scaling.depth, MAX_BLOCKS + 1)
        return min(block.repeat, MAX_BLOCKS + 1)

    def check_block_count(self, repeats: list[int]) -> None:
        """Refuse, before expanding anything, a network of more than ``MAX_BLOCKS`` blocks."""
        total = unscaled = 0
        for i, (block, repeat) in enumerate(zip(self.spec.layers, repeats, strict=True)):
            size = block.layers if isinstance(block, m.Dense) else 1
            total += repeat * size
            unscaled += block.repeat * size
            if total > MAX_BLOCKS:
                scaled = unscaled <= MAX_BLOCKS
                dense_only = size > 1 and "repeat" not in block.model_fields_set
                field = "layers" if dense_only else "repeat"
                self.error(
                    ("scaling", "depth") if scaled else ("layers", i, field),
                    f"the network reaches more than {MAX_BLOCKS:,} blocks at layers[{i}]"
                    + (" after depth scaling" if scaled else ""),
                    f"skipgen builds at most {MAX_BLOCKS:,} blocks (each layer of a dense "
                    "block counts); lower `repeat` or `scaling.depth`",
                )
                raise SpecError(self.diags)

    def block(
        self,
        i: int,
        block: m.Kind,
        first: bool,
        cin: int,
        in_slot: int,
        source: _Source | None,
    ) -> _Pending | None:
        path: Path = ("layers", i)
        r = self.resolved(block, block.own_norm_act)
        channels = getattr(block, "channels", None)
        cout = self.width(channels, block) if channels else 0
        stride = getattr(block, "stride", 1) if first else 1  # pools use their own stride
        body = block.lower(r, cin, cout, stride or 1)
        for field, message, hint in body.errors:
            self.error((*path, field), message, hint)
        if body.errors:
            return None
        if body.min_input:
            self.program.minimum(in_slot, body.min_input, self.where(path, block.type))
        out_slot = self.program.op(in_slot, body.op, self.where(path, block.type))
        slots = {"in": in_slot, "out": out_slot}
        normed = [(channels, slots[at]) for channels, at in body.normed]
        if not self.norms(path, block, r, normed):
            return None
        mode = block.skip.mode if block.skip else block.default_skip
        if block.skip and block.skip.from_ and source is None:
            mode = "none"  # its reference is broken and already reported
        on_mismatch = block.on_mismatch or block.default_on_mismatch
        if block.type == "classifier" and mode != "none":
            self.error((*path, "skip"), "a classifier cannot have a skip", "remove `skip`")
            return None

        if source is not None:  # the long skip is combined in the network's forward
            return _Pending(
                block.type,
                body.make("none", False),
                cin,
                body.out_channels,
                in_slot,
                out_slot,
                "none",
                "none",
                body.params,
                path,
            )

        note = "none"
        downsample = False
        params = body.params
        proj_out = cin
        if mode != "none":
            ch_differs = mode == "add" and cin != body.out_channels
            size_differs = not keeps_size(body.op)
            note = "identity"
            if ch_differs or size_differs:
                problem = self.mismatch_words(cin, body.out_channels, body.op, mode)
                if on_mismatch == "error":
                    self.error(
                        (*path, "skip"),
                        f"{mode} cannot combine {problem}",
                        "set `on_mismatch: project` or `drop`, or `skip: none`",
                    )
                    return None
                if on_mismatch == "drop":
                    mode, note = "none", "dropped"
                elif body.op[0] != "conv":
                    self.error(
                        (*path, "on_mismatch"),
                        f"cannot project a shortcut across this {block.type} layer ({problem})",
                        "use `on_mismatch: drop` or `skip: none`",
                    )
                    return None
                else:
                    downsample, note = True, "projected"
                    proj_out = body.out_channels if mode == "add" else cin
                    # a pre-activated block projects with a bare conv; Shortcut with conv + norm
                    preact = body.builtin_skip and getattr(block, "preact", False)
                    params += cin * proj_out + (0 if preact else self.proj_norm(r, proj_out))
                    proj_slot = self.program.op(
                        in_slot, ("conv", 1, body.stride, 0, 1), self.where(path, "projection")
                    )
                    shortcut = [] if preact else [(proj_out, proj_slot)]
                    if not self.norms(path, block, r, shortcut, " in the projected shortcut"):
                        return None
                    self.program.check(
                        proj_slot,
                        out_slot,
                        self.where(path, f"the projected shortcut of this {mode}"),
                    )
        if body.builtin_skip or mode == "none":
            c = body.make(mode, downsample)
        else:
            c = common.call(
                "Shortcut",
                body.make("none", False),
                cin,
                body.out_channels,
                stride=body.stride,
                skip=mode,
                downsample=downsample,
                **r.norm_kwargs(),
            )
        out_ch = body.out_channels + (proj_out if mode == "concat" else 0)
        return _Pending(block.type, c, cin, out_ch, in_slot, out_slot, mode, note, params, path)

    def norms(
        self,
        path: Path,
        block: m.Kind,
        r: common.Resolved,
        normed: list[tuple[int, int]],
        where: str = "",
    ) -> bool:
        """Check the norm layers over ``(channels, size slot)``; False after an error."""
        if r.norm.type == "group":
            for channels, _ in normed:
                if channels % r.norm.groups:
                    self.error(
                        (*path, "norm") if getattr(block, "norm", None) else ("defaults", "norm"),
                        f"group norm with {r.norm.groups} groups cannot split "
                        f"{channels} channels{where}",
                        "choose a group count that divides channels",
                    )
                    return False
        if r.norm.type == "instance":  # it normalizes over positions: one is not enough
            what = f"the instance norm{where or ' of this ' + block.type}"
            if block.type == "norm" and not where:
                what = "this instance norm"
            for slot in sorted({slot for _, slot in normed}):
                self.program.minimum(slot, 2, self.where(path, what))
        return True

    @staticmethod
    def proj_norm(r: common.Resolved, channels: int) -> int:
        return channels if r.norm.type == "none" else 2 * channels  # a bias when no norm

    @staticmethod
    def mismatch_words(cin: int, cout: int, op: tuple, mode: str) -> str:
        parts = []
        if mode == "add" and cin != cout:
            parts.append(f"{cin} input channels with {cout} output channels")
        if not keeps_size(op):
            parts.append("an input and an output of different spatial size")
        return " and ".join(parts)

    def long(
        self, i: int, block: m.Kind, source: _Source, node: _Pending, names: Names
    ) -> tuple[LongSkip | None, int]:
        """The long skip of layer ``i``, and the channels after it."""
        path: Path = ("layers", i, "skip")
        mode = block.skip.mode if block.skip else "none"
        on_mismatch = block.on_mismatch or block.default_on_mismatch
        out_ch = node.out_channels
        if mode == "none":
            return None, out_ch
        projection = None
        note = "identity"
        params = 0
        if mode == "add" and source.channels != out_ch:
            words = (
                f"{source.channels} channels from {source.local!r} with {out_ch} output channels"
            )
            if on_mismatch == "error":
                self.error(
                    path,
                    f"add cannot combine {words}",
                    "set `on_mismatch: project` or `drop`, or `skip: none`",
                )
                return None, out_ch
            if on_mismatch == "drop":
                return LongSkip(source.local, "add", None, None, "dropped", 0), out_ch
            r = self.resolved(block, block.own_norm_act)
            normed = [(out_ch, node.out_slot)]
            if not self.norms(("layers", i), block, r, normed, " in the projected shortcut"):
                return None, out_ch
            projection = common.call("projection", source.channels, out_ch, **r.norm_kwargs())
            params = source.channels * out_ch + self.proj_norm(r, out_ch)
            note = "projected"
        self.program.check(
            source.slot,
            node.out_slot,
            self.where(path, f"{mode} with the shortcut from {source.local!r}"),
        )
        channels = source.channels + out_ch if mode == "concat" else out_ch
        attr_skip = f"{names.attrs[i]}_skip" if projection else None
        if attr_skip in names.taken:
            self.error(
                path,
                f"this skip's projection would be named {attr_skip!r}, which a layer already uses",
                "rename that layer, or this one",
            )
        return LongSkip(source.local, mode, projection, attr_skip, note, params), channels

    # -- sizes -----------------------------------------------------------------------------
    def finish(self, stages, channels: int, slot: int, flat: bool) -> Graph:
        spec = self.spec
        dims = spec.input.dims
        size = spec.input.size
        values: list[list[int]] | None = None
        working: SizeSet | None = None

        def rule() -> str:
            nonlocal working
            if working is None:
                working = working_sizes(self.program)
            return describe(working)

        if size is not None and len(size) not in (1, dims):
            self.error(
                ("input", "size"),
                f"{len(size)} sizes given for {dims} dimensions",
                "give one size for every dimension, or a single number",
            )
        elif size is not None and not self.diags:
            sizes = size * dims if len(size) == 1 else size
            values = []
            for axis, n in enumerate(sizes):
                vals, failure = self.program.run(n)
                if failure is not None:
                    along = f" along dimension {axis + 1}" if dims > 1 else ""
                    self.size_error(failure, vals, n, along, rule())
                    values = None
                    break
                values.append(vals)
        elif size is None and not self.diags and rule().startswith("no size"):
            vals, failure = self.program.run(224)  # explain the failure at a typical size
            if failure is not None:
                self.size_error(failure, vals, 224, "", rule())
        if self.diags:
            raise SpecError(self.diags)

        def sizes_of(s: int) -> tuple[int, ...] | None:
            return None if values is None else tuple(v[s] for v in values)

        out: list[Stage] = []
        for attr, pending, sequential, long_skip, save_as in stages:
            nodes = tuple(
                Node(
                    p.kind,
                    p.call,
                    p.in_channels,
                    p.out_channels,
                    sizes_of(p.in_slot),
                    None if p.kind == "classifier" else sizes_of(p.out_slot),
                    p.skip,
                    p.note,
                    p.params,
                    *self.pos.of(p.path),
                )  # type: ignore[arg-type]
                for p in pending
            )
            out.append(Stage(attr, nodes, sequential, long_skip, save_as))
        return Graph(
            name=spec.name,
            file=self.pos.file,
            dims=dims,
            in_channels=spec.input.channels,
            input_size=tuple(values[a][0] for a in range(dims)) if values else None,
            stages=tuple(out),
            out_channels=channels,
            out_size=None if flat else sizes_of(slot),
            flat=flat,
            size_rule=f"{AXES[dims]}: {rule()}",
            out_scale=self.out_scale(slot, working) if size is None and not flat else None,
            sizes=working,
        )

    def out_scale(self, slot: int, sizes: SizeSet | None) -> tuple[int, int] | None:
        """The output size as one fixed fraction of every working input size, if it is."""
        ratio = None if sizes is None else exact_scale(self.program, slot, sizes)
        if not ratio:
            return None
        return ratio.numerator, ratio.denominator

    def size_error(self, failure: Failure, vals: list[int], n: int, along: str, rule: str) -> None:
        """Report a size failure at input size ``n``; ``along`` names the dimension, if any."""
        where = self.wheres[failure.where]
        hint = f"input {AXES[self.spec.input.dims]} must be {rule}"
        if rule == "no size":
            hint = "no input size works: change this layer or the layers before it"
        elif rule.startswith("no size"):
            hint = f"input {AXES[self.spec.input.dims]}: {rule}"
        problem = self.program.explain(failure, vals)
        self.error(where.path, f"{where.what}{problem}{along} (input size {n})", hint)


def lower(spec: m.Spec, positions: Positions) -> Graph:
    """Lower a validated spec; raises :class:`SpecError` listing every problem."""
    return _Lowering(spec, positions).run()
