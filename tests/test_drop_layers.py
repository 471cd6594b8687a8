"""Identity and dropout layers, and stochastic depth on any layer that adds its input: in
both backends, against torch's layers and torchvision's stochastic depth semantics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

import skipgen
from skipgen.errors import SpecError
from tests.backends.helpers import assert_equivalent, load_module


def spec(*layers: dict[str, Any], dims: int = 2, **top: Any) -> dict[str, Any]:
    size = {1: 16, 2: 8, 3: 4}[dims]
    data = {"name": "Net", "input": {"channels": 4, "dims": dims, "size": size}, **top}
    return {**data, "layers": list(layers)}


def messages(data: dict[str, Any]) -> list[str]:
    with pytest.raises(SpecError) as caught:
        skipgen.lower_spec(data)
    return [d.message for d in caught.value.diagnostics]


# -- identity and dropout --------------------------------------------------------------------


def test_identity_is_a_named_point_for_skips_and_outputs(tmp_path: Path) -> None:
    data = spec(
        {"type": "conv", "channels": 4},
        {"type": "identity", "name": "stem_out", "id": "stem"},
        {"type": "conv", "channels": 4, "skip": {"mode": "add", "from": "stem"}, "id": "out"},
        outputs=["stem", "out"],
    )
    model = skipgen.build_model(data).eval()
    assert isinstance(model.stem_out, nn.Identity)
    x = torch.randn(2, 4, 8, 8)
    stem, out = model(x)
    assert torch.equal(stem, model.conv1(x))
    assert torch.allclose(out, model.conv2(stem) + stem)
    source = skipgen.generate_source(data)
    assert "self.stem_out = nn.Identity()" in source
    assert_equivalent(skipgen.lower_spec(data), load_module(source, tmp_path).Net, (2, 4, 8, 8))


@pytest.mark.parametrize(
    ("dims", "layer"), [(1, nn.Dropout1d), (2, nn.Dropout2d), (3, nn.Dropout3d)]
)
def test_dropout_drops_values_or_with_channelwise_whole_channels(dims: int, layer: type) -> None:
    plain = skipgen.build_model(spec({"type": "dropout", "p": 0.25}, dims=dims))
    assert type(plain.dropout1) is nn.Dropout and plain.dropout1.p == 0.25
    channels = skipgen.build_model(
        spec({"type": "dropout", "p": 0.5, "channelwise": True}, dims=dims)
    )
    assert type(channels.dropout1) is layer and channels.dropout1.p == 0.5
    x = torch.ones(64, 4, *[4] * dims)
    assert torch.equal(channels.eval()(x), x)
    torch.manual_seed(0)
    out = channels.train()(x).flatten(2)
    # every channel of every sample is all zeros or all 2 (kept, scaled by 1 / (1 - p))
    assert torch.all((out == 0).all(2) | (out == 2).all(2))
    dropped = (out == 0).all(2).float().mean().item()
    assert 0.4 < dropped < 0.6
    default = skipgen.build_model(spec({"type": "dropout"}))
    assert default.dropout1.p == 0.5  # torch's default


def test_dropout_and_identity_keep_channels_size_and_parameters() -> None:
    graph = skipgen.lower_spec(spec({"type": "identity"}, {"type": "dropout", "p": 0.1}))
    assert graph.params == 0
    assert [(n.in_channels, n.out_channels, n.out_size) for n in graph.nodes()] == [
        (4, 4, (8, 8)),
        (4, 4, (8, 8)),
    ]
    assert messages(spec({"type": "dropout", "p": 1.0})) == ["layers[0].p: must be less than 1"]


# -- stochastic depth ------------------------------------------------------------------------


def drop_rates(data: dict[str, Any]) -> list[float]:
    """The drop path rate of every block of the spec (0 where it has none)."""
    return [dict(n.call.kwargs).get("drop_path", 0.0) for n in skipgen.lower_spec(data).nodes()]


def test_a_layer_with_an_add_skip_counts_in_the_networks_schedule() -> None:
    data = spec(
        {"type": "conv", "channels": 4},  # no skip: not counted
        {"type": "conv", "channels": 4, "skip": "add", "repeat": 2},
        {"type": "basic", "channels": 4},
        {"type": "conv", "channels": 4, "skip": "add", "stochastic_depth": 0.5},  # its own
        {"type": "norm", "skip": "add"},
        {"type": "conv", "channels": 4, "skip": "concat"},  # a concat has no rate
        defaults={"stochastic_depth": 0.25},
    )
    # five blocks in the schedule: the i-th drops with probability 0.25 * i / 5
    assert drop_rates(data) == [0.0, 0.0, 0.05, 0.1, 0.5, 0.2, 0.0]


def test_a_long_skip_is_not_a_branch_that_stochastic_depth_drops() -> None:
    data = spec(
        {"type": "conv", "channels": 4, "id": "first"},
        {"type": "conv", "channels": 4, "skip": {"mode": "add", "from": "first"}},
        {"type": "basic", "channels": 4, "repeat": 2},
        defaults={"stochastic_depth": 0.5},
    )
    assert drop_rates(data) == [0.0, 0.0, 0.0, 0.25]
    long_skip = spec(
        {"type": "conv", "channels": 4, "id": "first"},
        {
            "type": "conv",
            "channels": 4,
            "skip": {"mode": "add", "from": "first"},
            "stochastic_depth": 0.1,
        },
    )
    message = (
        "layers[1].stochastic_depth: stochastic_depth drops the branch around which a layer "
        "adds its input, and this layer adds none"
    )
    assert messages(long_skip) == [message]
    no_skip = spec({"type": "conv", "channels": 4, "stochastic_depth": 0.1})
    assert messages(no_skip) == [message.replace("[1]", "[0]")]


def test_eval_output_is_the_undropped_sum(tmp_path: Path) -> None:
    data = spec({"type": "conv", "channels": 4, "skip": "add", "stochastic_depth": 0.9})
    model = skipgen.build_model(data).eval()
    x = torch.randn(3, 4, 8, 8)
    with torch.no_grad():
        assert torch.allclose(model(x), model.conv1.body(x) + x)
    source = skipgen.generate_source(data)
    assert "drop_path=0.9" in source
    assert_equivalent(skipgen.lower_spec(data), load_module(source, tmp_path).Net, (3, 4, 8, 8))


def test_training_drops_whole_samples_as_torchvisions_row_mode() -> None:
    """torchvision.ops.stochastic_depth(x, p, "row"): each sample's branch is kept with
    probability 1 - p and then divided by it, or zeroed; here the branch adds to the input."""
    p = 0.3
    data = spec({"type": "conv", "channels": 4, "skip": "add", "stochastic_depth": p})
    model = skipgen.build_model(data).train()
    x = torch.randn(4000, 4, 2, 2)
    torch.manual_seed(0)
    with torch.no_grad():
        branch = model.conv1.body(x)  # batch statistics: the same in the next call
        out = model(x)
    residual = out - x
    kept = torch.isclose(residual, branch / (1 - p), atol=1e-5).flatten(1).all(1)
    dropped = (residual.abs() < 1e-6).flatten(1).all(1)
    assert torch.all(kept ^ dropped)  # every sample: its whole branch, or none of it
    assert abs(dropped.float().mean().item() - p) < 0.03
