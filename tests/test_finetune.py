"""Fine-tuning: ``transfer_weights(..., mismatched="skip", adapt_input=True)`` loads what
fits, adapts the first convolution, and reports what it left.

The strict default is tested in ``test_weights.py``; files and the CLI in
``test_cli_finetune.py``.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

import skipgen
from skipgen.transfer_report import Adapted, Skipped
from skipgen.weights import WeightsMismatchError, adapt_input_conv
from tests.weights_helpers import SPEC, gray10_spec, tiny, torchvision_checkpoint


def snapshot(model: nn.Module) -> dict[str, Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


FC = (
    Skipped("fc.weight", "fc.weight", (10, 2048), (1000, 2048)),
    Skipped("fc.bias", "fc.bias", (10,), (1000,)),
)


def test_resnet50_gray_10_classes_from_a_torchvision_checkpoint() -> None:
    """The issue's case: every backbone tensor is the checkpoint's, conv1 is the sum over
    the RGB channels, and the 10-class fc is reported skipped with both shapes."""
    checkpoint = torchvision_checkpoint("resnet50")
    torch.manual_seed(0)
    model = skipgen.build_model(gray10_spec())
    before = snapshot(model)
    report = skipgen.transfer_weights(model, checkpoint, mismatched="skip", adapt_input=True)

    state = model.state_dict()
    assert list(state) == list(checkpoint)  # the config has torchvision's keys
    backbone = [k for k in checkpoint if k not in ("conv1.weight", "fc.weight", "fc.bias")]
    for key in backbone:
        assert torch.equal(state[key], checkpoint[key]), key
    expected = checkpoint["conv1.weight"].sum(dim=1, keepdim=True)
    assert state["conv1.weight"].shape == (64, 1, 7, 7)
    torch.testing.assert_close(state["conv1.weight"], expected, rtol=1e-6, atol=1e-7)
    for key in ("fc.weight", "fc.bias"):
        assert torch.equal(state[key], before[key]), key  # left as initialised

    assert report.adapted == (
        Adapted("conv1.weight", "conv1.weight", (64, 1, 7, 7), (64, 3, 7, 7), "sum"),
    )
    assert report.skipped == FC
    assert report.loaded == {k: k for k in backbone}
    assert report.missing == () and report.unexpected == ()
    assert report.by == "key"


def test_without_adapt_input_conv1_is_skipped_too() -> None:
    model = skipgen.build_model(gray10_spec())
    report = skipgen.transfer_weights(model, torchvision_checkpoint(), mismatched="skip")
    assert report.adapted == ()
    assert report.skipped == (
        Skipped("conv1.weight", "conv1.weight", (64, 1, 7, 7), (64, 3, 7, 7)),
        *FC,
    )


def test_the_default_still_refuses_and_changes_nothing() -> None:
    model = skipgen.build_model(gray10_spec())
    before = snapshot(model)
    with pytest.raises(WeightsMismatchError, match=r"'conv1.weight' has shape \(64, 1, 7, 7\)"):
        skipgen.transfer_weights(model, torchvision_checkpoint())
    with pytest.raises(WeightsMismatchError, match=r"'fc.weight' has shape \(10, 2048\)"):
        skipgen.transfer_weights(model, torchvision_checkpoint(), adapt_input=True)
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key


# -- the adaptation rule -----------------------------------------------------------------


def conv_weight() -> Tensor:
    torch.manual_seed(3)
    return torch.randn(8, 3, 3, 3)


@pytest.mark.parametrize(
    ("channels", "order", "scale"),
    [(2, [0, 1], 3 / 2), (4, [0, 1, 2, 0], 3 / 4), (7, [0, 1, 2, 0, 1, 2, 0], 3 / 7)],
)
def test_k_channels_repeat_the_rgb_channels_scaled_by_3_over_k(
    channels: int, order: list[int], scale: float
) -> None:
    """timm's rule: the channels repeated up to k, in order, times 3/k."""
    weight = conv_weight()
    torch.testing.assert_close(adapt_input_conv(weight, channels), weight[:, order] * scale)


@pytest.mark.parametrize("channels", [1, 3, 6, 9])
def test_an_input_with_equal_channels_gives_the_reference_output(channels: int) -> None:
    """What the rule is for: a grey image fed as k equal channels gives the output the
    reference gives for that image as 3 equal channels (for k = 1 and k a multiple of 3;
    otherwise the repeated channels are not weighted equally)."""
    weight = conv_weight()
    torch.manual_seed(4)
    grey = torch.randn(2, 1, 16, 16)
    reference = F.conv2d(grey.expand(-1, 3, -1, -1), weight)
    adapted = F.conv2d(grey.expand(-1, channels, -1, -1), adapt_input_conv(weight, channels))
    torch.testing.assert_close(adapted, reference)


def test_a_4_channel_model_takes_the_rgb_stem_by_order() -> None:
    """Adaptation works for a conv paired by order too, and in the strict mode: every
    other tensor fits, so nothing else is skipped."""
    model = skipgen.build_model(SPEC.replace("channels: 3, size: 32", "channels: 4, size: 32"))
    source = {f"net.{k}": v for k, v in tiny(1).state_dict().items()}
    report = skipgen.transfer_weights(model, source, adapt_input=True)
    (adapted,) = report.adapted
    assert (adapted.model_key, adapted.weights_key, adapted.rule) == (
        "stem.0.weight",
        "net.stem.0.weight",
        "repeat",
    )
    weight = source["net.stem.0.weight"]
    torch.testing.assert_close(model.stem[0].weight, weight[:, [0, 1, 2, 0]] * 0.75)
    assert report.skipped == () and len(report.by_order) == len(source) - 1


