"""The source backend in small pieces: literals, layout, the copied library, the header."""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import skipgen
from skipgen.backends import source
from skipgen.backends.layout import BODY_INDENT, Group, call_expr, flat, layout, literal, statement
from skipgen.backends.source import MARKER
from skipgen.errors import SpecError
from skipgen.ir.graph import Call
from skipgen.library.nn import SourceError, closure, library
from tests.backends.helpers import ROOT, ruff
from tests.conftest import CONFIGS

TINY = """\
name: Tiny
input: {channels: 3, size: 8}
layers:
  - {type: conv, channels: 8, id: enc}
  - {type: basic, channels: 16, stride: 2}
  - {type: upsample, channels: 8, skip: {mode: concat, from: enc}}
"""

VALUES = [None, True, False, 0, 7, -3, 10**30, 1e-5, 0.1, 1.0, -2.5, 1e20, 1.5e-300]
VALUES += ["relu", "", "it's", 'say "hi"', "both ' and \"", "back\\slash", "tab\t", "é"]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_literals_read_back_as_the_same_value(value: object) -> None:
    text = literal(value)
    assert ast.literal_eval(text) == value
    assert type(ast.literal_eval(text)) is type(value)


@pytest.mark.parametrize("value", [math.inf, -math.inf])
def test_infinite_floats_are_valid_source(value: float) -> None:
    assert eval(literal(value), {"__builtins__": {"float": float}}) == value


def test_nan_is_valid_source() -> None:
    assert math.isnan(eval(literal(math.nan), {"__builtins__": {"float": float}}))


def test_literals_are_as_ruff_formats_them() -> None:
    text = "".join(f"x{i} = {literal(v)}\n" for i, v in enumerate(VALUES))
    result = ruff("format", "--check", "--stdin-filename", "values.py", "-", stdin=text)
    assert result.returncode == 0, result.stdout + result.stderr


def test_values_other_than_literals_and_calls_are_refused() -> None:
    with pytest.raises(TypeError):
        literal(object())
    with pytest.raises(TypeError):
        literal([1, 2])


def test_unknown_targets_are_an_internal_error() -> None:
    with pytest.raises(SourceError):
        call_expr(Call("os.system", ("true",)))
    with pytest.raises(SourceError):
        call_expr(Call("nn.Conv2d; import os"))


def _statement(e: Group, lead: str) -> str:
    return textwrap.indent(statement(e, 88, lead), " " * BODY_INDENT)


LONG_CALLS = [
    Call("BasicBlock", (64, 128), (("stride", 2), ("downsample", True))),
    Call("InvertedResidual", (16, 24), (("stride", 2), ("hidden_channels", 96), ("act", "silu"))),
    Call(
        "InvertedResidual",
        (192, 320),
        (("hidden_channels", 1152), ("se_channels", 48), ("act", "silu"), ("skip", "none")),
    ),
    Call(
        "Shortcut",
        (Call("ConvNormAct", (64, 64), (("kernel_size", 5), ("norm", "group"))), 64, 128, 2),
        (("skip", "concat"), ("downsample", True), ("norm", "group"), ("norm_groups", 16)),
    ),
]


@pytest.mark.parametrize("repeat", [1, 2, 3])
@pytest.mark.parametrize("index", range(len(LONG_CALLS)))
def test_layout_is_what_ruff_format_makes_of_one_line(index: int, repeat: int) -> None:
    calls = tuple(("", call_expr(LONG_CALLS[index])) for _ in range(repeat))
    group = Group("nn.Sequential", "(", ")", calls)
    lead = "self.a_rather_long_attribute_name = "
    ours = f"class A:\n    def f(self):\n{_statement(group, lead)}\n"
    one_line = f"class A:\n    def f(self):\n        {lead}{flat(group)}\n"
    result = ruff("format", "--stdin-filename", "a.py", "-", stdin=one_line)
    assert result.stdout == ours


def test_layout_keeps_short_calls_on_one_line() -> None:
    call = call_expr(Call("ConvNormAct", (3, 64), (("kernel_size", 7),)))
    assert layout(call, 8, 88, "self.stem = ") == ["self.stem = ConvNormAct(3, 64, kernel_size=7)"]


def test_the_library_holds_every_block_of_the_registry() -> None:
    from skipgen.nn import REGISTRY

    assert set(REGISTRY) <= set(library().definitions)


def test_helpers_come_before_the_blocks_that_use_them() -> None:
    definitions = closure({"BasicBlock", "InvertedResidual", "DenseBlock"})
    names = [d.names[0] for d in definitions]
    assert len(names) == len(set(names))
    position = {name: i for i, name in enumerate(names)}
    for definition in definitions:
        for ref in definition.refs & position.keys():
            if ref not in definition.names:
                assert position[ref] < position[definition.names[0]], (ref, definition.names)
    assert {"ConvNormAct", "SqueezeExcitation", "DenseLayer", "conv_nd"} <= set(names)


def test_only_the_needed_blocks_are_copied() -> None:
    text = skipgen.generate_source(ROOT / "configs" / "resnet18.yaml")
    tree = ast.parse(text)
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)}
    assert {"BasicBlock", "Classifier", "ResNet18"} <= defined
    assert not defined & {"Bottleneck", "DenseBlock", "UpConv", "InvertedResidual"}


