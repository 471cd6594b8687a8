"""Source backend: a lowered graph becomes a standalone PyTorch module (``.py`` text).

The output holds the block classes and helpers the graph uses, copied as text from
``skipgen/nn`` (see :mod:`skipgen.library.nn`), and one network class rendered
through Jinja2 templates. Python prepares every string and every literal goes through
:mod:`skipgen.backends.layout`; the templates only place them.
"""

from __future__ import annotations

import hashlib
import re
import textwrap

from skipgen.backends.blocks import BlockClasses
from skipgen.backends.jinja import environment
from skipgen.backends.layout import (
    DEFAULT_LINE_LENGTH,
    MIN_LINE_LENGTH,
    Group,
    expr,
    layout,
    literal,
    statement,
    uses_partial,
)
from skipgen.backends.library_view import LibraryView
from skipgen.backends.members import (
    Classes,
    Forward,
    deep_groups,
    held,
    member_module,
    named_values,
    read_names,
    uses_ordered_dict,
)
from skipgen.backends.specialise import arrange, reads, specialise
from skipgen.backends.text import comment, string_literal
from skipgen.errors import Diagnostic, SpecError
from skipgen.ir import graph as g
from skipgen.ir.fusion import block_conv_norms, network_conv_norms
from skipgen.ir.graph import Graph
from skipgen.ir.state import state_shapes
from skipgen.library.nn import NETWORK_IMPORTS, Library, import_sections
from skipgen.library.plugins import library_for
from skipgen.version import MARKER, __version__

NETWORK_HELPERS = frozenset({"fuse_for_inference"})
# fuse() of a network with no batch norm to fold: only the layout of its weights
LAYOUT_HELPERS = frozenset({"layout_for_inference"})


def fuse_helpers(graph: Graph) -> frozenset[str]:
    """What the network's fuse() calls: the folding of batch norms where it has any (or
    a plugin's block, whose tensors are not known), else only the weights' layout."""
    state = state_shapes(graph)
    norms = any(key.endswith(".running_var") for key, _ in state.entries)
    return NETWORK_HELPERS if norms or state.unknown else LAYOUT_HELPERS


"""What the network class calls from the library, whatever blocks it holds: its ``fuse``."""


# -- the network class --------------------------------------------------------------------


