"""The members of a class the emitter writes (the network's, or a composite block's): the
modules its ``__init__`` holds, and the statements of its ``forward``.

A composite block's instance is written as a call of its class (``DecoderBlock()``),
named by :class:`Classes`, which renders the classes it names (see
:mod:`skipgen.backends.blocks`).
"""

from __future__ import annotations

import re
import textwrap
from typing import Protocol

from skipgen.backends.layout import (
    BODY_INDENT,
    INDENT,
    Expr,
    Group,
    Sum,
    call_expr,
    checkpointed_statement,
    layout,
    statement,
)
from skipgen.backends.text import string_literal
from skipgen.ir import graph as g
from skipgen.ir.containers import Alias, Container, Item, registered
from skipgen.ir.graph import Member, Stage
from skipgen.library.nn import SourceError


class Classes(Protocol):
    def call_of(self, group: g.Group) -> g.Call:
        """The call of the class that builds the composite block's instance ``group``."""
        ...


def _stage_module(stage: Stage) -> Group | str:
    calls = [call_expr(node.call) for node in stage.nodes]
    if stage.sequential:
        return Group("nn.Sequential", "(", ")", tuple(("", c) for c in calls))
    return calls[0]


def held(
    members: tuple[Member, ...], classes: Classes, order: tuple[str, ...] = ()
) -> list[tuple[str, Expr]]:
    """The modules a list of members holds, by key: each long skip's projection after its
    layer, as the runtime backend registers them."""
    return [(key, _item(item, classes)) for key, item in registered(members, order)]


def _item(item: Item, classes: Classes) -> Expr:
    if isinstance(item, Alias):  # the same module, under a second attribute
        return f"self.{item.member.attr}"
    if isinstance(item, g.Call):
        return call_expr(item)
    if not isinstance(item, Container):
        return member_module(item, classes)
    modules = [(key, _item(inner, classes)) for key, inner in item.items]
    if item.listed:
        listed = Group("", "[", "]", tuple(("", module) for _, module in modules))
        return Group("nn.ModuleList", "(", ")", (("", listed),))
    items = tuple((f"{string_literal(key)}: ", module) for key, module in modules)
    return Group("nn.ModuleDict", "(", ")", (("", Group("", "{", "}", items)),))


def numbered(keys: list[str]) -> bool:
    """Whether a group's keys are 0, 1, 2, ...: an ``nn.Sequential`` of positional children."""
    return keys == [str(n) for n in range(len(keys))]


def member_module(member: Member, classes: Classes) -> Expr:
    """The expression that builds a member: its block, its group's container, or its
    composite block's class."""
    if not isinstance(member, g.Group):
        return _stage_module(member)
    if member.block is not None:
        return call_expr(classes.call_of(member))
    modules = held(member.members, classes, member.order)
    if member.walked:  # the network reaches in: a dict of its modules
        items = tuple((f"{string_literal(key)}: ", module) for key, module in modules)
        return Group("nn.ModuleDict", "(", ")", (("", Group("", "{", "}", items)),))
    if numbered([key for key, _ in modules]):
        return Group("nn.Sequential", "(", ")", tuple(("", module) for _, module in modules))
    if all(key.isidentifier() for key, _ in modules):
        named = tuple((f"{key}=", module) for key, module in modules)
    else:
        pairs = tuple(
            ("", Group("", "(", ")", (("", string_literal(k)), ("", module))))
            for k, module in modules
        )
        named = (("", Group("", "[", "]", pairs)),)
    return Group("nn.Sequential", "(", ")", (("", Group("OrderedDict", "(", ")", named)),))


def deep_groups(members: tuple[Member, ...]) -> set[str]:
    """The attributes whose groups forward indexes two or more levels down
    (``self.decoder["blocks"]["0"]``): a ``ModuleDict`` item is typed ``nn.Module``, which
    type checkers cannot index, so these attributes are annotated ``Any``."""
    return {
        member.attr
        for member in members
        if isinstance(member, g.Group)
        and member.walked
        and any(
            (isinstance(inner, g.Group) and inner.walked) or "." in inner.attr
            for inner in member.members
        )
    }


def uses_ordered_dict(members: tuple[Member, ...]) -> bool:
    return any(
        isinstance(member, g.Group)
        and not member.walked
        and member.block is None
        and not numbered([m.attr for m in member.members])
        for _, member in g.members_of(members)
    )


