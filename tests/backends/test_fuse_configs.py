"""``fuse()`` on every config, built and emitted: the same outputs as the unfused network
with trained-looking batch norm statistics, every norm that a convolution feeds gone."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
from torch import nn

import skipgen
from tests.backends.helpers import as_list, input_shape, load_module, trained
from tests.conftest import CONFIGS, ROOT

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")

# nothing to fold: no batch norm (ConvNeXt normalizes by layer norms), fuse() leaves them be
NO_NORMS = {"squeezenet1_1", "convnext_tiny"}
# The batch norms no convolution feeds directly, so they stay: DenseNet-121's 58 dense layers
# and 3 transitions normalize a concatenation first, and norm5 the last one.
LEFT = {"densenet121": 58 + 3 + 1}


@pytest.fixture(params=CONFIGS, ids=[c.stem for c in CONFIGS])
def config(request: pytest.FixtureRequest) -> Path:
    return request.param


def norms(model: nn.Module) -> int:
    return sum(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


def assert_close(actual: list[torch.Tensor], expected: list[torch.Tensor]) -> None:
    """Equal to float32 rounding: within 1e-5 of the output's largest magnitude."""
    assert [a.shape for a in actual] == [e.shape for e in expected]
    for a, e in zip(actual, expected, strict=True):
        assert (a - e).abs().max() <= 1e-5 * e.abs().max()


def test_fused_equals_unfused(config: Path, tmp_path: Path) -> None:
    graph = skipgen.lower_spec(config)
    torch.manual_seed(0)
    model = trained(skipgen.build_model(graph))
    x = torch.randn(input_shape(config, graph))
    with torch.no_grad():
        expected = as_list(model(x))

        emitted = getattr(load_module(skipgen.generate_source(config), tmp_path), graph.name)()
        emitted.load_state_dict(model.state_dict())
        built = copy.deepcopy(model)
        for network in (built, emitted):
            assert (norms(network) > 0) == (config.stem not in NO_NORMS)
            assert network.eval().fuse() is network
            assert norms(network) == LEFT.get(config.stem, 0)
            actual = as_list(network(x))
            assert_close(actual, expected)

            state = copy.deepcopy(network.state_dict())
            network.fuse()  # idempotent: nothing more to fold
            assert network.state_dict().keys() == state.keys()
            assert all(torch.equal(v, state[k]) for k, v in network.state_dict().items())
            assert all(torch.equal(a, b) for a, b in zip(as_list(network(x)), actual, strict=True))


def test_training_mode_is_refused(tmp_path: Path) -> None:
    config = ROOT / "configs" / "resnet18.yaml"
    graph = skipgen.lower_spec(config)
    emitted = getattr(load_module(skipgen.generate_source(config), tmp_path), graph.name)()
    for network in (skipgen.build_model(graph), emitted):
        with pytest.raises(RuntimeError, match=r"fuse\(\) is for inference: call model\.eval"):
            network.fuse()
        assert norms(network) == 20  # untouched


def test_every_block_of_the_library_fuses(tmp_path: Path) -> None:
    """The golden spec that calls every block class (shortcut forms, channel layer norm, a
    memory-efficient dense block, checkpointed layers): fused equals unfused in both backends."""
    spec = ROOT / "tests" / "golden" / "mixed.yaml"
    graph = skipgen.lower_spec(spec, set=["defaults.norm=batch"])
    torch.manual_seed(0)
    model = trained(skipgen.build_model(graph)).eval()
    x = torch.randn(input_shape(spec, graph))
    with torch.no_grad():
        expected = as_list(model(x))
        source = skipgen.generate_source(spec, set=["defaults.norm=batch"])
        emitted = getattr(load_module(source, tmp_path), graph.name)()
        emitted.load_state_dict(model.state_dict())
        for network in (copy.deepcopy(model), emitted.eval()):
            before = norms(network)
            network.fuse()
            assert norms(network) < before
            assert_close(as_list(network(x)), expected)