def _shape(shape: tuple[int | str, ...]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


def init_statements(
    graph: Graph, width: int = DEFAULT_LINE_LENGTH, classes: Classes | None = None
) -> list[str]:
    """``self.<attr> = ...`` in the order the runtime backend registers its modules, then
    ``feature_info`` when the spec names its outputs."""
    if classes is None:
        classes = BlockClasses(width, set())
        classes.prepare(graph)
    modules = held(graph.stages, classes, graph.order)
    modules += [(head.group.attr, member_module(head.group, classes)) for head in graph.heads]
    deep = deep_groups(graph.stages)
    out = [
        statement(module, width, f"self.{key}: Any = " if key in deep else f"self.{key} = ")
        for key, module in modules
    ]
    if graph.outputs:
        infos = tuple(
            (
                "",
                Group(
                    "",
                    "{",
                    "}",
                    tuple(
                        (f"{string_literal(key)}: ", literal(value))
                        for key, value in output.feature_info().items()
                    ),
                ),
            )
            for output in graph.outputs
        )
        out.append(statement(Group("", "[", "]", infos), width, "self.feature_info = "))
    return out


def forward_body(graph: Graph, width: int = DEFAULT_LINE_LENGTH) -> Forward:
    """The body of ``forward`` (stages in order, long skips as named locals), and the
    methods it calls."""
    read = read_names(graph.stages)
    read |= {head.source for head in graph.heads}
    read |= {output.local for output in graph.outputs}
    body = Forward(width, graph.input_size is not None, read)
    body.keep_input()
    body.run(graph.stages, "self")
    for head in graph.heads:
        call = Group(f"self.{head.group.attr}", "(", ")", (("", head.source),))
        body.out.append(statement(call, width, f"{head.group.attr} = "))
    return body


def returns(graph: Graph, width: int = DEFAULT_LINE_LENGTH) -> tuple[str, str]:
    """The return type of ``forward`` and its last statement."""
    outputs = graph.outputs
    if graph.keyed_outputs:
        items = tuple((f"{string_literal(o.name)}: ", o.local) for o in outputs)
        return "dict[str, Tensor]", statement(Group("", "{", "}", items), width, "return ")
    if not outputs:
        return "Tensor", "return x"
    if len(outputs) == 1:
        return "Tensor", f"return {outputs[0].local}"
    listed = Group("", "[", "]", tuple(("", output.local) for output in outputs))
    return "list[Tensor]", statement(listed, width, "return ")


def class_line(name: str, width: int = DEFAULT_LINE_LENGTH) -> str:
    """``class <name>(nn.Module):``, its base on a line of its own if the name is long."""
    base = Group(f"class {name}", "(", ")", (("", "nn.Module"),))
    return "\n".join(layout(base, 0, width, trail=":"))


def fuse_line(name: str, width: int = DEFAULT_LINE_LENGTH) -> str:
    """``def fuse(self) -> "<name>":``, split as ruff-format splits it if the name is long
    (a parameter on its own line takes a trailing comma).

    The class is named in quotes: ``typing.Self`` would need Python 3.11.
    """
    returns = f" -> {string_literal(name)}:"
    line = f"def fuse(self){returns}"
    return line if 4 + len(line) <= width else f"def fuse(\n    self,\n){returns}"


def conv_norm_pairs(graph: Graph, width: int = DEFAULT_LINE_LENGTH) -> str | None:
    """The class attribute naming the convolutions the network holds itself and the batch
    norms they feed, which ``fuse()`` reads; None when there are none."""
    pairs = network_conv_norms(graph)
    if not pairs:
        return None
    lead = "conv_norm_pairs: ClassVar[tuple[tuple[str, str], ...]] = "
    return "\n".join(layout(expr(pairs), 4, width, lead=lead))


def docstring(graph: Graph) -> str:
    if graph.input_size is None:
        inputs = f"{_shape(graph.input_shape())}, {graph.size_rule}"
    else:
        inputs = _shape(graph.input_shape())
    lines = [
        '"""A network generated by skipgen.',
        "",
        f"Input shape: {inputs}.",
        *(
            [f"Output shape: {_shape(graph.output_shape())}."]
            if len(graph.outputs) < 2 and not graph.keyed_outputs
            else [
                f"Outputs, as a {'dict' if graph.keyed_outputs else 'list'}:",
                "",
                *(f"- {o.name}: {_shape(o.shape(graph.axes))}" for o in graph.outputs),
                "",
            ]
        ),
        f"Parameters: {graph.params:,}.",
        '"""',
    ]
    # Indented by 4 in the class, a line stays within the default length (a long size rule).
    wrapped = [
        part
        for line in lines
        for part in textwrap.wrap(line, DEFAULT_LINE_LENGTH - 4, break_on_hyphens=False) or [""]
    ]
    return "\n".join(wrapped)


# -- the module ---------------------------------------------------------------------------


def _file_label(file: str) -> str:
    return comment(re.split(r"[\\/]", file)[-1] or file)


def spec_hash(spec_text: str) -> str:
    """sha256 of the spec text, with line endings made ``\\n`` (a checkout may change them)."""
    text = spec_text.replace("\r\n", "\n").replace("\r", "\n")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def header(graph: Graph, spec_text: str) -> list[str]:
    return [
        f"{MARKER} {__version__} from {_file_label(graph.file)}. Do not edit:",
        "# change the spec and build again.",
        f"# spec sha256: {spec_hash(spec_text)}",
    ]


def _name_line(spec_text: str) -> tuple[int, int]:
    for number, line in enumerate(spec_text.splitlines(), 1):
        match = re.match(r"name\s*:\s*", line)
        if match:
            return number, match.end() + 1
    return 1, 1


def _check_name(graph: Graph, spec_text: str, names: set[str]) -> None:
    if graph.name in names:
        line, col = _name_line(spec_text)
        raise SpecError(
            [
                Diagnostic(
                    graph.file,
                    line,
                    col,
                    f"name: {graph.name!r} is also a name that the generated module defines "
                    "or imports",
                    "choose another class name for the network",
                )
            ]
        )


def _network_globals(graph: Graph) -> set[str]:
    """The module-level names the network class reads (its template and statements)."""
    names = {"nn", "Tensor"}  # the base class, nn.Sequential and nn layers; the annotations
    names |= fuse_helpers(graph)
    for skip in graph.long_skips():
        if skip.mode == "concat" and skip.note != "dropped":
            names.add("torch")  # torch.cat
    if graph.checkpoints:
        names |= {"is_scripting", "checkpointed"}
    if any(block.skip == "concat" for block in graph.blocks()):
        names.add("torch")  # a composite block's own concat
    members = tuple(member for _, member in graph.members())
    if uses_ordered_dict(members):
        names.add("OrderedDict")
    blocks = [m for m in members if isinstance(m, g.Group) and m.block is not None]
    if deep_groups(graph.stages) or any(deep_groups(b.members) for b in blocks):
        names.add("Any")
    if network_conv_norms(graph) or any(block_conv_norms(b) for b in blocks):
        names.add("ClassVar")
    calls = [node.call for node in graph.nodes()]
    calls += [skip.projection for skip in graph.long_skips() if skip.projection is not None]
    calls += [block.projection for block in graph.blocks() if block.projection is not None]
    if any(uses_partial(call) for call in calls):
        names.add("partial")  # a norm_layer with arguments bound
    return names


def render(graph: Graph, spec_text: str, line_length: int = DEFAULT_LINE_LENGTH) -> str:
    """The standalone module for ``graph``: header, imports, blocks, network class.

    The module is ruff-format clean at ``line_length`` (at least 88: the copied blocks
    are written to fit 88 columns and stay unchanged at any greater width).
    """
    if line_length < MIN_LINE_LENGTH:
        raise ValueError(f"line_length must be at least {MIN_LINE_LENGTH}, got {line_length}")
    blocks = {t for t in graph.targets() if not t.startswith("nn.")}
    blocks |= {"checkpointed"} if graph.checkpoints else set()
    found = library_for(blocks)
    lib = Library(found.definitions, {**found.imports, **NETWORK_IMPORTS})
    _check_name(graph, spec_text, set(lib.definitions) | set(lib.imports))
    env = environment()
    taken = {*lib.definitions, *lib.imports, *_network_globals(graph), graph.name}
    classes = BlockClasses(line_length, taken)
    classes.prepare(graph)
    body = forward_body(graph, line_length)
    helpers = fuse_helpers(graph)
    network = {
        "class_line": class_line(graph.name, line_length),
        "docstring": docstring(graph),
        "init": init_statements(graph, line_length, classes),
        "forward": named_values(body.out, line_length),
        "methods": body.methods,
        "returns": returns(graph, line_length),
        "fuse_line": fuse_line(graph.name, line_length),
        "conv_norm_pairs": conv_norm_pairs(graph, line_length),
        "fuse_helper": next(iter(helpers)),
    }
    network_text = env.get_template("network.py.jinja").render(**network)
    entries = [network_text, *classes.texts]
    view = LibraryView(lib, entries)
    final = specialise(view, entries, blocks | helpers, helpers)
    order = {name: d.order for name, d in lib.definitions.items()}
    entry_names = set().union(*(reads(text) for text in entries))
    before, after = arrange(final, order, entry_names | blocks, helpers)
    used = _network_globals(graph).union(*(reads(text) for text in final.values()))
    # isort's blank lines after imports: two before a class or function, else one
    first = [line for text in before[:1] for line in text.splitlines() if line[:1] != "#"]
    return env.get_template("module.py.jinja").render(
        header=header(graph, spec_text),
        summary="Standalone PyTorch source generated by skipgen: it needs only torch.",
        imports=import_sections(used, lib),
        definitions=before + classes.texts,
        after=after,
        two_lines_after_imports=not first or first[0].startswith(("class ", "def ", "@")),
        **network,
    )
