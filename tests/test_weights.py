"""``skipgen.transfer_weights``: by key, the rest by order, and refusals that change nothing.

The command line (``skipgen weights``) is tested in ``test_cli_weights.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

import skipgen
from skipgen.weights import WeightsMismatchError, match_weights
from tests.reference.fill import fill_value, make_input
from tests.weights_helpers import STEM, tiny, torchvision_names

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "tests" / "reference" / "data"


def snapshot(model: nn.Module) -> dict[str, Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


def assert_state(model: nn.Module, expected: list[Tensor]) -> None:
    values = list(model.state_dict().values())
    assert len(values) == len(expected)
    for ours, theirs in zip(values, expected, strict=True):
        assert torch.equal(ours, theirs.to(ours.dtype))


def assert_by_name(model: nn.Module, source: dict[str, Tensor]) -> None:
    """Every entry of the model equals the source's entry of the same name."""
    state = model.state_dict()
    assert set(state) == set(source)
    for key, value in state.items():
        assert torch.equal(value, source[key]), key


# -- matching by key, then by order ------------------------------------------------------


def test_by_key_in_any_order() -> None:
    model, source = tiny(0), tiny(1).state_dict()
    shuffled = dict(reversed(source.items()))
    report = skipgen.transfer_weights(model, shuffled)
    assert report.loaded == {k: k for k in source} and report.by == "key"
    assert_state(model, list(source.values()))


def test_keys_sorted_by_name_load_exactly() -> None:
    """safetensors stores keys sorted: a norm's bias then comes before its weight, which
    pairing by position would swap (both have shape (8,)). Every name is the model's own,
    so every tensor goes to its own entry."""
    model, source = tiny(0), dict(tiny(1).state_dict())
    ordered = sorted(source)
    assert ordered != list(source)
    assert ordered.index("stem.1.bias") < ordered.index("stem.1.weight")
    skipgen.transfer_weights(model, {k: source[k] for k in ordered})
    assert_by_name(model, source)


def test_a_partial_rename_matches_names_by_key_and_the_rest_by_order() -> None:
    model, source = tiny(0), tiny(1).state_dict()
    renamed = torchvision_names(source)
    assert "conv1.weight" in renamed and "stem.0.weight" not in renamed
    plan = match_weights(model.state_dict(), renamed)
    assert plan.report.by == "key and order"
    assert plan.report.by_order == STEM  # model key -> the weights' key paired with it
    assert plan.report.by_key == [k for k in source if k not in STEM]
    skipgen.transfer_weights(model, renamed)
    assert_by_name(model, source)
    assert next(iter(model.state_dict())) == "stem.0.weight"  # the model keeps its own names


def test_renamed_tensors_may_stand_anywhere_in_the_file() -> None:
    """Only the renamed tensors are paired by position, among themselves: put at the end
    of the file, the stem's tensors still go to the stem."""
    model, source = tiny(0), tiny(1).state_dict()
    renamed = torchvision_names(source)
    stem_last = {k: v for k, v in renamed.items() if k not in STEM.values()}
    stem_last |= {k: v for k, v in renamed.items() if k in STEM.values()}
    assert next(iter(stem_last)) == "layer1.conv1.weight"
    skipgen.transfer_weights(model, stem_last)
    assert_by_name(model, source)


def test_values_are_cast_to_the_model_dtype() -> None:
    model = tiny(0)
    source = {
        k: v.double() if v.is_floating_point() else v for k, v in tiny(1).state_dict().items()
    }
    skipgen.transfer_weights(model, source)
    assert model.stem[0].weight.dtype == torch.float32
    assert_state(model, list(source.values()))


def test_a_checkpoint_without_batch_norm_counters_loads_by_order() -> None:
    model = tiny(0)
    with torch.no_grad():
        model.stem[1].num_batches_tracked.fill_(7)
    source = {
        k: v
        for k, v in torchvision_names(tiny(1).state_dict()).items()
        if not k.endswith("num_batches_tracked")
    }
    skipgen.transfer_weights(model, source)
    for key, value in model.state_dict().items():
        if key.endswith("num_batches_tracked"):
            continue
        assert torch.equal(value, source[STEM.get(key, key)])
    assert model.stem[1].num_batches_tracked.item() == 7  # kept, not reset


