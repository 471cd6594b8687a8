"""The classes of a spec's composite blocks in the emitted file, one template each.

An instance of a composite block becomes a call of its class; instances whose classes
would read the same share one. The class holds the body's layers under the body's names,
as the runtime's ``CompositeBlock`` does, so both have the same ``state_dict`` keys; its
``forward`` takes ``x`` and the saved outputs its body reads through long skips, runs the
body, and adds (or concatenates) its own shortcut.

Every value is written as the instance's lowering computed it: a class is the block for
one set of parameter values, and a block used with other values gets a class of its own
(``DecoderBlock``, ``DecoderBlock2``, ...).
"""

from __future__ import annotations

import textwrap

from skipgen.backends.layout import Group, call_expr, layout, literal, statement
from skipgen.backends.members import Forward, deep_groups, held
from skipgen.ir import graph as g

_BASE = (("", "nn.Module"),)


def class_name(block: str) -> str:
    """``decoder_block`` -> ``DecoderBlock``."""
    return "".join(part[:1].upper() + part[1:] for part in block.split("_") if part)


class BlockClasses:
    """The classes of the composite blocks a network uses, in the order they must be
    defined (a block's class after those of the blocks in its body)."""

    def __init__(self, width: int, sizes_known: bool, taken: set[str]) -> None:
        self.width = width
        self.sizes_known = sizes_known
        self.taken = set(taken)  # names the module defines or imports
        self.by_text: dict[str, str] = {}  # a class's text, with its name left out -> name
        self.texts: list[str] = []  # the classes, in order
        self.skips: set[str] = set()  # the own skips the classes combine

    def name_of(self, group: g.Group) -> str:
        assert group.block is not None
        body = self.render(group)
        if body in self.by_text:
            return self.by_text[body]
        name = base = class_name(group.block.name) or "Block"
        number = 1
        while name in self.taken:
            number += 1
            name = f"{base}{number}"
        self.taken.add(name)
        self.by_text[body] = name
        head = layout(Group(f"class {name}", "(", ")", _BASE), 0, self.width, trail=":")
        self.texts.append("\n".join(head) + body)
        self.skips.add(group.block.skip)
        return name

    def render(self, group: g.Group) -> str:
        """The class of ``group`` after its ``class`` line."""
        from skipgen.backends.source import environment

        block = group.block
        assert block is not None
        modules = held(group.members, self)
        if block.projection is not None:
            modules.append(("shortcut", call_expr(block.projection)))
        deep = deep_groups(group.members)
        init = [
            statement(
                module, self.width, f"self.{key}: Any = " if key in deep else f"self.{key} = "
            )
            for key, module in modules
        ]
        return "\n" + environment().get_template("block.py.jinja").render(
            class_line="",
            docstring=_docstring(block),
            init=init,
            forward_line=self.forward_line(block),
            forward=self.forward(group),
        ).strip("\n")

    def forward_line(self, block: g.Block) -> str:
        args = (("", "self"), ("", "x: Tensor"), *(("", f"{n}: Tensor") for n in block.inputs))
        signature = Group("def forward", "(", ")", args)
        return "\n".join(layout(signature, 4, self.width, trail=" -> Tensor:"))

    def forward(self, group: g.Group) -> list[str]:
        block = group.block
        assert block is not None
        channels = dict.fromkeys(block.inputs, 0)  # read, never added to: any count will do
        body = Forward(self.width, False, set(), channels)  # no sizes: one class, any size
        body.run(group.members, "self")
        lines = []
        if block.skip != "none":
            lines.append("identity = x")
        lines += body.out
        identity = "self.shortcut(identity)" if block.projection is not None else "identity"
        if block.skip == "add":
            lines.append(f"x = x + {identity}")
        elif block.skip == "concat":
            lines.append(f"x = torch.cat([{identity}, x], dim=1)")
        return lines


def _docstring(block: g.Block) -> str:
    values = ", ".join(f"{name}={literal(value)}" for name, value in block.values)
    skip = {"add": ", its input added", "concat": ", its input concatenated first"}
    text = f"The block {block.name!r} of the spec ({values}){skip.get(block.skip, '')}."
    lines = textwrap.wrap(text, 76, break_on_hyphens=False)
    if len(lines) == 1:
        return f'"""{lines[0]}"""'
    return '"""' + "\n".join(lines) + '\n"""'
