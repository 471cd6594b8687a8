"""Random specs with `checkpoint: true` drawn on random layers, sequences and composite
uses (bodies included): each is refused at the `checkpoint` key, or trains, in both
backends, exactly as the same spec without it (outputs, gradients, running statistics)."""

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
from hypothesis import strategies as st

import skipgen
from skipgen.errors import SpecError
from tests.backends.helpers import ruff
from tests.backends.test_source_random import SHAPE_COMMENT
from tests.composite.strategies import composite_specs
from tests.strategies import fuzz_settings, graph_to_run, specs
from tests.test_checkpoint import _network, _step

FUZZ = fuzz_settings(20)
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # e.g. dropout on 1 channel


def _layer_lists(spec: dict[str, Any]) -> Iterator[list[Any]]:
    """Every list of layers: the network's, each sequence's and each block body's."""
    pending: list[Any] = [spec.get("layers", [])]
    pending += [block.get("layers", []) for block in spec.get("blocks", {}).values()]
    while pending:
        layers = pending.pop()
        if not isinstance(layers, list):
            continue
        yield layers
        pending += [layer.get("layers") for layer in layers if isinstance(layer, dict)]


@st.composite
def checkpointed(draw: st.DrawFn, spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` with `checkpoint: true` on some of its layers (at least one)."""
    spec = copy.deepcopy(spec)
    layers = [
        layer
        for layers in _layer_lists(spec)
        for layer in layers
        if isinstance(layer, dict) and layer.get("type") not in ("dense", None)
    ]
    chosen = draw(st.lists(st.sampled_from(layers), min_size=1, max_size=4)) if layers else []
    for layer in chosen:
        layer["checkpoint"] = True
    return spec


def _assert_trains_as_plain(plain_spec: dict[str, Any], spec: dict[str, Any], backend: str) -> None:
    plain_text = yaml.safe_dump(plain_spec, sort_keys=False)
    text = yaml.safe_dump(spec, sort_keys=False)
    graph = graph_to_run(plain_text)
    if graph is None:
        return
    try:
        skipgen.lower_spec(text)
    except SpecError as error:  # refused where checkpoint is: at that key
        for diagnostic in error.diagnostics:
            assert diagnostic.message.split(":")[0].endswith(".checkpoint"), str(error)
        return
    plain = skipgen.build_model(graph).double()
    with tempfile.TemporaryDirectory() as folder:
        saving = _network(backend, text, [], Path(folder)).double()
    saving.load_state_dict(plain.state_dict())
    size = graph.input_size or (16,) * graph.dims
    x = torch.randn(2, graph.in_channels, *size, dtype=torch.float64)
    out, grads = _step(plain, x)
    saving_out, saving_grads = _step(saving, x)
    torch.testing.assert_close(saving_out, out, rtol=1e-10, atol=1e-10)
    assert saving_grads.keys() == grads.keys()
    for name, grad in grads.items():
        torch.testing.assert_close(saving_grads[name], grad, rtol=1e-8, atol=1e-10, msg=name)
    # Recomputation updates scratch buffers: the running statistics moved once, as plain.
    for (name, got), want in zip(saving.named_buffers(), plain.buffers(), strict=True):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12, msg=name)


@FUZZ
@pytest.mark.parametrize("backend", ["runtime", "emitted"])
@given(data=st.data())
def test_checkpoints_in_a_random_spec_change_nothing_but_memory(
    backend: str, data: st.DataObject
) -> None:
    spec = data.draw(specs())
    _assert_trains_as_plain(spec, data.draw(checkpointed(spec)), backend)


@FUZZ
@pytest.mark.parametrize("backend", ["runtime", "emitted"])
@given(data=st.data())
def test_checkpoints_in_a_random_composite_spec_change_nothing_but_memory(
    backend: str, data: st.DataObject
) -> None:
    spec = data.draw(composite_specs())
    _assert_trains_as_plain(spec, data.draw(checkpointed(spec)), backend)


@FUZZ
@given(data=st.data(), width=st.sampled_from([88, 100, 120]))
def test_checkpointed_random_specs_are_ruff_clean_and_formatted(
    data: st.DataObject, width: int
) -> None:
    """The checkpointed calls and the methods of checkpointed sequences are laid out
    exactly as ruff-format lays them out, at any line length, and ruff finds nothing."""
    spec = data.draw(st.one_of(specs(), composite_specs()))
    text = yaml.safe_dump(data.draw(checkpointed(spec)), sort_keys=False)
    try:
        source = skipgen.generate_source(text, line_length=width)
    except SpecError:
        return
    stdin = ("--stdin-filename", "net.py", "-")
    check = ruff("check", *stdin, stdin=source, line_length=width)
    assert check.returncode == 0, check.stdout
    flat = SHAPE_COMMENT.sub("", skipgen.generate_source(text, line_length=10**6))
    formatted = ruff("format", *stdin, stdin=flat, line_length=width)
    assert formatted.returncode == 0, formatted.stderr
    assert formatted.stdout == SHAPE_COMMENT.sub("", source)
