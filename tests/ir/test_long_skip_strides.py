"""A long skip whose source has another spatial size than the layer it meets.

Such a skip used to validate (at input size 1, where every size is 1) and then fail on any
real input. Now the spatial sizes of the two sides must grow alike: a source a whole
number of times larger is projected by a strided 1x1 conv and norm (``on_mismatch:
project``), and anything else is refused at the skip, with a hint.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

import skipgen
from skipgen.errors import SpecError
from tests.backends.helpers import assert_equivalent, load_module


def spec(*layers: dict[str, Any], size: int | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Net",
        "input": {"channels": 3, "dims": 2},
        "defaults": {"norm": "batch", "act": "relu"},
        "layers": list(layers),
    }
    if size is not None:
        data["input"]["size"] = size
    return data


STRIDED = (
    {"type": "conv", "channels": 8, "id": "a"},
    {"type": "conv", "channels": 16, "stride": 2},
)


def errors(data: dict[str, Any]) -> list[tuple[str, str | None]]:
    with pytest.raises(SpecError) as info:
        skipgen.lower_spec(data)
    return [(d.message, d.hint) for d in info.value.diagnostics]


def test_a_long_skip_across_a_stride_is_refused_without_projection() -> None:
    data = spec(*STRIDED, {"type": "conv", "channels": 8, "skip": {"mode": "add", "from": "a"}})
    [(message, hint)] = errors(data)
    assert message.startswith("layers[2].skip: add cannot combine")
    assert "'a'" in message and "2 times" in message
    assert hint is not None and "on_mismatch: project" in hint


def test_a_long_concat_across_a_stride_is_refused_too() -> None:
    skip = {"mode": "concat", "from": "a"}
    [(message, _)] = errors(spec(*STRIDED, {"type": "conv", "channels": 8, "skip": skip}))
    assert message.startswith("layers[2].skip: concat cannot combine")


def test_a_source_smaller_than_the_output_cannot_be_projected() -> None:
    data = spec(
        {"type": "conv", "channels": 8, "stride": 2, "id": "a"},
        {"type": "upsample", "channels": 8, "mode": "nearest"},
        {"type": "upsample", "channels": 8, "mode": "nearest"},
        {"type": "conv", "channels": 8, "skip": {"mode": "add", "from": "a"}},
        {"type": "conv", "channels": 8},
    )
    data["layers"][3]["on_mismatch"] = "project"
    [(message, hint)] = errors(data)
    assert message.startswith("layers[3].skip: ")
    assert "1/4" in message
    assert hint is not None and "upsample" in hint


def test_a_dropped_long_skip_across_a_stride_is_dropped() -> None:
    skip = {"mode": "add", "from": "a"}
    layer = {"type": "conv", "channels": 8, "skip": skip, "on_mismatch": "drop"}
    graph = skipgen.lower_spec(spec(*STRIDED, layer))
    [long_skip] = list(graph.long_skips())
    assert long_skip.note == "dropped"


def projected(mode: str = "add", **extra: Any) -> dict[str, Any]:
    skip = {"mode": mode, "from": "a"}
    layer = {"type": "conv", "channels": 16, "skip": skip, "on_mismatch": "project", **extra}
    return spec(*STRIDED, layer)


def test_a_projected_long_skip_is_a_strided_projection() -> None:
    graph = skipgen.lower_spec(projected())
    [long_skip] = list(graph.long_skips())
    assert long_skip.note == "projected"
    assert long_skip.projection is not None
    assert dict(long_skip.projection.kwargs)["stride"] == 2
    assert long_skip.params == 8 * 16 + 2 * 16
    assert graph.size_rule == "height and width: any size"


def reference_forward(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The projected network written by hand from the built model's own layers."""
    a = model.conv1(x)
    y = model.conv2(a)
    y = model.conv3(y)
    conv, norm = model.conv3_skip
    shortcut = norm(nn.functional.conv2d(a, conv.weight, stride=2))
    return y + shortcut


@pytest.mark.parametrize("size", [5, 7, 8, 13])
def test_a_projected_long_skip_adds_the_strided_shortcut(size: int) -> None:
    model = skipgen.build_model(projected()).double().eval()
    x = torch.randn(2, 3, size, size, dtype=torch.double)
    with torch.no_grad():
        assert torch.allclose(model(x), reference_forward(model, x))


def test_the_emitted_network_projects_as_the_runtime_one(tmp_path: Path) -> None:
    for mode in ("add", "concat"):
        data = projected(mode)
        graph = skipgen.lower_spec(data)
        module = load_module(skipgen.generate_source(data), tmp_path)
        assert_equivalent(graph, module.Net, (2, 3, 9, 9))


@pytest.mark.parametrize(
    "layers",
    [
        # floor after the stride (a pool) against the projection's ceiling: odd sizes fail
        (
            {"type": "conv", "channels": 8, "id": "a"},
            {"type": "maxpool", "kernel": 2},
            {"type": "conv", "channels": 8, "skip": {"mode": "add", "from": "a"}},
        ),
        # two strides of 2 make one of 4
        (
            {"type": "conv", "channels": 8, "id": "a"},
            {"type": "conv", "channels": 8, "stride": 2},
            {"type": "conv", "channels": 8, "stride": 2},
            {"type": "conv", "channels": 8, "skip": {"mode": "concat", "from": "a"}},
        ),
    ],
)
def test_every_size_the_rule_accepts_runs_at_the_size_it_states(
    layers: tuple[dict[str, Any], ...],
) -> None:
    data = spec(*layers)
    data["layers"][-1]["on_mismatch"] = "project"
    graph = skipgen.lower_spec(data)
    assert graph.sizes is not None
    model = skipgen.build_model(data).eval()
    accepted = [n for n in range(1, 24) if n in graph.sizes]
    assert len(accepted) > 4
    for n in accepted:
        sized = skipgen.lower_spec({**data, "input": {**data["input"], "size": n}})
        with torch.no_grad():
            out = model(torch.randn(2, 3, n, n))
        assert tuple(out.shape[2:]) == sized.out_size