def test_only_the_first_convolution_is_adapted() -> None:
    """Another conv whose input channels differ is a mismatch, not an input to adapt."""
    model = tiny(0)
    source = tiny(1).state_dict()
    source["layer2.conv1.weight"] = torch.zeros(16, 4, 3, 3)
    with pytest.raises(WeightsMismatchError, match=r"'layer2\.conv1\.weight'"):
        skipgen.transfer_weights(model, source, adapt_input=True)
    report = skipgen.transfer_weights(model, source, mismatched="skip", adapt_input=True)
    assert report.adapted == ()
    assert report.skipped == (
        Skipped("layer2.conv1.weight", "layer2.conv1.weight", (16, 8, 3, 3), (16, 4, 3, 3)),
    )


# -- what is left: missing, unexpected, skipped by order ---------------------------------

BACKBONE = "\n".join(line for line in SPEC.splitlines() if "classifier" not in line)


def test_a_backbone_reports_the_classifier_as_unexpected() -> None:
    """A spec without the classifier loads the classification checkpoint, by default too:
    every model tensor is matched by key, and the classifier's keys are reported as
    unexpected, in the file's order."""
    model = skipgen.build_model(BACKBONE)
    source = tiny(1).state_dict()
    for mismatched in ("error", "skip"):
        report = skipgen.transfer_weights(model, source, mismatched=mismatched)  # type: ignore[arg-type]
        assert report.unexpected == ("fc.weight", "fc.bias")
        assert report.loaded == {k: k for k in model.state_dict()}
        assert report.skipped == () and report.missing == ()
        for key, value in model.state_dict().items():
            assert torch.equal(value, source[key]), key


def test_extra_tensors_beside_names_the_model_lacks_are_still_refused() -> None:
    """When some model tensors must be paired by order, extra tensors in the weights make
    the pairing a guess: the default rule refuses, naming the first extra tensor."""
    model = skipgen.build_model(BACKBONE)
    source = {f"other.{k}": v for k, v in tiny(1).state_dict().items()}
    with pytest.raises(
        WeightsMismatchError, match=r"'other\.fc\.weight' \(10, 16\) has no counterpart"
    ):
        skipgen.transfer_weights(model, source)


def test_renamed_weights_skip_the_pair_that_does_not_fit() -> None:
    """Paired by order (every name differs), the 1000-class head is skipped under both of
    its names; the rest loads by position."""
    model = tiny(0)
    before = snapshot(model)
    source = {f"net.{k}": v for k, v in tiny(1).state_dict().items()}
    source["net.fc.weight"] = torch.zeros(1000, 16)
    source["net.fc.bias"] = torch.zeros(1000)
    report = skipgen.transfer_weights(model, source, mismatched="skip")
    assert report.skipped == (
        Skipped("fc.weight", "net.fc.weight", (10, 16), (1000, 16)),
        Skipped("fc.bias", "net.fc.bias", (10,), (1000,)),
    )
    assert report.by == "order"
    for key, value in model.state_dict().items():
        expected = before[key] if key.startswith("fc.") else source[f"net.{key}"]
        assert torch.equal(value, expected), key


def test_a_shorter_checkpoint_reports_the_rest_missing() -> None:
    model = tiny(0)
    before = snapshot(model)
    source = {f"net.{k}": v for k, v in tiny(1).state_dict().items()}
    shorter = dict(list(source.items())[:-2])
    report = skipgen.transfer_weights(model, shorter, mismatched="skip")
    assert report.missing == ("fc.weight", "fc.bias")
    assert torch.equal(model.fc.weight, before["fc.weight"])


def test_counters_absent_from_the_weights_are_reported_missing() -> None:
    source = {k: v for k, v in tiny(1).state_dict().items() if "num_batches" not in k}
    report = skipgen.transfer_weights(tiny(0), source)
    assert report.missing and all(k.endswith("num_batches_tracked") for k in report.missing)


def test_an_ambiguous_order_is_refused_even_when_skipping() -> None:
    model = tiny(0)
    before = snapshot(model)
    source = {f"net.{k}": v for k, v in tiny(1).state_dict().items()}
    ordered = {k: source[k] for k in sorted(source)}
    with pytest.raises(WeightsMismatchError, match="the weights are ambiguous"):
        skipgen.transfer_weights(model, ordered, mismatched="skip")
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_a_bad_mode_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="mismatched must be 'error' or 'skip', not 'ignore'"):
        skipgen.transfer_weights(tiny(0), tiny(1).state_dict(), mismatched="ignore")  # type: ignore[arg-type]


def test_the_report_in_words() -> None:
    model = skipgen.build_model(gray10_spec())
    report = skipgen.transfer_weights(
        model, torchvision_checkpoint(), mismatched="skip", adapt_input=True
    )
    assert report.lines() == [
        "adapted: 1",
        "  'conv1.weight': (64, 1, 7, 7) from (64, 3, 7, 7), the sum over its 3 input channels",
        "skipped: 2",
        "  'fc.weight': (10, 2048) in the model, (1000, 2048) in the weights",
        "  'fc.bias': (10) in the model, (1000) in the weights",
    ]
