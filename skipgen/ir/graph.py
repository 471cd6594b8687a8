"""The lowered network: frozen, fully resolved, plain Python data (no torch).

Both backends read only this. Every module is described by a :class:`Call` — the name of a
block class in ``skipgen.nn`` (or of a ``torch.nn`` layer) and its arguments — so the runtime
builder instantiates exactly what the emitter writes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from skipgen.errors import Diagnostic
from skipgen.ir.sizes import SizeSet

Value = Any  # int | float | str | bool | None | Call | Partial | tuple[Value, ...]

AXIS_LETTERS = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}
FLOAT32_BYTES = 4  # parameters are float32 unless the caller chooses another dtype


def format_bytes(count: int) -> str:
    """A memory size for people: ``44.6 MiB``, ``1.2 GiB``."""
    if count < 1024:
        return f"{count} B"
    size, unit = count / 1024, "KiB"
    for larger in ("MiB", "GiB", "TiB"):
        if size < 1024:
            break
        size, unit = size / 1024, larger
    return f"{size:,.1f} {unit}"


@dataclass(frozen=True)
class Call:
    """``target(*args, **dict(kwargs))``; ``target`` is a block class or ``nn.<Layer>``."""

    target: str
    args: tuple[Value, ...] = ()
    kwargs: tuple[tuple[str, Value], ...] = ()

    def targets(self) -> set[str]:
        """Every target used by this call and by calls nested in its arguments."""
        found = {self.target}
        for value in (*self.args, *(v for _, v in self.kwargs)):
            if isinstance(value, Call | Partial):
                found |= value.targets()
        return found


@dataclass(frozen=True)
class Partial:
    """A ``torch.nn`` layer class passed as a value, not called: ``nn.BatchNorm2d``, or with
    arguments bound, ``partial(nn.GroupNorm, 4, eps=0.001)``; the block calls it with the
    channel count (a ``norm_layer``)."""

    target: str  # an ``nn.<Layer>``
    args: tuple[Value, ...] = ()
    kwargs: tuple[tuple[str, Value], ...] = ()

    def targets(self) -> set[str]:
        return {self.target}


# the skipgen.nn helpers that make a parameter of their holder, not a module
PARAMETERS = frozenset({"scale_parameter"})
Read = tuple[str, int]  # a saved output a member reads (a local of forward), its channels
INPUT_LOCAL = "x_in"  # the local of forward that keeps its input, once something reads it

SkipNote = Literal["identity", "projected", "dropped", "none", "built-in"]


@dataclass(frozen=True)
class Node:
    """One block instance (one repeat of a spec layer)."""

    kind: str
    call: Call
    in_channels: int  # a merge's: its first source's (its stage's reads have them all)
    out_channels: int
    in_size: tuple[int, ...] | None
    out_size: tuple[int, ...] | None  # None once the output is flat, or when size is unknown
    skip: str  # "add", "concat" or "none": what the block finally does
    skip_note: SkipNote
    params: int
    line: int
    col: int
    flat: bool = False  # the output is (batch, features), as a classifier's
    file: str | None = None  # where it is written, when not in the spec's own file
    notes: tuple[str, ...] = ()  # the composite blocks' uses it lies in, for diagnostics
    channels_last: bool = False  # the output has the channels on the last axis (a permute)

    def diagnostic(self, spec_file: str, message: str, hint: str | None = None) -> Diagnostic:
        """An error at the layer this block comes from."""
        return Diagnostic(self.file or spec_file, self.line, self.col, message, hint, self.notes)


@dataclass(frozen=True)
class LongSkip:
    """Combine a stage's output with the saved output of an earlier stage."""

    source: str  # the local variable holding the earlier output
    mode: Literal["add", "concat", "mul", "none"]  # none: it only gives the layer its size
    projection: Call | None  # applied to the source first; held by ``attr``
    attr: str | None
    note: SkipNote
    params: int
    shortcut_first: bool = True  # concat: [source, x]; else [x, source]
    resizes: bool = False  # the stage's module is called with the source too, for its size
    source_channels: int = 0  # the channels of the saved output

    def described(self) -> str:
        """``concat from enc1 (identity)``; ``size of input`` where it only sizes."""
        source = "input" if self.source == INPUT_LOCAL else self.source
        if self.mode == "none":
            return f"size of {source}"
        return f"{self.mode} from {source} ({self.note})"

    def channels_after(self, channels: int) -> int:
        """The channels once this skip has combined its source with ``channels``."""
        if self.note == "dropped":
            return channels
        return combined_channels(self.mode, self.projection is None, self.source_channels, channels)


