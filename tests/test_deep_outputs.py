"""Outputs and heads that read a layer several sequences deep.

The resolver lets `outputs` and a head's `from` reach a layer as deep as a long skip's
`from` does (three sequences). The network must then end where that layer is read: each
sequence around it is cut after it, so that nothing is built that no output needs, and the
shape `validate` prints and the emitted class documents is the one `forward` returns.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from torch import nn
from typer.testing import CliRunner

import skipgen
from skipgen.cli import app
from tests.backends.helpers import load_module


def nested(**top: Any) -> dict[str, Any]:
    """A stem, then x2 two sequences deep with a stride-2 conv after it at every level."""
    return {
        "name": "Deep",
        "input": {"channels": 3, "size": 16},
        "layers": [
            {"type": "conv", "channels": 8, "name": "stem"},
            {
                "type": "sequence",
                "name": "outer",
                "layers": [
                    {
                        "type": "sequence",
                        "name": "inner",
                        "layers": [
                            {"type": "conv", "channels": 16, "id": "x2"},
                            {"type": "conv", "channels": 32, "stride": 2},
                        ],
                    },
                    {"type": "conv", "channels": 64, "stride": 2},
                ],
            },
            {"type": "conv", "channels": 8, "name": "last"},
        ],
        **top,
    }


AUX = {"name": "aux", "from": "x2", "layers": [{"type": "conv", "channels": 2, "kernel": 1}]}


def inner_map(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """What x2 gives inside the full network."""
    seen: list[torch.Tensor] = []
    hook = model.get_submodule("outer.inner.0").register_forward_hook(
        lambda m, i, o: seen.append(o)
    )
    with torch.no_grad():
        model(x)
    hook.remove()
    return seen[0]


def both_backends(data: dict[str, Any], tmp_path: Path) -> list[nn.Module]:
    model = skipgen.build_model(data).eval()
    source = skipgen.generate_source(data)
    emitted = load_module(source, tmp_path).Deep().eval()
    emitted.load_state_dict(model.state_dict())
    return [model, emitted]


def test_an_output_two_sequences_deep_ends_the_network_there(tmp_path: Path) -> None:
    full = skipgen.build_model(nested()).eval()
    x = torch.randn(1, 3, 16, 16)
    want = inner_map(full, x)
    data = nested(outputs=["x2"])
    graph = skipgen.lower_spec(data)
    assert [module for module, _ in graph.dropped] == ["outer.inner.1", "outer.1", "last"]
    assert graph.output_shape() == ("N", 16, 16, 16)
    assert [(o.module, o.shape(graph.axes)) for o in graph.outputs] == [
        ("outer.inner.0", ("N", 16, 16, 16))
    ]
    for net in both_backends(data, tmp_path):
        assert list(net.state_dict()) == [
            key for key in full.state_dict() if key.startswith(("stem.", "outer.inner.0."))
        ]
        net.load_state_dict(full.state_dict(), strict=False)
        with torch.no_grad():
            got = net(x)
        assert isinstance(got, torch.Tensor)
        assert torch.equal(got, want)


@pytest.mark.parametrize(
    ("top", "shape"),
    [
        ({"outputs": ["x2"]}, "(N, 16, 16, 16)"),
        ({"heads": [AUX], "outputs": ["aux"]}, "(N, 2, 16, 16)"),
    ],
)
def test_validate_and_the_emitted_class_tell_the_shape_forward_returns(
    top: dict[str, Any], shape: str, tmp_path: Path
) -> None:
    spec = tmp_path / "deep.yaml"
    spec.write_text(yaml.safe_dump(nested(**top)), encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(spec)])
    assert result.exit_code == 0, result.output
    assert f"Deep (N, 3, 16, 16) -> {shape}," in result.output
    assert f"Output shape: {shape}." in skipgen.generate_source(spec)


def test_a_head_from_a_layer_two_sequences_deep_reads_it_and_the_rest_is_left_out(
    tmp_path: Path,
) -> None:
    data = nested(heads=[AUX], outputs=["aux"])
    graph = skipgen.lower_spec(data)
    assert [module for module, _ in graph.dropped] == ["outer.inner.1", "outer.1", "last"]
    assert graph.output_shape() == ("N", 2, 16, 16)
    for net in both_backends(data, tmp_path):
        assert not any(
            key.startswith(("outer.inner.1.", "outer.1.", "last.")) for key in net.state_dict()
        )
        with torch.no_grad():
            got = net(torch.randn(1, 3, 16, 16))
        assert isinstance(got, torch.Tensor) and got.shape == (1, 2, 16, 16)


def three_deep(**top: Any) -> dict[str, Any]:
    """x3 inside three sequences, each with a layer after it."""
    conv = {"type": "conv", "channels": 8}
    inner = {"type": "sequence", "name": "c", "layers": [{**conv, "id": "x3"}, conv]}
    middle = {"type": "sequence", "name": "b", "layers": [inner, conv]}
    outer = {"type": "sequence", "name": "a", "layers": [conv, middle, conv]}
    return {
        "name": "Deep",
        "input": {"channels": 3, "size": 8},
        "layers": [outer, conv],
        **top,
    }


def test_an_output_three_sequences_deep_returns_that_layers_map(tmp_path: Path) -> None:
    full = skipgen.build_model(three_deep()).eval()
    seen: list[torch.Tensor] = []
    full.get_submodule("a.b.c.0").register_forward_hook(lambda m, i, o: seen.append(o))
    x = torch.randn(1, 3, 8, 8)
    with torch.no_grad():
        full(x)
    data = three_deep(outputs=["x3"])
    graph = skipgen.lower_spec(data)
    assert [module for module, _ in graph.dropped] == ["a.b.c.1", "a.b.1", "a.2", "conv1"]
    for net in both_backends(data, tmp_path):
        net.load_state_dict(full.state_dict(), strict=False)
        assert len(net.state_dict()) == 2 * 6  # two conv-norm blocks: a.0 and a.b.c.0
        with torch.no_grad():
            assert torch.equal(net(x), seen[0])
