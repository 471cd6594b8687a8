"""The modern families beside the zoo's cases: RegNetY's torchvision checkpoint, whose
block keys (`block1-0`) are not Python names, loads strictly and gives the reference's
output; the ResNet-34 U-Net is built through the command line."""

from __future__ import annotations

from pathlib import Path

import torch
from typer.testing import CliRunner

import skipgen
from skipgen.cli import app

from .fill import fill_value, make_input
from .test_zoo import assert_matches, config, emitted_model, reference


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


def test_regnet_keys_are_torchvisions() -> None:
    """torchvision's `trunk_output.block2.block2-1...`, as the config names its blocks."""
    with torch.device("meta"):
        keys = list(skipgen.build_model(config("regnet_y_400mf")).state_dict())
    assert keys == [key for key, _ in reference("regnet_y_400mf")["state_dict"]]


def test_regnet_loads_torchvisions_checkpoint_strictly_and_gives_its_output(
    tmp_path: Path,
) -> None:
    ref = reference("regnet_y_400mf")
    checkpoint = reference_checkpoint("regnet_y_400mf")
    runtime = skipgen.build_model(config("regnet_y_400mf"))
    source = skipgen.generate_source(config("regnet_y_400mf"))
    assert '"block1-0",' in source  # a key that is not a Python name, in an OrderedDict
    emitted = emitted_model(source, "RegNetY400MF", tmp_path)
    for model in (runtime, emitted):
        model.double().eval().load_state_dict(checkpoint, strict=True)
        with torch.no_grad():
            assert_matches(model(make_input(ref["input_shape"])), ref)


def test_unet_resnet34_through_the_cli(tmp_path: Path) -> None:
    """The U-Net decoder concatenates [upsampled, skip], as segmentation_models_pytorch."""
    result = CliRunner().invoke(app, ["validate", str(config("unet_resnet34"))])
    assert result.exit_code == 0, result.output
    assert "UNetResNet34 (N, 3, H, W) -> (N, 2, ?, ?), 24,436,514 parameters" in result.output
    result = CliRunner().invoke(app, ["build", str(config("unet_resnet34")), "-o", f"{tmp_path}/"])
    assert result.exit_code == 0, result.output
    source = (tmp_path / "unet_resnet34.py").read_text(encoding="utf-8")
    assert "x = torch.cat([x, encoder], dim=1)" in source  # in the DecoderBlock class
    for i, skip in enumerate(("layer3", "layer2", "layer1", "stem")):
        assert f'x = self.decoder["blocks"]["{i}"](x, {skip})' in source
    assert 'x = self.decoder["blocks"]["4"](x)' in source  # no skip: one call