@dataclass(frozen=True)
class Stage:
    """One attribute of the network: a single block, or an ``nn.Sequential`` of repeats."""

    attr: str
    nodes: tuple[Node, ...]
    sequential: bool
    long_skip: LongSkip | None
    save_as: str | None  # a later long skip reads this stage's output under this name
    checkpoint: bool = False  # recompute its activations in the backward pass
    # the saved outputs it runs on instead of the previous member's, with their channels:
    # one (a `from`), or the several a merge's module takes as a list
    reads: tuple[Read, ...] = ()
    alias: str | None = None  # a second key its holder registers it under

    @property
    def merges(self) -> bool:
        """Whether its module takes a list of saved outputs (a concat, add or mul)."""
        return len(self.reads) > 1

    @property
    def scales(self) -> bool:
        """Whether it is a parameter of its holder that multiplies the input (a layer
        scale), not a module."""
        return self.nodes[0].call.target in PARAMETERS


@dataclass(frozen=True, kw_only=True)
class Block:
    """What makes a group an instance of a composite block: its own skip around the body,
    and the saved outputs its body reads (the extra inputs of its ``forward``)."""

    name: str  # the composite's name in the spec
    skip: str  # "add", "concat" or "none": what the block finally does
    note: SkipNote
    projection: Call | None  # the shortcut's projection, held as ``shortcut``
    params: int  # the projection's
    channels: int  # its output's, after its skip
    inputs: tuple[str, ...]  # locals of the caller's forward that the body reads
    values: tuple[tuple[str, Value], ...]  # the parameters of the use
    in_channels: int = 0
    input_channels: tuple[int, ...] = ()  # of each of ``inputs``
    defaults: tuple[tuple[str, Value], ...] = ()  # the parameters' defaults, where optional
    expressions: tuple[str, ...] = ()  # the body's arithmetic, as Python source
    description: str | None = None
    replaced: str = "none"  # the block's own skip, where the use's long skip replaced it


@dataclass(frozen=True)
class Group:
    """A ``sequence`` layer: its stages and groups under one key, in order.

    Run as one ``nn.Sequential``, unless a long skip reaches inside (``walked``): then its
    members are held by an ``nn.ModuleDict`` and the network runs them one by one. A walked
    group that checkpoints runs them in one checkpoint, which takes the saved outputs they
    read (:func:`outside_reads`) as inputs.
    """

    attr: str
    members: tuple[Stage | Group, ...]
    walked: bool
    long_skip: LongSkip | None
    save_as: str | None
    checkpoint: bool = False  # recompute its activations in the backward pass
    block: Block | None = None  # an instance of a composite block: its own class
    reads: tuple[Read, ...] = ()  # the saved output it runs on, where not the previous
    order: tuple[str, ...] = ()  # the keys registered first (its `register`)
    alias: str | None = None  # a second key its holder registers it under
    merges = False
    scales = False


Member = Stage | Group


def out_channels(member: Member) -> int:
    """The channels a member gives the next, after its skips."""
    if isinstance(member, Stage):
        out = member.nodes[-1].out_channels
    else:
        out = member.block.channels if member.block else out_channels(member.members[-1])
    return member.long_skip.channels_after(out) if member.long_skip else out


def combined_channels(mode: str, identity: bool, source: int, out: int) -> int:
    """The channels after a long skip combines ``source`` channels (as they arrive, if
    ``identity``; else projected) with the layer's ``out``: a mul broadcasts one channel."""
    if mode == "concat":
        return source + out
    if mode == "mul" and identity:
        return max(source, out)
    return out


@dataclass(frozen=True)
class Head:
    """A branch off the main path: ``group`` reads the saved output ``source``."""

    source: str
    group: Group


@dataclass(frozen=True)
class Output:
    """One of what the network returns, with what timm's ``feature_info`` tells of it."""

    name: str  # as `outputs` names it
    local: str  # the local variable of forward that holds it
    module: str  # the module path of the layer (or head) that gives it
    channels: int
    size: tuple[int, ...] | None  # None when flat, or when the input size is not given
    flat: bool
    reduction: int | None  # input size / output size, where it is one whole number

    def shape(self, axes: tuple[str, ...], batch: int | str = "N") -> tuple[int | str, ...]:
        """Its shape; with no input size, in terms of the input's ``axes`` (``H/4``)."""
        if self.flat:
            return (batch, self.channels)
        if self.size is not None:
            return (batch, self.channels, *self.size)
        scale = (
            "?" if self.reduction is None else ("" if self.reduction == 1 else f"/{self.reduction}")
        )
        return (batch, self.channels, *(f"{a}{scale}" if scale != "?" else "?" for a in axes))

    def feature_info(self) -> dict[str, int | str | None]:
        return {"num_chs": self.channels, "reduction": self.reduction, "module": self.module}


ModulePath = tuple[str, ...]  # keys from the network down, e.g. ("features", "3")