def test_header_names_the_spec_file_its_hash_and_the_version() -> None:
    path = ROOT / "configs" / "resnet18.yaml"
    text = skipgen.generate_source(path)
    head = text.splitlines()[:3]
    assert head[0].startswith(f"{MARKER} {skipgen.__version__} from resnet18.yaml.")
    assert "Do not edit" in head[0]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert f"# spec sha256: {digest}" in head
    assert str(path.parent) not in text


def test_the_hash_ignores_line_endings() -> None:
    assert source.spec_hash("a\r\nb\r\n") == source.spec_hash("a\nb\n")


@pytest.mark.parametrize(
    "file", ["dir/evil\nimport os\n.yaml", "x\r.yaml", "café.yaml", 'q"""\'.yaml', "a b.yaml"]
)
def test_odd_file_names_stay_inside_the_header_comment(file: str) -> None:
    graph = dataclasses.replace(skipgen.lower_spec(TINY), file=file)
    text = source.render(graph, TINY)
    assert all(line.isascii() for line in text.splitlines()[:3])
    assert text.splitlines()[0].startswith(MARKER)
    assert text.splitlines()[1].startswith("# ")
    tree = ast.parse(text)
    assert [type(n).__name__ for n in tree.body[:1]] == ["Expr"]  # the module docstring


def test_a_spec_given_as_text_or_dict_still_gets_a_header() -> None:
    text = skipgen.generate_source(TINY)
    assert text.startswith(f"{MARKER} {skipgen.__version__} from <string>.")


def test_every_name_the_generated_module_defines_or_imports_is_reserved() -> None:
    """So that ``validate`` refuses such a name in a spec, as ``build`` would."""
    from skipgen.language.reserved import RESERVED_NAMES
    from skipgen.library.nn import library_names

    assert library_names() <= RESERVED_NAMES


def test_a_network_named_like_a_copied_block_is_a_spec_error() -> None:
    spec = TINY.replace("name: Tiny", "name: ConvNormAct")
    with pytest.raises(SpecError) as info:
        skipgen.generate_source(spec)
    (diagnostic,) = info.value.diagnostics
    assert (diagnostic.line, diagnostic.col) == (1, 7)
    assert "ConvNormAct" in diagnostic.message


def test_dropped_long_skips_are_a_comment() -> None:
    spec = """\
name: Dropped
input: {channels: 4, size: 8}
layers:
  - {type: conv, channels: 8, id: enc}
  - {type: conv, channels: 16, skip: {mode: add, from: enc}, on_mismatch: drop}
"""
    text = skipgen.generate_source(spec)
    assert "# the add from enc is dropped: channels differ" in text
    assert "enc = x" not in text  # nothing reads it
    assert ruff("check", "--stdin-filename", "d.py", "-", stdin=text).returncode == 0


def _looks_up_by_text(call: ast.Call) -> bool:
    """``eval`` and friends, or ``getattr`` with a name that is not written in the code."""
    if not isinstance(call.func, ast.Name):
        return False
    if call.func.id == "getattr":
        name = call.args[1] if len(call.args) > 1 else None
        return not (isinstance(name, ast.Constant) and isinstance(name.value, str))
    return call.func.id in {"eval", "exec", "compile", "__import__"}


def test_the_emitter_never_evaluates_text() -> None:
    for module in ("skipgen/backends/source.py", "skipgen/output.py", "skipgen/commands/build.py"):
        tree = ast.parse((ROOT / module).read_text())
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
        assert not [ast.unparse(c) for c in calls if _looks_up_by_text(c)], module


def test_building_does_not_import_torch(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code = f"""
import sys
import skipgen
from skipgen.cli import app
for config in {[str(c) for c in CONFIGS]!r}:
    skipgen.generate_source(config)
try:
    app(["build", *{[str(c) for c in CONFIGS]!r}, "-o", {str(out)!r}])
except SystemExit as exit:
    assert exit.code in (0, None), exit.code
assert "torch" not in sys.modules, "building imported torch"
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
    assert len(list(out.glob("*.py"))) == len({c.stem for c in CONFIGS})


# The IR's parameter count (repeated in the generated docstring) against the real modules,
# for layers whose count once went wrong.
COUNTED = {
    "basic-groups": {"type": "basic", "channels": 4, "groups": 2},
    "basic-no-norm": {"type": "basic", "channels": 4, "norm": "none"},
    "bottleneck-no-norm": {"type": "bottleneck", "channels": 8, "expansion": 2, "norm": "none"},
    "dense-no-norm": {"type": "dense", "layers": 1, "growth": 2, "norm": "none"},
    "transition-no-norm": {"type": "transition", "norm": "none"},
    "inverted-residual-no-norm": {"type": "inverted_residual", "channels": 4, "norm": "none"},
}


@pytest.mark.parametrize("layer", COUNTED.values(), ids=COUNTED.keys())
def test_docstring_parameter_count(layer: dict, tmp_path: Path) -> None:
    from tests.backends.helpers import load_module

    spec = {"name": "Counted", "input": {"channels": 4, "size": 8}, "layers": [layer]}
    module = load_module(skipgen.generate_source(spec), tmp_path)
    model = module.Counted()
    count = sum(p.numel() for p in model.parameters())
    assert f"Parameters: {count:,}." in module.Counted.__doc__