def _shape(shape: tuple[int | str, ...]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


def _comment(stage_last: g.Node, channels: int, sizes_known: bool) -> str:
    if stage_last.flat:
        return f"  # {_shape(('N', channels))}"
    if sizes_known and stage_last.out_size is not None:
        return f"  # {_shape(('N', channels, *stage_last.out_size))}"
    return ""


def last_node(member: Member) -> g.Node:
    while isinstance(member, g.Group):
        member = member.members[-1]
    return member.nodes[-1]


_READS_X = re.compile(r"(?<![\w.])x(?!\w)")


def named_values(lines: list[str], width: int) -> list[str]:
    """``lines`` with each value that is kept for a later reader assigned to its name
    directly, as a person writes a branch: ``x = self.branch1(x)`` then ``branch1 = x``
    becomes ``branch1 = self.branch1(x)`` where the next statement sets ``x`` anew
    without reading it. Only one-line statements that still fit ``width`` change."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if i + 2 < len(lines) and line.startswith("x = ") and "\n" not in line:
            name, _, value = lines[i + 1].partition(" = ")
            after = lines[i + 2]
            rhs = after.partition(" = ")[2].split("  # ")[0]
            fresh = after.startswith("x = ") and not _READS_X.search(rhs)
            joined = f"{name} = {line[4:]}"
            if (
                value == "x"
                and name.isidentifier()
                and fresh
                and BODY_INDENT + len(joined) <= width
            ):
                out.append(joined)
                i += 2
                continue
        out.append(line)
        i += 1
    return _input_as_x(out)


def _input_as_x(lines: list[str]) -> list[str]:
    """Without ``x_in = x`` where ``x`` still holds the input wherever ``x_in`` is read
    (the branches read it before anything sets ``x``)."""
    keep = f"{g.INPUT_LOCAL} = x"
    if keep not in lines:
        return lines
    start = lines.index(keep)
    reads_input = re.compile(rf"(?<![\w.]){g.INPUT_LOCAL}(?!\w)")
    later = lines[start + 1 :]
    sets_x = next((k for k, line in enumerate(later) if line.startswith("x = ")), len(later))
    if any(reads_input.search(line) for line in later[sets_x + 1 :]):
        return lines
    renamed = [reads_input.sub("x", line) for line in later]
    return [*lines[:start], *renamed]


def read_names(members: tuple[Member, ...]) -> set[str]:
    """The saved outputs that statements of a forward running ``members`` read: the
    sources of long skips and of ``from``, and a composite block's inputs; not those
    that the forward of a composite block inside reads."""
    read: set[str] = set()
    for member in members:
        skip = member.long_skip
        if skip is not None and (skip.note != "dropped" or skip.resizes):
            read.add(skip.source)
        read.update(name for name, _ in member.reads)
        if isinstance(member, g.Group) and member.block is not None:
            read.update(member.block.inputs)
        elif isinstance(member, g.Group):
            read |= read_names(member.members)
    return read


def member_channels(member: Member) -> int:
    """The channels a member gives, its composite block's own skip included."""
    if isinstance(member, g.Group):
        if member.block is not None:
            return member.block.channels
        return member_channels(member.members[-1])
    return member.nodes[-1].out_channels


class Forward:
    """The body of a ``forward``: members in order, long skips as named locals. ``saved``
    holds the locals it starts with (a composite block's inputs), ``read`` those a later
    statement reads. A walked group that checkpoints runs in a method of its own
    (``_run_<key>``, in ``methods``), which ``checkpointed`` calls with what it reads."""

    def __init__(
        self,
        width: int,
        sizes_known: bool,
        read: set[str],
        saved: dict[str, int] | None = None,
        names: dict[str, str] | None = None,
    ) -> None:
        self.names = names or {}  # a saved output -> the argument that holds it
        self.width = width
        self.sizes_known = sizes_known
        self.read = read
        self.saved: dict[str, int] = dict(saved or {})  # local name -> channels
        self.out: list[str] = []
        self.methods: list[str] = []  # the class's methods that run checkpointed groups
        self.method_names: set[str] = set()

    def keep_input(self) -> None:
        """Keep the input of forward where a layer reads it later (``from: input``)."""
        if g.INPUT_LOCAL in self.read:
            self.out.append(f"{g.INPUT_LOCAL} = x")
            self.saved[g.INPUT_LOCAL] = 0

    def run(self, members: tuple[Member, ...], holder: str) -> None:
        for member in members:
            walks = isinstance(member, g.Group) and member.walked
            if member.reads and walks:  # its first member reads x
                self.out.append(f"x = {self.local(member.reads[0][0])}")
            if isinstance(member, g.Group) and member.walked and member.checkpoint:
                self.out.append(self.checkpointed_walk(member, holder))
                self.after(member, holder, member_channels(member), call=False)
            elif isinstance(member, g.Group) and member.walked:
                self.run(member.members, self.child(holder, member.attr))
                self.after(member, holder, member_channels(member), call=False)
            else:
                self.after(member, holder, member_channels(member), call=True)

    def checkpointed_walk(self, group: g.Group, holder: str) -> str:
        """Write the method that runs ``group`` on ``x`` and the outputs it reads; return
        the statement that calls it through ``checkpointed``."""
        reads = g.outside_reads(group.members)
        name = f"_run_{group.attr}"
        while name in self.method_names:
            name += "_"
        self.method_names.add(name)
        body = Forward(
            self.width,
            self.sizes_known,
            self.read,
            {read: self.saved[read] for read in reads},
            self.names,
        )
        body.methods, body.method_names = self.methods, self.method_names
        module = self.child(holder, group.attr)
        body.run(group.members, module)
        args = [self.names.get(read, read) for read in reads]
        params = (("", "self"), ("", "x: Tensor"), *(("", f"{a}: Tensor") for a in args))
        signature = layout(
            Group(f"def {name}", "(", ")", params), 4, self.width, trail=" -> Tensor:"
        )
        about = f"The layers of {module[len('self.') :]}, which forward checkpoints as one."
        doc = textwrap.wrap(about, self.width - BODY_INDENT - 6, break_long_words=False)
        doc[0] = '"""' + doc[0]
        doc[-1] += '"""'
        lines = [*doc, *named_values(body.out, self.width), "return x"]
        self.methods.append(
            "\n".join([*signature, *(INDENT + line for text in lines for line in text.split("\n"))])
        )
        inputs = (("", "x"), *(("", a) for a in args))
        plain = Group(f"self.{name}", "(", ")", inputs)
        saving = Group("checkpointed", "(", ")", (("", module), *inputs, ("run=", f"self.{name}")))
        return checkpointed_statement(plain, saving, self.width)

    def local(self, name: str) -> str:
        """The local (or argument) of forward that holds the saved output ``name``."""
        if name not in self.saved:
            raise SourceError(f"internal error: {name!r} is read before any stage saves it")
        return self.names.get(name, name)

    @staticmethod
    def child(holder: str, key: str) -> str:
        """How forward reads the module at ``key`` (a path into containers) of ``holder``."""
        first, *rest = key.split(".")
        found = f"{holder}.{first}" if holder == "self" else f"{holder}[{string_literal(first)}]"
        return found + "".join(f"[{p}]" if p.isdigit() else f"[{string_literal(p)}]" for p in rest)

    def after(self, member: Member, holder: str, channels: int, call: bool) -> None:
        skip = member.long_skip
        combine: Expr | Sum | None = None
        source = ""
        if skip is not None and (skip.note != "dropped" or skip.resizes):
            source = self.names.get(skip.source, skip.source)
            if skip.source not in self.saved:
                raise SourceError(
                    f"internal error: the long skip of {member.attr!r} reads {skip.source!r}, "
                    "which no earlier stage saves"
                )
        if skip is not None and skip.note != "dropped":
            shortcut: Expr = source
            if skip.attr is not None:
                projected = self.child(holder, skip.attr)
                shortcut = Group(projected, "(", ")", (("", source),))
            if skip.mode == "concat":
                items = (("", shortcut), ("", "x"))
                pair = Group("", "[", "]", items if skip.shortcut_first else items[::-1])
                combine = Group("torch.cat", "(", ")", (("", pair), ("dim=", "1")))
                channels += self.saved[skip.source]
            else:
                combine = Sum("x", shortcut, "*" if skip.mode == "mul" else "+")
                if skip.mode == "mul" and skip.attr is None:
                    channels = max(channels, self.saved[skip.source])
        comment = _comment(last_node(member), channels, self.sizes_known)
        if call:
            inputs: tuple[str, ...] = ()
            if isinstance(member, g.Group) and member.block is not None:
                inputs = tuple(self.names.get(name, name) for name in member.block.inputs)
            elif skip is not None and skip.resizes:
                inputs = (source,)
            held = self.child(holder, member.attr)
            tail = "" if combine is not None else comment
            first: Expr = "x"
            if member.merges:
                listed = tuple(("", self.local(name)) for name, _ in member.reads)
                first = Group("", "[", "]", listed)
            elif member.reads:
                first = self.local(member.reads[0][0])
            args = (("", first), *(("", name) for name in inputs))
            module = Group(held, "(", ")", args)
            if member.scales:  # a parameter of the class: the input times it
                source = first if isinstance(first, str) else "x"
                self.out.append(statement(Sum(source, held, "*"), self.width, "x = ", tail))
            elif member.checkpoint:  # a module that takes more than x is its own run
                run = (("run=", held),) if inputs else ()
                saving = Group("checkpointed", "(", ")", (("", held), *args, *run))
                self.out.append(checkpointed_statement(module, saving, self.width, tail))
            else:
                self.out.append(statement(module, self.width, "x = ", tail))
        if combine is not None:
            self.out.append(statement(combine, self.width, "x = ", comment))
        elif skip is not None and skip.note == "dropped" and skip.mode != "none":
            self.out.append(f"# the {skip.mode} from {skip.source} is dropped: channels differ")
        if member.save_as is not None and member.save_as in self.read:
            self.out.append(f"{member.save_as} = x")
            self.saved[member.save_as] = channels