def test_shape_mismatch_by_key_names_the_tensor_and_changes_nothing() -> None:
    model = tiny(0)
    before = snapshot(model)
    source = tiny(1).state_dict()
    source["fc.weight"] = torch.zeros(1000, 16)
    with pytest.raises(WeightsMismatchError) as info:
        skipgen.transfer_weights(model, source)
    assert isinstance(info.value, ValueError)
    message = str(info.value)
    assert "'fc.weight'" in message and "(10, 16)" in message and "(1000, 16)" in message
    assert "by key" in message
    assert (info.value.model_key, info.value.model_shape) == ("fc.weight", (10, 16))
    assert (info.value.weights_key, info.value.weights_shape) == ("fc.weight", (1000, 16))
    # Every tensor before fc.weight fitted, and still none was copied.
    assert_state(model, list(before.values()))


def test_shape_mismatch_by_order_names_both_sides() -> None:
    model = tiny(0)
    before = snapshot(model)
    source = torchvision_names(tiny(1).state_dict())
    source["bn1.weight"] = torch.zeros(9)
    with pytest.raises(WeightsMismatchError, match="paired by order") as info:
        skipgen.transfer_weights(model, source)
    message = str(info.value)
    assert "the model's 'stem.1.weight' (paired with the weights' 'bn1.weight')" in message
    assert "(8) in the model, (9) in the weights" in message
    assert "6 of the model's names are not in the weights" in message  # why by order
    assert (info.value.model_key, info.value.weights_key) == ("stem.1.weight", "bn1.weight")
    assert_state(model, list(before.values()))


def test_a_renamed_file_still_matches_the_other_names_by_key() -> None:
    model = tiny(0)
    source = torchvision_names(tiny(1).state_dict())
    source["layer2.conv2.weight"] = torch.zeros(16, 16, 1, 1)
    with pytest.raises(WeightsMismatchError, match="matched by key") as info:
        skipgen.transfer_weights(model, source)
    assert "'layer2.conv2.weight' has shape (16, 16, 3, 3) in the model" in str(info.value)


def test_different_names_and_shapes_name_the_pair() -> None:
    model = tiny(0)
    source = torchvision_names(tiny(1).state_dict())
    source["conv1.weight"] = torch.zeros(8, 3, 7, 7)
    with pytest.raises(WeightsMismatchError) as info:
        skipgen.transfer_weights(model, source)
    message = str(info.value)
    assert "the model's 'stem.0.weight' (paired with the weights' 'conv1.weight')" in message
    assert "(8, 3, 3, 3)" in message and "(8, 3, 7, 7)" in message


def test_missing_and_extra_tensors_by_order() -> None:
    model = tiny(0)
    before = snapshot(model)
    source = torchvision_names(tiny(1).state_dict())
    shorter = dict(list(source.items())[:-1])
    with pytest.raises(WeightsMismatchError, match=r"'fc.bias' \(10\) has no counterpart"):
        skipgen.transfer_weights(model, shorter)
    longer = source | {"extra.weight": torch.zeros(3)}
    with pytest.raises(WeightsMismatchError, match=r"'extra.weight' \(3\) has no counterpart"):
        skipgen.transfer_weights(model, longer)
    assert_state(model, list(before.values()))


def test_an_integer_tensor_never_takes_a_float() -> None:
    model = tiny(0)
    source = tiny(1).state_dict()
    source["stem.1.num_batches_tracked"] = torch.tensor(3.0)
    with pytest.raises(
        WeightsMismatchError,
        match=r"an integer tensor \(int64\) in the model, a floating-point tensor \(float32\) in",
    ):
        skipgen.transfer_weights(model, source)


@pytest.mark.parametrize("key", ["stem.0.weight", "stem.1.num_batches_tracked"])
def test_a_complex_tensor_is_named_and_never_loaded(key: str) -> None:
    """complex64 is neither a float (loading it would drop the imaginary part) nor an
    integer (it used to be called one, and to load into a batch norm's counter)."""
    model = tiny(0)
    before = snapshot(model)
    source = tiny(1).state_dict()
    source[key] = source[key].to(torch.complex64)
    ours = (
        "an integer tensor (int64)" if "num_batches" in key else "a floating-point tensor (float32)"
    )
    expected = f"{key!r} has {ours} in the model, a complex tensor (complex64) in the weights"
    with pytest.raises(WeightsMismatchError) as raised:
        skipgen.transfer_weights(model, source)
    assert expected in str(raised.value)
    assert_state(model, list(before.values()))
    report = skipgen.transfer_weights(model, source, mismatched="skip")
    assert [s.model_key for s in report.skipped] == [key]
    assert f"  {key!r}: {ours} in the model, a complex tensor (complex64) in the weights" in (
        report.lines()
    )


def test_a_value_that_is_not_a_tensor_is_refused() -> None:
    source = dict(tiny(1).state_dict()) | {"epoch": 3}
    with pytest.raises(WeightsMismatchError, match="int under 'epoch', not a tensor"):
        skipgen.transfer_weights(tiny(0), source)


