"""``fuse()`` on random specs (composite blocks among them), built and emitted: in
evaluation, with running statistics away from their initial values, the fused network
computes what the unfused one does, and a second ``fuse()`` folds nothing more."""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import pytest
import torch
import yaml
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

import skipgen
from tests.backends.helpers import as_list, trained
from tests.composite.strategies import composite_specs
from tests.strategies import fuzz_settings, graph_to_run, specs
from tests.test_checkpoint import _network

FUZZ = fuzz_settings(20)
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # e.g. dropout on 1 channel


def _norms(model: nn.Module) -> int:
    return sum(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


@FUZZ
@pytest.mark.parametrize("backend", ["runtime", "emitted"])
@given(spec=st.one_of(specs(), composite_specs()))
def test_a_fused_random_spec_computes_what_the_unfused_one_does(
    backend: str, spec: dict[str, object]
) -> None:
    text = yaml.safe_dump(spec, sort_keys=False)
    graph = graph_to_run(text)
    if graph is None:
        return
    torch.manual_seed(0)
    reference = trained(skipgen.build_model(graph)).double()
    with tempfile.TemporaryDirectory() as folder:
        network = _network(backend, text, [], Path(folder)).double()
    network.load_state_dict(reference.state_dict())
    size = graph.input_size or (16,) * graph.dims
    x = torch.randn(2, graph.in_channels, *size, dtype=torch.float64)
    with torch.no_grad():
        expected = as_list(reference(x))
        before = _norms(network)
        assert network.eval().fuse() is network
        after = _norms(network)
        assert after <= before
        got = as_list(network(x))
        assert len(got) == len(expected)
        for a, e in zip(got, expected, strict=True):
            torch.testing.assert_close(a, e, rtol=1e-9, atol=1e-9 * (1 + e.abs().max().item()))

        state = copy.deepcopy(network.state_dict())
        network.fuse()  # idempotent: nothing more to fold, nothing changed
        assert _norms(network) == after
        assert network.state_dict().keys() == state.keys()
        for key, value in network.state_dict().items():
            assert torch.equal(value, state[key]), key
