"""Valid means it runs: any spec is a located error, or a network that does what validate says.

For specs drawn over every kind, skip mode, norm, activation and dimension (many of them
invalid), either the lowering raises a located :class:`SpecError`, or: ``build_model`` builds
the network; a forward pass runs at the spec's size (or, with no size, at the two smallest
sizes that the size rule accepts); every block's static output shape and parameter count
equal the built module's; and the emitted source computes the same thing.

CI runs a fixed, derandomized budget; ``SKIPGEN_FUZZ_EXAMPLES=500`` raises it locally and
``SKIPGEN_FUZZ_RANDOM=1`` draws new examples on every run.
"""

from __future__ import annotations

import copy
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from hypothesis import given
from torch import nn

import skipgen
from skipgen.errors import SpecError
from skipgen.ir.graph import Graph
from tests.backends.helpers import assert_equivalent, load_module
from tests.strategies import fuzz_settings
from tests.strategies.anything import any_specs

FUZZ = fuzz_settings(60)  # CI: the same examples every run
BATCH = 2
LARGEST_RUN = {1: 4096, 2: 96, 3: 24}  # sizes above these are checked statically only


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


def sized(spec: dict[str, Any], size: int) -> dict[str, Any]:
    data = copy.deepcopy(spec)
    data["input"]["size"] = size
    return data


def assert_located(error: SpecError, text: str) -> None:
    lines = text.count("\n") + 1
    assert error.diagnostics
    for diagnostic in error.diagnostics:
        assert diagnostic.file == "<string>"
        assert 1 <= diagnostic.line <= lines and diagnostic.col >= 1, diagnostic.format()
        assert diagnostic.message and "Traceback" not in diagnostic.message


def stage_modules(model: nn.Module, graph: Graph) -> Iterator[tuple[Any, nn.Module]]:
    """Every node of the graph with the module built for it."""
    for path, stage in graph.leaves():
        module = model.get_submodule(".".join(path))
        children = list(module.children()) if stage.sequential else [module]
        assert len(children) == len(stage.nodes)
        yield from zip(stage.nodes, children, strict=True)


def assert_static_facts_hold(graph: Graph) -> None:
    """Parameters per block and in all, and output shapes per block, as the graph says."""
    assert graph.input_size is not None
    model = skipgen.build_model(graph)
    assert sum(p.numel() for p in model.parameters()) == graph.params
    shapes: dict[int, tuple[int, ...]] = {}
    expected: dict[int, tuple[int, ...]] = {}
    for node, module in stage_modules(model, graph):
        assert sum(p.numel() for p in module.parameters()) == node.params, node.kind
        expected[id(module)] = (BATCH, node.out_channels, *(node.out_size or ()))
        module.register_forward_hook(lambda m, i, o: shapes.__setitem__(id(m), tuple(o.shape)))
    for path, member in graph.members():
        skip = member.long_skip
        if skip is not None and skip.attr is not None:
            projection = model.get_submodule(".".join((*path[:-1], skip.attr)))
            assert sum(p.numel() for p in projection.parameters()) == skip.params
    x = torch.randn(BATCH, graph.in_channels, *graph.input_size)
    model.train()  # batch statistics: the strictest mode for norms
    out = model(x)
    assert tuple(out.shape) == graph.output_shape(BATCH)
    assert shapes == expected


def sizes_to_run(spec: dict[str, Any], graph: Graph) -> list[int]:
    """The spec's size, or the two smallest that the size rule accepts."""
    if graph.input_size is not None:
        return [graph.input_size[0]] if len(set(graph.input_size)) == 1 else []
    assert graph.sizes is not None
    if graph.sizes.checked_up_to is None:
        for n in range(1, 33):  # the rule is exact: it accepts what validate accepts
            accepted = True
            try:
                skipgen.lower_spec(sized(spec, n))
            except SpecError:
                accepted = False
            assert accepted == (n in graph.sizes), (n, graph.size_rule)
    return graph.sizes.smallest(2)


@FUZZ
@given(spec=any_specs())
def test_a_spec_is_a_located_error_or_a_network_that_works(
    spec: dict[str, Any], folder: Path
) -> None:
    text = yaml.safe_dump(spec, sort_keys=False)
    try:
        graph = skipgen.lower_spec(text)
    except SpecError as error:
        assert_located(error, text)
        return
    for size in sizes_to_run(spec, graph):
        at_size = skipgen.lower_spec(yaml.safe_dump(sized(spec, size), sort_keys=False))
        if size > LARGEST_RUN[graph.dims]:
            continue
        assert_static_facts_hold(at_size)
        module = load_module(skipgen.generate_source(text), folder)
        shape = (BATCH, graph.in_channels, *([size] * graph.dims))
        assert_equivalent(at_size, getattr(module, graph.name), shape)
