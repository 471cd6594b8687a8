"""The emitted file holds what its network uses: the copied library is specialised for the
arguments its uses pass (skipgen/backends/simplify.py), and nothing it defines goes unused."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

import skipgen
from skipgen.backends.fold import Lit, Values
from skipgen.backends.library_view import LibraryView
from skipgen.backends.simplify import simplify
from skipgen.backends.specialise import specialise
from skipgen.library.nn import Definition, Library
from tests.backends.helpers import ROOT
from tests.strategies import specs

CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))
MIXED = ROOT / "tests" / "golden" / "mixed.yaml"


def unused_definitions(text: str) -> set[str]:
    """The module-level functions, classes and names that nothing else in ``text`` reads
    (the network class, the file's product, is the last class)."""
    tree = ast.parse(text)
    defined: dict[str, ast.stmt] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            defined[node.name] = node
        elif isinstance(node, ast.Assign):
            defined.update({t.id: node for t in node.targets if isinstance(t, ast.Name)})
    network = [n.name for n in tree.body if isinstance(n, ast.ClassDef)][-1]
    unused = set()
    for name, node in defined.items():
        readers = [
            other
            for other in tree.body
            if other is not node
            and any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(other))
        ]
        if not readers and name != network:
            unused.add(name)
    return unused


@pytest.mark.parametrize("config", [*CONFIGS, MIXED], ids=lambda p: p.stem)
def test_an_emitted_file_defines_nothing_it_does_not_use(config: Any) -> None:
    assert unused_definitions(skipgen.generate_source(config)) == set()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=specs())
def test_a_random_spec_s_file_defines_nothing_it_does_not_use(spec: dict[str, Any]) -> None:
    assert unused_definitions(skipgen.generate_source(spec)) == set()


def test_the_helper_that_finds_unused_definitions_finds_them() -> None:
    text = "def used():\n    pass\n\n\ndef unused():\n    used()\n\n\nclass Net:\n    x = used\n"
    assert unused_definitions(text) == {"unused"}


def test_resnet18_s_file_is_at_most_250_lines() -> None:
    text = skipgen.generate_source(ROOT / "configs" / "resnet18.yaml")
    assert len(text.splitlines()) <= 250


def test_every_config_s_file_runs_nine_tenths_of_its_statements() -> None:
    """A training step, an eval forward, fuse() and a fused forward run at least 90% of
    every emitted file's statements (benchmarks/emitted_coverage.py, under coverage)."""
    pytest.importorskip("coverage", reason="coverage is not installed: pip install -e '.[test]'")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    script = ROOT / "benchmarks" / "emitted_coverage.py"
    result = subprocess.run(
        [sys.executable, str(script), "--min", "0.9"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("%") == len(CONFIGS) + 2  # a row each, worst and median


# -- the specialiser on a small library of its own -----------------------------------------


def _view(source: str, entries: list[str] = ()) -> LibraryView:  # type: ignore[assignment]
    tree = ast.parse(textwrap.dedent(source))
    lines = textwrap.dedent(source).splitlines()
    definitions = {}
    for order, node in enumerate(tree.body):
        assert isinstance(node, ast.FunctionDef | ast.ClassDef)
        text = "\n".join(lines[node.lineno - 1 : node.end_lineno])
        refs = frozenset(n.id for n in ast.walk(node) if isinstance(n, ast.Name))
        definitions[node.name] = Definition((node.name,), text, refs, order)
    imports = {"nn": ("torch", "nn", None), "torch": ("torch", None, None)}
    return LibraryView(Library(definitions, imports), list(entries))


def _values(*values: Any) -> Values:
    return frozenset(Lit(v) for v in values)


LIBRARY = '''
def act_layer(act: str | None, inplace: bool = True) -> nn.Module:
    """An activation.

    ``inplace`` for the ones that take it.
    """
    if act == "none":
        return nn.Identity()
    if act == "relu":
        return nn.ReLU(inplace=inplace)
    if act == "gelu":
        return nn.GELU()
    raise ValueError(f"unknown act {act!r}")


def check(channels: int) -> None:
    if channels < 1:
        raise ValueError("channels must be positive")


class Block(nn.Module):
    """A block.

    ``dims`` picks the convolution; ``dropout`` drops.
    """

    def __init__(self, channels: int, *, dims: int = 2, dropout: float = 0.0) -> None:
        super().__init__()
        check(channels)
        convs = {1: nn.Conv1d, 2: nn.Conv2d}
        self.conv = convs[dims](channels, channels, 3)
        self.act = act_layer("relu")
        self.dropout = dropout

    def forward(self, x):
        if self.dropout > 0.0:
            x = torch.dropout(x, self.dropout, self.training)
        if x.dim() > 4:
            raise ValueError("at most 4 dimensions")
        return self.act(self.conv(x))
'''


def test_an_option_every_use_leaves_at_its_default_becomes_fixed() -> None:
    view = _view(LIBRARY)
    network = "class Net(nn.Module):\n    def __init__(self):\n        self.b = Block(8)\n"
    final = specialise(view, [network], set())
    block = final["Block"]
    assert "def __init__(self, channels: int) -> None:" in block
    assert "self.conv = nn.Conv2d(channels, channels, 3)" in block
    assert "dropout" not in block  # its branch, its attribute and its docstring paragraph
    assert '"""A block."""' in block
    assert "check(" not in block and "check" not in final  # a check the compiler proved
    assert 'raise ValueError("at most 4 dimensions")' in block  # a check of the input stays
    assert "self.act = nn.ReLU(inplace=True)" in block  # act_layer("relu"), written out
    assert "act_layer" not in final


def test_a_parameter_that_a_use_passes_stays_a_parameter() -> None:
    view = _view(LIBRARY)
    network = (
        "class Net(nn.Module):\n    def __init__(self):\n        self.b = Block(8, dropout=0.5)\n"
    )
    block = specialise(view, [network], set())["Block"]
    assert "dropout: float = 0.0" in block
    assert "self.dropout = dropout" in block  # never written as 0.5: the argument counts
    assert "if self.dropout > 0.0" not in block  # the branch every use takes stays alone
    assert "x = torch.dropout(x, self.dropout, self.training)" in block


def test_a_name_tested_against_literals_is_narrowed_in_what_follows() -> None:
    view = _view(LIBRARY)
    known = {"act": _values("relu", "none"), "inplace": _values(True)}
    text = simplify(view, "act_layer", view.texts["act_layer"], known, {"inplace": "True"}).text
    assert text == textwrap.dedent('''\
        def act_layer(act: str) -> nn.Module:
            """An activation."""
            if act == "none":
                return nn.Identity()
            return nn.ReLU(inplace=True)''')
    compile(text, "act_layer", "exec")


def test_uses_that_differ_keep_a_block_general() -> None:
    view = _view(LIBRARY)
    network = (
        "class Net(nn.Module):\n    def __init__(self):\n"
        "        self.a = Block(8, dims=1)\n        self.b = Block(8, dims=2)\n"
    )
    block = specialise(view, [network], set())["Block"]
    assert "dims: int = 2" in block
    assert "convs[dims](channels, channels, 3)" in block
