"""Width scaling keeps a depthwise conv depthwise: its `groups`, written equal to its
channels (often through a composite block's parameter), scales with them."""

from __future__ import annotations

import pytest
import torch

import skipgen
from tests.backends.helpers import assert_backends_agree

SPEC = """\
name: Net
input: {channels: 3, size: 16}
scaling: {width: WIDTH}
defaults: {norm: batch, act: relu}
blocks:
  separable:
    params: {c: int}
    layers:
      - {type: conv, kernel: 3, channels: "${c}", groups: "${c}"}
      - {type: conv, kernel: 1, channels: "${c}"}
layers:
  - {type: conv, channels: 16}
  - {type: separable, c: 16}
  - {type: conv, channels: 32, groups: 4}
"""


@pytest.mark.parametrize(("width", "depthwise"), [(1.0, 16), (1.5, 24), (0.5, 8)])
def test_a_depthwise_conv_stays_depthwise_under_width_scaling(width: float, depthwise: int) -> None:
    text = SPEC.replace("WIDTH", str(width))
    graph = skipgen.lower_spec(text)
    model = skipgen.build_model(graph)
    groups = [m.groups for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert groups == [1, depthwise, 1, 4]  # grouped, not depthwise: 4 groups at any width
    assert_backends_agree(text, (2, 3, 16, 16))
