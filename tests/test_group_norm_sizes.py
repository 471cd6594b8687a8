"""Group norm with one channel per group needs more than one position, as instance norm does.

torch's ``GroupNorm`` normalizes each group of each sample over its channels and positions;
with as many groups as channels, a 1x1 map gives it one value, and it raises at batch 1 (in
training and evaluation alike). The size rule accounts for it: a located error when the
input size is given, and the sizes where it would fail are left out when it is free.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

import skipgen
from skipgen.errors import SpecError


def net(*layers: dict[str, Any], channels: int = 3, size: int | None = 16) -> dict[str, Any]:
    data: dict[str, Any] = {"name": "Net", "input": {"channels": channels}}
    if size is not None:
        data["input"]["size"] = size
    return {**data, "layers": list(layers)}


GROUP8 = {"type": "group", "groups": 8}
AFTER_GLOBAL_POOL = (
    {"type": "conv", "channels": 8, "stride": 2},
    {"type": "global_pool"},
    {"type": "conv", "channels": 8, "kernel": 1, "norm": GROUP8},
)


def errors(data: dict[str, Any]) -> list[str]:
    with pytest.raises(SpecError) as caught:
        skipgen.lower_spec(data)
    return [d.format() for d in caught.value.diagnostics]


def runs_at_batch_1(data: dict[str, Any], size: int) -> bool:
    """Whether torch runs the network (built for any size) on one sample of ``size``."""
    model = skipgen.build_model({**data, "input": {"channels": data["input"]["channels"]}})
    x = torch.randn(1, data["input"]["channels"], size, size)
    try:
        with torch.no_grad():
            model.train()(x)
    except ValueError as error:
        assert "Expected more than 1 value per channel" in str(error)
        return False
    return True


def test_torch_refuses_one_value_per_group_in_training_and_evaluation() -> None:
    norm = torch.nn.GroupNorm(4, 4)
    for mode in (norm.train, norm.eval):
        mode()
        with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
            norm(torch.randn(1, 4, 1, 1))
    assert torch.nn.GroupNorm(4, 8)(torch.randn(1, 8, 1, 1)).shape == (1, 8, 1, 1)


def test_group_norm_after_a_global_pool_is_a_located_error() -> None:
    [error] = errors(net(*AFTER_GLOBAL_POOL))
    assert (
        "layers[2]: the group norm of this conv (8 groups of one channel) needs a size of at "
        "least 2, got 1 along dimension 1 (input size 16)"
    ) in error


def test_a_group_norm_layer_on_a_1x1_input_is_refused_unless_groups_hold_two_channels() -> None:
    one_per_group = net(
        {"type": "norm", "norm": {"type": "group", "groups": 4}}, channels=4, size=1
    )
    [error] = errors(one_per_group)
    assert (
        "layers[0]: this group norm (4 groups of one channel) needs a size of at least 2" in error
    )
    two_per_group = net(
        {"type": "norm", "norm": {"type": "group", "groups": 4}}, channels=8, size=1
    )
    skipgen.lower_spec(two_per_group)
    assert runs_at_batch_1(two_per_group, 1)


def test_the_size_rule_leaves_out_the_sizes_where_group_norm_fails() -> None:
    layers = [{"type": "conv", "channels": 8, "stride": 2, "norm": GROUP8}] * 2
    graph = skipgen.lower_spec(net(*layers, size=None))
    assert graph.size_rule == "height and width: at least 5"
    for size in range(1, 10):
        data = net(*layers, size=size)
        try:
            skipgen.lower_spec(data)
        except SpecError:
            accepted = False
        else:
            accepted = True
        assert accepted == (size >= 5)
        assert runs_at_batch_1(data, size) == accepted
