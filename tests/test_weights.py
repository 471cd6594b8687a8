"""Bringing pretrained weights: ``skipgen.transfer_weights`` and ``skipgen weights``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from click.testing import Result
from torch import Tensor, nn
from typer.testing import CliRunner

import skipgen
from skipgen.cli import app
from skipgen.weights import WeightsMismatchError
from tests.reference.fill import fill_value, make_input

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "tests" / "reference" / "data"

SPEC = """\
name: TinyResNet
input: {channels: 3, size: 32}
layers:
  - {type: conv, channels: 8, kernel: 3, stride: 2, name: stem}
  - {type: basic, channels: 8, name: layer1}
  - {type: basic, channels: 16, stride: 2, name: layer2}
  - {type: classifier, classes: 10, name: fc}
"""
STEM = {"stem.0.weight": "conv1.weight"} | {
    f"stem.1.{leaf}": f"bn1.{leaf}"
    for leaf in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
}


def tiny(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    model = skipgen.build_model(SPEC)
    with torch.no_grad():  # make the batch norm statistics differ between seeds too
        for name, t in model.state_dict().items():
            if t.is_floating_point() and "running" in name:
                t.uniform_(0.5, 1.5)
    return model


def torchvision_names(state: dict[str, Tensor]) -> dict[str, Tensor]:
    """Our state dict under torchvision's ResNet names (``conv1``/``bn1`` for the stem)."""
    return {STEM.get(k, k): v for k, v in state.items()}


def snapshot(model: nn.Module) -> dict[str, Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


def assert_state(model: nn.Module, expected: list[Tensor]) -> None:
    values = list(model.state_dict().values())
    assert len(values) == len(expected)
    for ours, theirs in zip(values, expected, strict=True):
        assert torch.equal(ours, theirs.to(ours.dtype))


# -- transfer_weights --------------------------------------------------------------------


def test_by_key_in_any_order() -> None:
    model, source = tiny(0), tiny(1).state_dict()
    shuffled = dict(reversed(source.items()))
    assert skipgen.transfer_weights(model, shuffled) is model
    assert_state(model, list(source.values()))


def test_by_order_with_torchvision_names() -> None:
    model, source = tiny(0), torchvision_names(tiny(1).state_dict())
    assert "conv1.weight" in source and "stem.0.weight" not in source
    skipgen.transfer_weights(model, source)
    assert_state(model, list(source.values()))
    assert next(iter(model.state_dict())) == "stem.0.weight"  # the model keeps its own names


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
    source["layer2.conv2.weight"] = torch.zeros(16, 16, 1, 1)
    with pytest.raises(WeightsMismatchError, match="by order") as info:
        skipgen.transfer_weights(model, source)
    message = str(info.value)
    assert "'layer2.conv2.weight'" in message
    assert "(16, 16, 3, 3)" in message and "(16, 16, 1, 1)" in message
    assert "'stem.0.weight' is not among the weights' keys" in message  # why by order
    assert_state(model, list(before.values()))


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
    with pytest.raises(WeightsMismatchError, match="integer tensor in the model"):
        skipgen.transfer_weights(model, source)


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


# -- skipgen weights ---------------------------------------------------------------------


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "tiny.yaml").write_text(SPEC, encoding="utf-8")
    return tmp_path


def invoke(*args: str | os.PathLike[str]) -> Result:
    return CliRunner().invoke(app, ["weights", *map(str, args)])


def load(path: Path) -> dict[str, Tensor]:
    return torch.load(path, weights_only=True, map_location="cpu")


def test_cli_roundtrip(folder: Path) -> None:
    source = torchvision_names(tiny(1).state_dict())
    torch.save(source, folder / "tv.pth")
    result = invoke(folder / "tiny.yaml", folder / "tv.pth", "-o", folder / "out.pt")
    assert result.exit_code == 0, result.output
    assert "matched by order" in result.output
    saved = load(folder / "out.pt")
    assert list(saved) == list(skipgen.build_model(SPEC).state_dict())
    for ours, theirs in zip(saved.values(), source.values(), strict=True):
        assert torch.equal(ours, theirs)
    model = skipgen.build_model(SPEC)
    model.load_state_dict(saved)  # the output loads straight into the spec's model
    assert sorted(p.name for p in folder.iterdir()) == ["out.pt", "tiny.yaml", "tv.pth"]


