"""Emitted files of random specs (composite blocks and checkpointed layers among them)
work with PyTorch's tooling: TorchScript compiles them and computes what the eager class
does, in evaluation and in training, and ``torch.export`` traces them."""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from hypothesis import given
from hypothesis import strategies as st

import skipgen
from tests.backends.helpers import as_list, load_module, trained
from tests.composite.strategies import composite_specs
from tests.strategies import fuzz_settings, graph_to_run, specs
from tests.test_checkpoint_fuzz import checkpointed

FUZZ = fuzz_settings(10)
pytestmark = [
    pytest.mark.filterwarnings("ignore::UserWarning"),  # e.g. dropout on 1 channel
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),  # torch.jit.script's
]


@st.composite
def any_emitted_spec(draw: st.DrawFn) -> dict[str, Any]:
    spec = draw(st.one_of(specs(), composite_specs()))
    return draw(checkpointed(spec)) if draw(st.booleans()) else spec


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the emitted files stay while the test runs: TorchScript reads their source."""
    return tmp_path_factory.mktemp("emitted")


def _emitted(spec: dict[str, Any], folder: Path) -> tuple[torch.nn.Module, tuple[int, ...]] | None:
    text = yaml.safe_dump(spec, sort_keys=False)
    graph = graph_to_run(text)
    if graph is None:
        return None
    module = load_module(skipgen.generate_source(text), Path(tempfile.mkdtemp(dir=folder)))
    torch.manual_seed(0)
    network: torch.nn.Module = trained(getattr(module, graph.name)()).double()
    size = graph.input_size or (16,) * graph.dims
    return network, (2, graph.in_channels, *size)


def _close(got: Any, want: Any) -> None:
    for a, b in zip(as_list(got), as_list(want), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-9)


@FUZZ
@given(spec=any_emitted_spec())
def test_torchscript_computes_what_the_emitted_class_does(
    spec: dict[str, Any], folder: Path
) -> None:
    emitted = _emitted(spec, folder)
    if emitted is None:
        return
    network, shape = emitted
    x = torch.randn(shape, dtype=torch.float64)
    scripted = torch.jit.script(copy.deepcopy(network))
    with torch.no_grad():
        _close(scripted(x), network(x))
    # Training: the same batch statistics, dropout and stochastic depth drawn alike.
    network.train()
    scripted.train()
    torch.manual_seed(1)
    want = network(x)
    torch.manual_seed(1)
    _close(scripted(x), want)


@FUZZ
@given(spec=any_emitted_spec())
def test_torch_export_traces_the_emitted_class(spec: dict[str, Any], folder: Path) -> None:
    emitted = _emitted(spec, folder)
    if emitted is None:
        return
    network, shape = emitted
    x = torch.randn(shape, dtype=torch.float64)
    exported = torch.export.export(network, (x,))
    with torch.no_grad():
        _close(exported.module()(x), network(x))
