"""One sample's activations against the machine's memory: `validate` warns, `build_model`
refuses, before torch allocates anything.

The figure is the one `summary` prints (every block's output, float32). Specs here either
need far more than any machine has (terabytes), or the memory reading is replaced, so that
no test depends on the machine it runs on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

import skipgen
from skipgen.cli import app
from skipgen.commands.summary import summary_data
from skipgen.errors import SpecError
from skipgen.ir import memory
from skipgen.ir.memory import activation_bytes

ROOT = Path(__file__).resolve().parents[1]
TiB = 1024**4


def huge() -> dict[str, Any]:
    """A 3D volume upsampled 64 times along each axis: 16 TiB of activations per sample."""
    return {
        "name": "Huge",
        "input": {"channels": 1, "dims": 3, "size": 64},
        "layers": [
            {"type": "conv", "channels": 64},
            {"type": "upsample", "scale": 64, "mode": "nearest"},
        ],
    }


def ten_upsamples(size: int | None = 16) -> dict[str, Any]:
    """The network of the report: ten 2x upsamples of a 16x16 map (85.3 GiB per sample)."""
    data: dict[str, Any] = {
        "name": "Up",
        "input": {"channels": 3},
        "layers": [
            {"type": "conv", "channels": 64},
            {"type": "upsample", "scale": 2, "mode": "nearest", "repeat": 10},
        ],
    }
    if size is not None:
        data["input"]["size"] = size
    return data


def write(data: dict[str, Any], folder: Path) -> Path:
    path = folder / "net.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def validate(path: Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["validate", str(path)])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("config", "changes"),
    [
        ("resnet18", ()),
        ("densenet121", ()),
        ("mobilenet_v2", ()),
        ("unet", ("input.size=64",)),
        ("unet3d", ("input.size=32",)),
        ("unet_deep_supervision", ("input.size=32",)),
    ],
)
def test_the_figure_is_the_one_summary_prints(config: str, changes: tuple[str, ...]) -> None:
    graph = skipgen.lower_spec(ROOT / "configs" / f"{config}.yaml", set=changes)
    figure = activation_bytes(graph)
    assert figure is not None and figure > 0
    assert figure == summary_data(graph)["totals"]["activation_bytes"]


def test_the_reported_network_needs_85_gib_and_none_without_an_input_size() -> None:
    graph = skipgen.lower_spec(ten_upsamples())
    assert activation_bytes(graph) == summary_data(graph)["totals"]["activation_bytes"]
    assert round(activation_bytes(graph) / 1024**3, 1) == 85.3  # type: ignore[operator]
    assert activation_bytes(skipgen.lower_spec(ten_upsamples(size=None))) is None


def test_validate_warns_at_the_largest_output_and_exits_0(tmp_path: Path) -> None:
    path = write(huge(), tmp_path)
    code, out, err = validate(path)
    assert code == 0
    assert out.startswith(f"{path}: Huge (N, 1, 64, 64, 64) -> (N, 64, 4096, 4096, 4096)")
    assert (
        f"{path}:9:3: warning: one sample's activations (every block's output, float32) need "
        in err
    )
    assert "16.0 TiB at the input size given, more than this machine's" in err
    assert "hint: the largest output, here, is (64, 4096, 4096, 4096): 16.0 TiB" in err
    assert "error" not in err


def test_build_model_refuses_before_allocating(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as caught:
        skipgen.build_model(write(huge(), tmp_path))
    [diagnostic] = caught.value.diagnostics
    assert (diagnostic.line, diagnostic.col) == (9, 3)
    assert diagnostic.message.startswith("one sample's activations (every block's output, float32)")
    assert "need 16.0 TiB" in diagnostic.message


def test_what_fits_the_machine_is_neither_warned_nor_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(ten_upsamples(), tmp_path)
    monkeypatch.setattr(memory, "physical_memory", lambda: 86 * 1024**3)
    code, _, err = validate(path)
    assert (code, err) == (0, "")
    monkeypatch.setattr(memory, "physical_memory", lambda: 85 * 1024**3)
    code, _, err = validate(path)
    assert (
        code == 0 and "85.3 GiB at the input size given, more than this machine's 85.0 GiB" in err
    )
    with pytest.raises(SpecError, match=r"85\.3 GiB"):
        skipgen.build_model(path)


def test_nothing_is_told_where_the_size_or_the_memory_is_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(memory, "physical_memory", lambda: 1024)
    free = write(ten_upsamples(size=None), tmp_path)
    assert validate(free)[0::2] == (0, "")
    skipgen.build_model(free)
    monkeypatch.setattr(memory, "physical_memory", lambda: None)
    sized = write(ten_upsamples(), tmp_path)
    assert validate(sized)[0::2] == (0, "")
    skipgen.build_model(sized)  # the parameters are small; nothing runs the forward pass
