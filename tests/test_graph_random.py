"""Random graph specs (:mod:`tests.strategies.graphs`): layers that read earlier outputs by
name, branches merged by concat, add and mul, at the top level, in sequences and in composite
block bodies.

A valid one is accepted, builds, runs at its declared size and at another size the size rule
accepts, states its per-block shapes and parameters truly, and its emitted file has the same
``state_dict`` keys and computes the same outputs (and training step) with the runtime's
state loaded. One with a drawn mistake is refused, with a diagnostic at the mistake's line
and column. ``SKIPGEN_FUZZ_EXAMPLES`` draws more, ``SKIPGEN_FUZZ_RANDOM`` new ones each run.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from hypothesis import given
from torch import nn

import skipgen
from skipgen.errors import SpecError
from skipgen.ir.graph import Graph
from skipgen.ir.state import state_shapes
from tests.backends.helpers import as_list, assert_equivalent, load_module
from tests.strategies import fuzz_settings
from tests.strategies.graphs import INPUT_SIZE, GraphDraw, graph_draws
from tests.test_differential import BATCH, assert_located, stage_modules

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # e.g. norms of one value

LARGEST_RUN = {1: 256, 2: 40, 3: 12}  # an accepted size above these is not run


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


def sizes_to_run(draw: GraphDraw, graph: Graph) -> list[int]:
    """The declared size and the smallest other one the size rule accepts; with no size
    declared, the two smallest."""
    assert graph.sizes is not None
    accepted = [n for n in graph.sizes.smallest(8) if n <= LARGEST_RUN[graph.dims]]
    if "size" not in draw.spec["input"]:
        return accepted[:2]
    declared = INPUT_SIZE[graph.dims]
    assert declared in graph.sizes, graph.size_rule
    return [declared, *[n for n in accepted if n != declared][:1]]


def assert_runs_as_stated(graph: Graph) -> None:
    """Built at its size, every block's output shape and parameters are the graph's, and
    so are the network's outputs."""
    assert graph.input_size is not None
    model = skipgen.build_model(graph)
    assert sum(p.numel() for p in model.parameters()) == graph.params
    shapes: dict[int, tuple[int, ...]] = {}
    expected: dict[int, tuple[int, ...]] = {}
    for node, module in stage_modules(model, graph):
        assert sum(p.numel() for p in module.parameters()) == node.params, node.kind
        expected[id(module)] = (BATCH, node.out_channels, *(node.out_size or ()))
        module.register_forward_hook(lambda m, i, o: shapes.__setitem__(id(m), tuple(o.shape)))
    model.train()  # batch statistics: the strictest mode for norms
    outs = as_list(model(torch.randn(BATCH, graph.in_channels, *graph.input_size)))
    if graph.outputs:
        stated = [out.shape(graph.axes, BATCH) for out in graph.outputs]
    else:
        stated = [graph.output_shape(BATCH)]
    assert [tuple(out.shape) for out in outs] == stated
    assert {k: shapes[k] for k in expected} == expected


def assert_same_outputs(graph: Graph, emitted: type[nn.Module], shape: tuple[int, ...]) -> None:
    """The emitted class, with the runtime's state loaded, computes the same in evaluation."""
    reference = skipgen.build_model(graph).double().eval()
    generated = emitted().double().eval()
    assert list(generated.state_dict()) == list(reference.state_dict())
    generated.load_state_dict(reference.state_dict())
    x = torch.randn(shape, dtype=torch.double)
    with torch.no_grad():
        expected, actual = as_list(reference(x)), as_list(generated(x))
    assert [a.shape for a in actual] == [e.shape for e in expected]
    for a, e in zip(actual, expected, strict=True):
        assert torch.allclose(a, e, rtol=1e-9, atol=1e-12)


@fuzz_settings(20)
@given(draw=graph_draws())
def test_a_valid_graph_builds_runs_and_emits_the_same(draw: GraphDraw, folder: Path) -> None:
    try:
        graph = skipgen.lower_spec(draw.text)
    except SpecError as error:
        raise AssertionError(f"a valid graph was refused:\n{draw.text}\n{error}") from None
    module = load_module(skipgen.generate_source(draw.text), folder)
    emitted = getattr(module, graph.name)
    first, *others = sizes_to_run(draw, graph)
    for size in (first, *others):
        at_size = skipgen.lower_spec(draw.text, set=[f"input.size={size}"])
        assert_runs_as_stated(at_size)
        found = state_shapes(at_size)
        built = skipgen.build_model(at_size).state_dict()
        assert list(found.entries) == [(key, tuple(value.shape)) for key, value in built.items()]
        shape = (BATCH, graph.in_channels, *([size] * graph.dims))
        if size == first:  # same keys, outputs and training step
            assert_equivalent(at_size, emitted, shape)
        else:
            assert_same_outputs(at_size, emitted, shape)


@fuzz_settings(50)
@given(draw=graph_draws(defect=True))
def test_a_graph_with_a_mistake_is_refused_at_it(draw: GraphDraw) -> None:
    assert draw.defect is not None
    with pytest.raises(SpecError) as info:
        skipgen.lower_spec(draw.text)
    assert_located(info.value, draw.text)
    line, col = draw.where()
    found = [(d.line, d.col, d.message) for d in info.value.diagnostics]
    at = [
        message
        for where_line, where_col, message in found
        if (where_line, where_col) == (line, col)
    ]
    assert at, f"{draw.defect.kind}: nothing at {line}:{col}, found {found}\n{draw.text}"
    if draw.defect.says is not None:
        assert any(draw.defect.says in message for message in at), (draw.defect.kind, at)
