"""The README's composite-block section shows real text: the config's definition, the
emitted class, and the located error with its note."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

import skipgen
from skipgen.cli import app

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
CONFIG = ROOT / "configs" / "unet_resnet34.yaml"
SECTION = README[README.index("## Composite blocks") : README.index("## Writing a kind")]


def _block(language: str, start: str) -> str:
    return next(b for b in re.findall(rf"```{language}\n(.*?)```", SECTION, re.S) if start in b)


def test_the_definition_and_uses_are_the_configs() -> None:
    config = CONFIG.read_text()
    shown = _block("yaml", "blocks:")
    definition = shown[: shown.index("layers:\n  #")]
    assert definition in config
    uses = shown[shown.index("  - type: sequence\n    name: decoder") :]
    assert uses in config


def test_the_emitted_class_is_real() -> None:
    source = skipgen.generate_source(CONFIG)
    for part in _block("python", "class DecoderBlock").split("...\n"):
        assert part.strip() in source


def test_the_error_is_reported_as_shown(tmp_path: Path) -> None:
    lines = CONFIG.read_text().splitlines(keepends=True)
    assert "channels: 128, encoder: layer2" in lines[50]
    lines[50] = lines[50].replace("channels: 128", "channels: 0")
    (tmp_path / "unet.yaml").write_text("".join(lines))
    result = CliRunner().invoke(app, ["validate", str(tmp_path / "unet.yaml")])
    assert result.exit_code == 1
    shown = _block("console", "skipgen validate unet.yaml").splitlines()[1:]
    expected = [line.replace("unet.yaml", str(tmp_path / "unet.yaml")) for line in shown]
    assert result.stderr.splitlines() == expected