@pytest.mark.parametrize("entry", ["state_dict", "model"])
def test_cli_reads_a_checkpoint_dict(folder: Path, entry: str) -> None:
    source = tiny(1).state_dict()
    torch.save({entry: source, "epoch": 90, "optimizer": {"lr": 0.1}}, folder / "ckpt.pt")
    result = invoke(folder / "tiny.yaml", folder / "ckpt.pt", "--output", folder / "out.pt")
    assert result.exit_code == 0, result.output
    assert "matched by key" in result.output
    for ours, theirs in zip(load(folder / "out.pt").values(), source.values(), strict=True):
        assert torch.equal(ours, theirs)


def test_cli_mismatch_writes_nothing(folder: Path) -> None:
    source = tiny(1).state_dict()
    source["layer2.bn1.weight"] = torch.ones(32)
    torch.save(source, folder / "bad.pt")
    out = folder / "out.pt"
    out.write_bytes(b"previous")
    result = invoke(folder / "tiny.yaml", folder / "bad.pt", "-o", out)
    assert result.exit_code == 1
    assert "'layer2.bn1.weight'" in result.output and "(16)" in result.output
    assert "(32)" in result.output and "bad.pt" in result.output
    assert out.read_bytes() == b"previous"
    assert sorted(p.name for p in folder.iterdir()) == ["bad.pt", "out.pt", "tiny.yaml"]


class RunsCode:
    """Unpickling this would create a directory: the file must be refused, not run."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.mkdir, (str(self.marker),))


def test_cli_refuses_a_pickle_that_would_run_code(folder: Path) -> None:
    marker = folder / "ran"
    payload = dict(tiny(1).state_dict()) | {"payload": RunsCode(marker)}
    torch.save(payload, folder / "evil.pt")
    result = invoke(folder / "tiny.yaml", folder / "evil.pt", "-o", folder / "out.pt")
    assert result.exit_code == 1
    assert "refusing to load" in result.output and "evil.pt" in result.output
    assert "mkdir" in result.output
    assert not marker.exists()
    assert not (folder / "out.pt").exists()


def test_cli_unreadable_weights(folder: Path) -> None:
    spec = folder / "tiny.yaml"
    result = invoke(spec, folder / "missing.pt", "-o", folder / "out.pt")
    assert result.exit_code == 1 and "cannot read" in result.output
    assert "missing.pt" in result.output
    (folder / "junk.pt").write_bytes(b"not a weights file\n" * 10)
    result = invoke(spec, folder / "junk.pt", "-o", folder / "out.pt")
    assert result.exit_code == 1 and "junk.pt" in result.output
    torch.save([1, 2, 3], folder / "list.pt")
    result = invoke(spec, folder / "list.pt", "-o", folder / "out.pt")
    assert result.exit_code == 1 and "list.pt holds no state dict" in result.output
    assert not (folder / "out.pt").exists()


def test_cli_invalid_spec(folder: Path) -> None:
    torch.save(tiny(1).state_dict(), folder / "w.pt")
    bad = folder / "bad.yaml"
    bad.write_text(SPEC.replace("channels: 16", "channels: -16"), encoding="utf-8")
    result = invoke(bad, folder / "w.pt", "-o", folder / "out.pt")
    assert result.exit_code == 1
    assert "bad.yaml:6:" in result.output
    assert not (folder / "out.pt").exists()


def test_cli_missing_output_folder(folder: Path) -> None:
    torch.save(tiny(1).state_dict(), folder / "w.pt")
    result = invoke(folder / "tiny.yaml", folder / "w.pt", "-o", folder / "no" / "out.pt")
    assert result.exit_code == 1 and "does not exist" in result.output


def test_cli_usage() -> None:
    assert invoke("only-one-argument.yaml").exit_code == 2
    assert invoke("a.yaml", "b.pt").exit_code == 2  # -o is required
    help_text = invoke("--help").output
    assert "Example:" in help_text and "weights_only" in help_text


def test_saving_leaves_no_temporary_file_behind(tmp_path: Path, monkeypatch) -> None:
    from skipgen.commands.weights import save_atomically

    out = tmp_path / "out.pt"
    save_atomically({"w": torch.ones(2)}, out)
    assert out.stat().st_mode & 0o777 == 0o666 & ~current_umask()
    assert torch.equal(load(out)["w"], torch.ones(2))

    def broken_save(obj: object, file: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="No space"):
        save_atomically({"w": torch.zeros(2)}, out)
    assert torch.equal(load(out)["w"], torch.ones(2))  # the old file is untouched
    assert [p.name for p in tmp_path.iterdir()] == ["out.pt"]


def current_umask() -> int:
    umask = os.umask(0o022)
    os.umask(umask)
    return umask