def outside_reads(members: tuple[Member, ...]) -> dict[str, int]:
    """The saved outputs that ``members`` read and do not save themselves, with their
    channels, in the order first read: what a composite block's ``forward``, or a walked
    group that checkpoints, takes besides ``x``."""
    read: dict[str, int] = {}
    saved: set[str] = set()

    def visit(members: tuple[Member, ...]) -> None:
        for member in members:
            names: dict[str, int] = {}
            if isinstance(member, Group) and member.block is not None:
                names = dict(zip(member.block.inputs, member.block.input_channels, strict=True))
            elif isinstance(member, Group) and member.walked:
                visit(member.members)
            names.update(member.reads)
            skip = member.long_skip
            if skip is not None and (skip.note != "dropped" or skip.resizes):
                names[skip.source] = skip.source_channels
            read.update((name, c) for name, c in names.items() if name not in saved | set(read))
            if member.save_as is not None:
                saved.add(member.save_as)

    visit(members)
    return read


def members_of(
    members: tuple[Member, ...], path: ModulePath = ()
) -> Iterator[tuple[ModulePath, Member]]:
    """Every member under ``members`` with its module path, groups before what they hold."""
    for member in members:
        here = (*path, member.attr)
        yield here, member
        if isinstance(member, Group):
            yield from members_of(member.members, here)


@dataclass(frozen=True)
class Graph:
    name: str
    file: str
    dims: int
    in_channels: int
    input_size: tuple[int, ...] | None
    stages: tuple[Stage | Group, ...]  # the network's attributes, in order
    out_channels: int
    out_size: tuple[int, ...] | None
    flat: bool  # ends with a classifier: output is (batch, classes)
    size_rule: str  # which spatial input sizes work, in words
    out_scale: tuple[int, int] | None = None  # unsized input: output = input * num / den
    sizes: SizeSet | None = None  # the input sizes (along one dimension) that work
    heads: tuple[Head, ...] = ()
    outputs: tuple[Output, ...] = ()  # as `outputs` lists them; none: the last layer's
    keyed_outputs: bool = False  # forward returns a dict of the outputs by name
    order: tuple[str, ...] = ()  # the attributes registered first (the spec's `register`)
    dropped: tuple[tuple[str, str], ...] = ()  # (module path, kind) of layers no output needs

    @property
    def axes(self) -> tuple[str, ...]:
        return AXIS_LETTERS[self.dims]

    def members(self) -> Iterator[tuple[ModulePath, Member]]:
        """Every stage and group with its module path, in order, groups first; the heads
        after the main path."""
        yield from members_of(self.stages)
        yield from members_of(tuple(head.group for head in self.heads))

    def leaves(self) -> Iterator[tuple[ModulePath, Stage]]:
        """Every stage (the members that hold blocks) with its module path, in order."""
        for path, member in self.members():
            if isinstance(member, Stage):
                yield path, member

    def nodes(self) -> Iterator[Node]:
        """Every block of the network, in order."""
        for _, stage in self.leaves():
            yield from stage.nodes

    @property
    def checkpoints(self) -> bool:
        """Whether a member recomputes its activations in the backward pass."""
        return any(member.checkpoint for _, member in self.members())

    def long_skips(self) -> Iterator[LongSkip]:
        for _, member in self.members():
            if member.long_skip is not None:
                yield member.long_skip

    def blocks(self) -> Iterator[Block]:
        """Every instance of a composite block, outer ones first."""
        for _, member in self.members():
            if isinstance(member, Group) and member.block is not None:
                yield member.block

    @property
    def params(self) -> int:
        skips = sum(s.params for s in self.long_skips())
        return sum(n.params for n in self.nodes()) + skips + sum(b.params for b in self.blocks())

    @property
    def param_bytes(self) -> int:
        """The memory that the parameters take in float32."""
        return self.params * FLOAT32_BYTES

    def output_shape(self, batch: int | str = "N") -> tuple[int | str, ...]:
        """The output's shape; with no input size, in terms of the input's (``H/4``). A
        network whose one output is a head returns that head's, not the main path's."""
        heads = {head.group.attr for head in self.heads}
        if len(self.outputs) == 1 and self.outputs[0].module in heads:
            return self.outputs[0].shape(self.axes, batch)
        if self.flat:
            return (batch, self.out_channels)
        if self.out_size is not None:
            return (batch, self.out_channels, *self.out_size)
        if self.out_scale is None:
            return (batch, self.out_channels, *("?" for _ in self.axes))
        num, den = self.out_scale
        if num == den:
            scale = ""
        elif den == 1:
            scale = f"*{num}"
        elif num == 1:
            scale = f"/{den}"
        else:
            scale = f"*{num}/{den}"
        return (batch, self.out_channels, *(f"{axis}{scale}" for axis in self.axes))

    def input_shape(self, batch: int | str = "N") -> tuple[int | str, ...]:
        """The input's shape; with no size given, its axes by name (``H``, ``W``)."""
        return (batch, self.in_channels, *(self.input_size or self.axes))

    def targets(self) -> set[str]:
        found: set[str] = set()
        for node in self.nodes():
            found |= node.call.targets()
        for skip in self.long_skips():
            if skip.projection is not None:
                found |= skip.projection.targets()
        for block in self.blocks():
            if block.projection is not None:
                found |= block.projection.targets()
        return found
