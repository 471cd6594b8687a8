"""``skipgen graph``: Mermaid and DOT text always; SVG and PNG where Graphviz is installed."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner, Result

from skipgen.cli import app

ROOT = Path(__file__).resolve().parent.parent
UNET = ROOT / "configs" / "unet.yaml"
RESNET50 = ROOT / "configs" / "resnet50.yaml"
MOBILENET = ROOT / "configs" / "mobilenet_v2.yaml"
HAS_DOT = shutil.which("dot") is not None


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(app, ["graph", *map(str, args)])


def long_skips(spec: Path) -> list[tuple[str, str, str]]:
    """(source, layer, mode) of every long skip, read from the YAML itself."""
    layers = yaml.safe_load(spec.read_text())["layers"]
    return [
        (layer["skip"]["from"], layer["name"], layer["skip"]["mode"])
        for layer in layers
        if isinstance(layer.get("skip"), dict)
    ]


def test_mermaid_draws_each_layer_and_every_long_skip() -> None:
    result = run(UNET, "--set", "input.size=256")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert text.splitlines()[1] == "flowchart TD"
    skips = re.findall(r"^  n_(\w+) -\. (\w+) \.-> n_(\w+)$", text, re.MULTILINE)
    assert sorted((s, layer, mode) for s, mode, layer in skips) == sorted(long_skips(UNET))
    assert 'n_enc1["enc1<br/>conv x2<br/>(64, 256, 256)"]' in text  # repeat 2 is one box
    assert 'n_bottom["bottom<br/>conv x2<br/>(1024, 16, 16)"]' in text
    assert 'output["output<br/>(2, 256, 256)"]' in text


def test_dot_text_and_expand(tmp_path: Path) -> None:
    target = tmp_path / "resnet50.dot"
    assert run(RESNET50, "-o", target).exit_code == 0
    collapsed = target.read_text()
    assert 'n_layer3 [label="layer3\\nbottleneck, add x6\\n(1024, 14, 14)"];' in collapsed
    assert run(RESNET50, "-o", target, "--expand").exit_code == 0
    expanded = target.read_text()
    blocks = re.findall(
        r'^  n_layer3_(\d) \[label="layer3\.\d\\nbottleneck, add\\n', expanded, re.M
    )
    assert blocks == [str(i) for i in range(6)]  # torchvision's 6 blocks in layer3


def test_a_sequence_is_a_frame() -> None:
    result = run(MOBILENET, "--dot")
    assert result.exit_code == 0, result.output
    assert "  subgraph cluster_n_features_group {" in result.stdout
    assert 'label="features"' in result.stdout
    assert result.stdout.count("n_features_") == 19 * 3 + 1  # 19 boxes, each with 2 edges


def test_a_composite_block_is_a_frame_with_its_own_skip(tmp_path: Path) -> None:
    spec = tmp_path / "net.yaml"
    spec.write_text(
        """\
name: Net
input: {channels: 1, dims: 1, size: 16}
blocks:
  unit:
    params: {channels: int, stride: {type: int, default: 1}}
    layers:
      - {type: conv, channels: "${channels * 2}", stride: "${stride}", norm: none}
    skip: concat
layers:
  - {type: conv, channels: 1}
  - {type: unit, channels: 1, stride: 2, repeat: 2}
"""
    )
    result = run(spec)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert '    subgraph n_unit1_0_group["unit1.0: unit"]' in text
    # each use joins its input with its body's output: an edge from the box before it
    assert "  n_conv1 -. concat .-> n_unit1_0_conv1" in text
    assert "  n_unit1_0_conv1 -. concat .-> n_unit1_1_conv1" in text
    assert 'output["output<br/>(5, 8)"]' in text  # 1 + 2, then 3 + 2 channels


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot is not installed")
@pytest.mark.parametrize("suffix", [".svg", ".png"])
def test_images_are_drawn_by_dot(suffix: str, tmp_path: Path) -> None:
    target = tmp_path / f"unet{suffix}"
    result = run(UNET, "-o", target, "--set", "input.size=256")
    assert result.exit_code == 0, result.output
    data = target.read_bytes()
    if suffix == ".png":
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
    else:
        assert b"<svg" in data and b">up4</text>" in data
        assert run(UNET, "-o", target).exit_code == 0  # its own drawing: replaced


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot is not installed")
@pytest.mark.parametrize("config", sorted((ROOT / "configs").glob("*.yaml")), ids=lambda p: p.stem)
def test_dot_reads_the_text_of_every_config(config: Path) -> None:
    for expand in ([], ["--expand"]):
        text = run(config, "--dot", *expand).stdout
        done = subprocess.run(["dot", "-Tplain"], input=text, capture_output=True, text=True)
        assert done.returncode == 0 and not done.stderr, done.stderr
        if config.stem == "unet" and not expand:
            assert len(re.findall(r"^node ", done.stdout, re.M)) == 20  # 18 layers, in, out


def test_without_dot_it_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    result = run(UNET, "-o", tmp_path / "unet.svg")
    assert result.exit_code == 1
    assert "writing .svg needs Graphviz's dot program, which is not on PATH" in result.stderr
    assert "apt install graphviz" in result.stderr and "or write .dot or .mmd" in result.stderr
    assert not (tmp_path / "unet.svg").exists()


def test_a_foreign_file_is_kept(tmp_path: Path) -> None:
    target = tmp_path / "notes.mmd"
    target.write_text("my notes\n")
    result = run(UNET, "-o", target)
    assert result.exit_code == 1
    assert "not overwriting it" in result.stderr
    assert target.read_text() == "my notes\n"
    assert run(UNET, "-o", target, "--force").exit_code == 0
    assert run(UNET, "-o", target).exit_code == 0  # now it is a drawing skipgen wrote


def test_an_unknown_suffix_is_a_usage_error(tmp_path: Path) -> None:
    result = run(UNET, "-o", tmp_path / "unet.pdf")
    assert result.exit_code == 2
    assert ".mmd, .dot, .svg or .png" in result.stderr