def test_a_torchvision_checkpoint_gives_torchvision_outputs() -> None:
    """Tensors under torchvision's resnet18 names, filled by the reference rule, load by
    order into configs/resnet18.yaml and reproduce torchvision's measured output."""
    ref = json.loads((REFERENCE / "resnet18.json").read_text(encoding="utf-8"))
    checkpoint = {}
    for i, (key, shape) in enumerate(ref["state_dict"]):
        dtype = torch.int64 if key.endswith("num_batches_tracked") else torch.float64
        checkpoint[key] = fill_value(i, key, shape, dtype)
    model = skipgen.build_model(ROOT / "configs" / "resnet18.yaml").double().eval()
    skipgen.transfer_weights(model, checkpoint)
    with torch.no_grad():
        out = model(make_input(ref["input_shape"]))
    expected = torch.tensor(ref["output"], dtype=torch.float64).reshape(ref["output_shape"])
    assert (out - expected).abs().max() <= 1e-6 * expected.abs().max()


@pytest.mark.parametrize("name", ["mobilenet_v2", "efficientnet_b0", "densenet121", "unet"])
def test_a_checkpoint_under_other_names_loads_by_order(name: str) -> None:
    """The reference's names moved under another prefix (the U-Net's differ from the
    config's anyway): the tensors follow the file's order, each to the model entry at the
    same position."""
    ref = json.loads((REFERENCE / f"{name}.json").read_text(encoding="utf-8"))
    model = skipgen.build_model(ROOT / "configs" / f"{name}.yaml")
    checkpoint = {}
    for i, (key, shape) in enumerate(ref["state_dict"]):
        dtype = torch.int64 if key.endswith("num_batches_tracked") else torch.float32
        checkpoint[f"backbone.{key}"] = fill_value(i, key, shape, dtype)
    assert set(checkpoint) != set(model.state_dict())
    plan = match_weights(model.state_dict(), checkpoint)
    assert plan.report.by in ("order", "key and order")
    skipgen.transfer_weights(model, checkpoint)
    assert_state(model, list(checkpoint.values()))


# -- ambiguous order: refused, nothing changed -------------------------------------------


def assert_ambiguous(model: nn.Module, source: dict[str, Tensor], reason: str) -> str:
    before = snapshot(model)
    with pytest.raises(WeightsMismatchError, match="the weights are ambiguous") as info:
        skipgen.transfer_weights(model, source)
    message = str(info.value)
    assert reason in message and "nothing was changed" in message
    assert_state(model, list(before.values()))
    return message


def test_sorted_keys_with_renamed_tensors_are_ambiguous() -> None:
    """The names that match show the file is not in the model's order (fc.bias before
    fc.weight), so the positions of the renamed stem tensors mean nothing."""
    source = torchvision_names(tiny(1).state_dict())
    ordered = {k: source[k] for k in sorted(source)}
    message = assert_ambiguous(tiny(0), ordered, "come in another order than the model's")
    assert "'fc.bias' before 'fc.weight'" in message
    assert "6 of their tensors have names the model does not use" in message
    assert "first 'bn1.bias', where the model has 'stem.0.weight'" in message


def test_sorted_keys_that_all_differ_are_ambiguous() -> None:
    """No name matches; sorting put a bias where the model has a weight."""
    source = {f"net.{k}": v for k, v in tiny(1).state_dict().items()}
    ordered = {k: source[k] for k in sorted(source)}
    assert_ambiguous(
        tiny(0), ordered, "the model's 'stem.0.weight' would take the weights' 'net.fc.bias'"
    )


def stack(n: int) -> nn.Module:
    """``n`` same-shape layers without biases: only the numbering tells them apart."""
    return nn.Sequential(*(nn.Linear(4, 4, bias=False) for _ in range(n)))


def numbered(order: list[int]) -> dict[str, Tensor]:
    return {f"blocks.{i}.weight": torch.full((4, 4), float(i)) for i in order}


def test_numbered_modules_in_order_load_by_order() -> None:
    model = stack(12)
    skipgen.transfer_weights(model, numbered(list(range(12))))
    assert [layer.weight[0, 0].item() for layer in model] == list(range(12))


def test_numbered_modules_sorted_as_text_are_ambiguous() -> None:
    """Sorted as text, blocks.10 comes before blocks.2: same shapes and leaf names, so
    only the numbering shows that layer 2 would get layer 10's weights."""
    order = sorted(range(12), key=str)
    assert order[:4] == [0, 1, 10, 11]
    message = assert_ambiguous(stack(12), numbered(order), "sorted as text")
    assert "'blocks.11.weight' comes before 'blocks.2.weight'" in message
