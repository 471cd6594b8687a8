"""``skipgen weights --skip-mismatched --adapt-input`` and the checkpoint formats it reads
and writes: .safetensors, torch.save files, checkpoint dicts, DDP's ``module.`` prefix.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import safetensors.torch
import torch
from torch import Tensor
from typer.testing import CliRunner, Result

import skipgen
from skipgen.checkpoints import is_weights_file
from skipgen.cli import app
from tests.weights_helpers import SPEC, gray10_spec, tiny, torchvision_checkpoint


def invoke(*args: str | os.PathLike[str]) -> Result:
    return CliRunner().invoke(app, ["weights", *map(str, args)])


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "tiny.yaml").write_text(SPEC, encoding="utf-8")
    return tmp_path


def test_resnet50_gray_10_classes_from_safetensors(tmp_path: Path) -> None:
    """The issue's case end to end: a torchvision-shaped ResNet-50 checkpoint as
    .safetensors into a 1-channel, 10-class ResNet-50, saved as .safetensors."""
    spec, weights, out = (
        tmp_path / "gray10.yaml",
        tmp_path / "tv.safetensors",
        tmp_path / "ft.safetensors",
    )
    spec.write_text(gray10_spec(), encoding="utf-8")
    checkpoint = torchvision_checkpoint("resnet50")
    safetensors.torch.save_file(checkpoint, weights)
    result = invoke(spec, weights, "-o", out, "--skip-mismatched", "--adapt-input")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"{out}: 317 tensors of Gray10 from {weights} (matched by key, 1 adapted)",
        "adapted: 1",
        "  'conv1.weight': (64, 1, 7, 7) from (64, 3, 7, 7), the sum over its 3 input channels",
        "skipped: 2",
        "  'fc.weight': (10, 2048) in the model, (1000, 2048) in the weights",
        "  'fc.bias': (10) in the model, (1000) in the weights",
    ]
    saved = safetensors.torch.load_file(out)
    model = skipgen.build_model(spec)
    model.load_state_dict(saved, strict=True)  # the output loads straight into the spec's model
    for key, value in checkpoint.items():
        if key in ("conv1.weight", "fc.weight", "fc.bias"):
            continue
        assert torch.equal(saved[key], value), key
    expected = checkpoint["conv1.weight"].sum(dim=1, keepdim=True)
    torch.testing.assert_close(saved["conv1.weight"], expected, rtol=1e-6, atol=1e-7)
    assert saved["fc.weight"].shape == (10, 2048)
    assert is_weights_file(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "ft.safetensors",
        "gray10.yaml",
        "tv.safetensors",
    ]


def test_without_the_options_the_first_mismatch_is_named_with_a_hint(tmp_path: Path) -> None:
    spec, weights = tmp_path / "gray10.yaml", tmp_path / "tv.pth"
    spec.write_text(gray10_spec(), encoding="utf-8")
    torch.save(torchvision_checkpoint("resnet50"), weights)
    result = invoke(spec, weights, "-o", tmp_path / "ft.pt")
    assert result.exit_code == 1
    assert "'conv1.weight' has shape (64, 1, 7, 7) in the model, (64, 3, 7, 7)" in result.stderr
    assert "hint: " in result.stderr and "--skip-mismatched" in result.stderr
    assert "--adapt-input" in result.stderr
    assert not (tmp_path / "ft.pt").exists()


def load_any(path: Path) -> dict[str, Tensor]:
    if path.suffix == ".safetensors":
        return safetensors.torch.load_file(path)
    return torch.load(path, weights_only=True)


@pytest.mark.parametrize(
    ("source", "output"),
    [("w.pt", "out.safetensors"), ("w.safetensors", "out.pt"), ("w.safetensors", "o.safetensors")],
)
def test_formats_are_chosen_by_extension(folder: Path, source: str, output: str) -> None:
    state = tiny(1).state_dict()
    if source.endswith(".safetensors"):
        safetensors.torch.save_file(dict(state), folder / source)
    else:
        torch.save(state, folder / source)
    result = invoke(folder / "tiny.yaml", folder / source, "-o", folder / output)
    assert result.exit_code == 0, result.output
    saved = load_any(folder / output)
    assert set(saved) == set(state)
    for key, value in state.items():
        assert torch.equal(saved[key], value), key
    assert is_weights_file(folder / output)
    # skipgen's own file is replaced without --force
    assert invoke(folder / "tiny.yaml", folder / source, "-o", folder / output).exit_code == 0


@pytest.mark.parametrize("wrap", ["module.", "model+module.", "state_dict+module."])
def test_a_ddp_checkpoint_is_found(folder: Path, wrap: str) -> None:
    state = {f"module.{k}": v for k, v in tiny(1).state_dict().items()}
    data: object = state
    if "+" in wrap:
        data = {wrap.split("+")[0]: state, "epoch": 3}
    torch.save(data, folder / "ddp.pt")
    result = invoke(folder / "tiny.yaml", folder / "ddp.pt", "-o", folder / "out.pt")
    assert result.exit_code == 0, result.output
    assert "38 tensors of TinyResNet" in result.stdout and "(matched by key)" in result.stdout
    assert skipgen.read_weights(folder / "ddp.pt").keys() == tiny(0).state_dict().keys()


def test_a_backbone_lists_the_classifier_as_unexpected(folder: Path) -> None:
    backbone = folder / "backbone.yaml"
    backbone.write_text(
        "\n".join(line for line in SPEC.splitlines() if "classifier" not in line),
        encoding="utf-8",
    )
    torch.save(tiny(1).state_dict(), folder / "w.pt")
    result = invoke(backbone, folder / "w.pt", "-o", folder / "out.pt", "--skip-mismatched")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1:] == [
        "unexpected, not used: 2",
        "  'fc.weight'",
        "  'fc.bias'",
    ]


def test_sorted_safetensors_keys_under_other_names_are_refused(folder: Path) -> None:
    """safetensors stores keys sorted, so their order cannot pair renamed tensors."""
    state = {f"net.{k}": v for k, v in tiny(1).state_dict().items()}
    safetensors.torch.save_file(state, folder / "w.safetensors")
    result = invoke(folder / "tiny.yaml", folder / "w.safetensors", "-o", folder / "out.pt")
    assert result.exit_code == 1
    assert "the weights are ambiguous" in result.stderr
    assert "hint" not in result.stderr  # skipping would not help
    assert not (folder / "out.pt").exists()


@pytest.mark.parametrize("which", ["input", "output"])
def test_without_safetensors_a_clear_error_says_how_to_install(
    folder: Path, monkeypatch: pytest.MonkeyPatch, which: str
) -> None:
    torch.save(tiny(1).state_dict(), folder / "w.pt")
    (folder / "w.safetensors").write_bytes(safetensors.torch.save(dict(tiny(1).state_dict())))
    monkeypatch.setitem(sys.modules, "safetensors", None)
    monkeypatch.setitem(sys.modules, "safetensors.torch", None)
    source, out = ("w.safetensors", "out.pt") if which == "input" else ("w.pt", "o.safetensors")
    result = invoke(folder / "tiny.yaml", folder / source, "-o", folder / out)
    assert result.exit_code == 1
    assert str(folder / (source if which == "input" else out)) in result.stderr
    assert "pip install 'skipgen[safetensors]'" in result.stderr
    assert not (folder / out).exists()


def test_a_damaged_safetensors_file_is_named(folder: Path) -> None:
    (folder / "bad.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}")
    result = invoke(folder / "tiny.yaml", folder / "bad.safetensors", "-o", folder / "out.pt")
    assert result.exit_code == 1
    assert (
        f"cannot load {folder / 'bad.safetensors'}: not a valid safetensors file" in result.stderr
    )


def test_a_safetensors_file_skipgen_did_not_write_is_not_overwritten(folder: Path) -> None:
    torch.save(tiny(1).state_dict(), folder / "w.pt")
    theirs = folder / "theirs.safetensors"
    safetensors.torch.save_file({"x": torch.ones(2)}, theirs)
    before = theirs.read_bytes()
    result = invoke(folder / "tiny.yaml", folder / "w.pt", "-o", theirs)
    assert result.exit_code == 1 and "was not generated by skipgen" in result.stderr
    assert theirs.read_bytes() == before
    assert invoke(folder / "tiny.yaml", folder / "w.pt", "-o", theirs, "--force").exit_code == 0


def test_shared_tensors_are_saved_as_safetensors(tmp_path: Path) -> None:
    """safetensors refuses tensors that share memory (tied weights); each is saved whole."""
    from skipgen.checkpoints import write_weights

    shared = torch.arange(6.0)
    write_weights({"a": shared, "b": shared, "c": shared[:3]}, tmp_path / "w.safetensors")
    saved = safetensors.torch.load_file(tmp_path / "w.safetensors")
    assert torch.equal(saved["b"], shared) and torch.equal(saved["c"], shared[:3])


def test_help_names_the_options() -> None:
    text = " ".join(invoke("--help").output.split())
    for words in ("--skip-mismatched", "--adapt-input", ".safetensors", "skipgen[safetensors]"):
        assert words in text, words
