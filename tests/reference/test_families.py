"""The modern families whose references lay their modules out under names a spec cannot
take, or beside the zoo's cases: RegNetY's torchvision checkpoint reaches the model by order
and shape, and the result is the reference's output."""

from __future__ import annotations

import re

import torch

import skipgen

from .fill import fill_value, make_input
from .test_zoo import assert_matches, config, reference


def reference_checkpoint(name: str) -> dict[str, torch.Tensor]:
    """The reference's own state_dict, keys and order, filled by the reference rule."""
    return {
        key: fill_value(
            i,
            key,
            shape,
            torch.long if key.endswith("num_batches_tracked") else torch.float64,
        )
        for i, (key, shape) in enumerate(reference(name)["state_dict"])
    }


def test_regnet_keys_are_torchvisions_with_blocks_numbered() -> None:
    """torchvision's `trunk_output.block2.block2-1...` is `trunk_output.block2.1...` here:
    a module name is a Python identifier. Nothing else differs."""
    with torch.device("meta"):
        keys = list(skipgen.build_model(config("regnet_y_400mf")).state_dict())
    theirs = [key for key, _ in reference("regnet_y_400mf")["state_dict"]]
    assert keys == [re.sub(r"\.block(\d)-(\d+)\.", r".\2.", key) for key in theirs]


def test_regnet_loads_torchvisions_checkpoint_and_gives_its_output() -> None:
    ref = reference("regnet_y_400mf")
    model = skipgen.build_model(config("regnet_y_400mf")).double().eval()
    skipgen.transfer_weights(model, reference_checkpoint("regnet_y_400mf"))
    with torch.no_grad():
        assert_matches(model(make_input(ref["input_shape"])), ref)
