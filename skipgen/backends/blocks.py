"""The classes of a spec's composite blocks in the emitted file, one template each.

A block is written as one class whose ``__init__`` takes ``in_channels``, the block's
parameters and the channels of the saved outputs its body reads, and computes its layers'
arguments from them (see :mod:`skipgen.backends.block_params`, which checks the class
against every use's lowering). Where one class cannot give every use its numbers, each
distinct use gets a class of its own with its numbers written out (``DecoderBlock``,
``DecoderBlock2``, ...).

A class holds the body's layers under the body's names, as the runtime's ``CompositeBlock``
does, so both have the same ``state_dict`` keys; its ``forward`` takes ``x`` and the saved
outputs its body reads, runs the body, and adds (or concatenates) its own shortcut.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from skipgen.backends.block_params import calls_of, parametrize, with_calls
from skipgen.backends.jinja import environment
from skipgen.backends.layout import (
    ClassCall,
    Group,
    call_expr,
    expr,
    layout,
    literal,
    statement,
)
from skipgen.backends.members import Forward, deep_groups, held, named_values, read_names
from skipgen.backends.text import docstring
from skipgen.ir import graph as g
from skipgen.ir.fusion import block_conv_norms
from skipgen.language.reserved import name_problem

_BASE = (("", "nn.Module"),)


def class_name(block: str) -> str:
    """``decoder_block`` -> ``DecoderBlock``; ``NoneBlock`` for ``none`` (and for any name
    whose capitalised form Python or the emitted file reserves: ``True``, ``ValueError``)."""
    name = "".join(part[:1].upper() + part[1:] for part in block.split("_") if part)
    if not name:
        return "Block"
    return name if name_problem(name, "class") is None else f"{name}Block"


def _height(group: g.Group) -> int:
    """How deep composite blocks nest inside ``group`` (0: none)."""
    inner = [m for _, m in g.members_of(group.members) if isinstance(m, g.Group) and m.block]
    return 1 + max((_height(m) for m in inner), default=-1)


class BlockClasses:
    """The classes of the composite blocks a network uses, in the order they must be
    defined (a block's class after those of the blocks in its body)."""

    def __init__(self, width: int, taken: set[str]) -> None:
        self.width = width
        self.taken = set(taken)  # names the module defines or imports
        self.by_text: dict[str, str] = {}  # a class's text, with its name left out -> name
        self.texts: list[str] = []  # the classes, in order
        self.calls: dict[int, ClassCall] = {}  # id of an instance's group -> its call
        self.nested: dict[int, g.Call] = {}  # while a class renders: its nested blocks' calls

    def prepare(self, graph: g.Graph) -> None:
        """Write the classes of every composite block ``graph`` uses."""
        instances: dict[str, list[g.Group]] = {}
        for _, member in graph.members():
            if isinstance(member, g.Group) and member.block is not None:
                instances.setdefault(member.block.name, []).append(member)
        order = sorted(instances, key=lambda n: max(_height(m) for m in instances[n]))
        for name in order:
            self.define(instances[name])

    def call_of(self, group: g.Group) -> g.Call:
        return self.nested.get(id(group)) or self.calls[id(group)]

    def define(self, groups: list[g.Group]) -> None:
        """The classes of the instances ``groups`` of one block: one for each shape (its
        layers' classes and keys, its skip), where one class can build them all."""
        shapes: dict[tuple[Any, ...], list[g.Group]] = {}
        for group in groups:
            shapes.setdefault(self.shape(group), []).append(group)
        for same in shapes.values():
            self.define_shape(same)

    def shape(self, group: g.Group) -> tuple[Any, ...]:
        """What every instance of one class shares: the calls' targets and keywords, the
        modules' keys, the skip and the number of inputs."""
        assert group.block is not None
        calls = tuple(_form(call) for call in calls_of(group, self.call_of))
        keys = tuple(path for path, _ in g.members_of(group.members))
        return calls, keys, group.block.skip, len(group.block.inputs)

    def define_shape(self, groups: list[g.Group]) -> None:
        calls = [calls_of(group, self.call_of) for group in groups]
        found = parametrize(groups, calls)
        if found is not None:
            nested: dict[int, g.Call] = {}
            first = with_calls(groups[0], found.calls, nested)
            text = self.render(first, nested, found.signature, found.inputs)
            name = self.named(first, text)
            for group, call in zip(groups, found.args, strict=True):
                self.calls[id(group)] = replace(call, target=name)
            return
        for group in groups:  # a class for each distinct instance, its numbers written out
            text = self.render(group, {}, [], {})
            self.calls[id(group)] = ClassCall(self.named(group, text))

    def named(self, group: g.Group, body: str) -> str:
        """The class whose text after its ``class`` line is ``body``; new if none is."""
        assert group.block is not None
        if body in self.by_text:
            return self.by_text[body]
        name = base = class_name(group.block.name)
        number = 1
        while name in self.taken:
            number += 1
            name = f"{base}{number}"
        self.taken.add(name)
        self.by_text[body] = name
        head = layout(Group(f"class {name}", "(", ")", _BASE), 0, self.width, trail=":")
        self.texts.append("\n".join(head) + body)
        return name

    def render(
        self,
        group: g.Group,
        nested: dict[int, g.Call],
        signature: list[tuple[str, str, Any]],
        inputs: dict[str, str],
    ) -> str:
        """The class of ``group`` after its ``class`` line."""
        block = group.block
        assert block is not None
        self.nested = nested
        try:
            modules = held(group.members, self, group.order)
        finally:
            self.nested = {}
        if block.projection is not None:
            modules.append(("shortcut", call_expr(block.projection)))
        deep = deep_groups(group.members)
        init = [
            statement(
                module, self.width, f"self.{key}: Any = " if key in deep else f"self.{key} = "
            )
            for key, module in modules
        ]
        params = [
            ("", f"{n}: {kind}" + ("" if d is ... else f" = {literal(d)}"))
            for n, kind, d in signature
        ]
        init_line = Group("def __init__", "(", ")", (("", "self"), *params))
        forward, methods = self.forward(group, inputs)
        text = (
            environment()
            .get_template("block.py.jinja")
            .render(
                class_line="",
                docstring=_docstring(block, bool(signature)),
                init_line="\n".join(layout(init_line, 4, self.width, trail=" -> None:")),
                init=init,
                forward_line=self.forward_line(block, inputs),
                forward=forward,
                methods=methods,
                conv_norm_pairs=self.pairs(group),
            )
        )
        return "\n" + text.strip("\n")

    def pairs(self, group: g.Group) -> str | None:
        """The class attribute naming the convolutions of the body and the batch norms
        they feed, which ``fuse()`` reads; None when there are none."""
        pairs = block_conv_norms(group)
        if not pairs:
            return None
        lead = "conv_norm_pairs: ClassVar[tuple[tuple[str, str], ...]] = "
        return "\n".join(layout(expr(pairs), 4, self.width, lead=lead))

    def forward_line(self, block: g.Block, inputs: dict[str, str]) -> str:
        names = [inputs.get(n, n) for n in block.inputs]
        args = (("", "self"), ("", "x: Tensor"), *(("", f"{n}: Tensor") for n in names))
        signature = Group("def forward", "(", ")", args)
        return "\n".join(layout(signature, 4, self.width, trail=" -> Tensor:"))

    def forward(self, group: g.Group, inputs: dict[str, str]) -> tuple[list[str], list[str]]:
        """The statements of the class's ``forward``, and the methods they call."""
        block = group.block
        assert block is not None
        channels = dict.fromkeys(block.inputs, 0)  # read, never added to: any count will do
        read = read_names(group.members)
        body = Forward(self.width, False, read, channels, inputs)  # no sizes: any size
        body.keep_input()
        body.run(group.members, "self")
        lines = []
        held = "identity" if "identity" not in {*block.inputs, *inputs.values()} else "block_input"
        if block.skip != "none":
            lines.append(f"{held} = x")
        lines += named_values(body.out, self.width)
        identity = f"self.shortcut({held})" if block.projection is not None else held
        if block.skip == "add":
            lines.append(f"x = x + {identity}")
        elif block.skip == "concat":
            lines.append(f"x = torch.cat([{identity}, x], dim=1)")
        return lines, body.methods


def _form(value: Any) -> Any:
    """A call's form: what it calls and which keywords it passes, its numbers left out."""
    if isinstance(value, g.Call | g.Partial):
        args = tuple(_form(a) for a in value.args)
        return (value.target, args, tuple((k, _form(v)) for k, v in value.kwargs))
    if isinstance(value, tuple):
        return tuple(_form(v) for v in value)
    return type(value).__name__


def _docstring(block: g.Block, general: bool) -> str:
    skip = {"add": ", its input added", "concat": ", its input concatenated first"}
    if general:
        what = (block.description or f"The block {block.name!r} of the spec").rstrip(".")
        return docstring(f"{what}{skip.get(block.skip, '')}.")
    values = ", ".join(f"{name}={literal(value)}" for name, value in block.values)
    return docstring(f"The block {block.name!r} of the spec ({values}){skip.get(block.skip, '')}.")
