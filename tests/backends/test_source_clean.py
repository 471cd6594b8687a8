"""Every config's generated file is clean where it lands.

A generated file is committed into someone else's project, which may run ruff (at its
default 88 columns, or at the line length given to ``skipgen build --line-length``), mypy
and pyright, each with its default settings and no configuration of ours: none of them
may find anything to change or report. mypy and pyright run once over all the files
(and the mixed golden spec's, so that every block of the library is type-checked).
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import skipgen
from skipgen.cli import app
from skipgen.library.nn import library
from tests.backends.helpers import PROJECT_RULES, ROOT, ruff
from tests.conftest import CONFIGS
from tests.graph_specs import ADD_MUL
from tests.ir.test_graph_reads import SCALED_RESIDUAL

WIDTHS = (88, 100, 120)
SHAPE_COMMENT = re.compile(r"  # \(N[^)]*\)$", re.MULTILINE)


MIXED = ROOT / "tests" / "golden" / "mixed.yaml"  # copies the blocks no config uses


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """Every config, and the mixed golden spec, built by ``skipgen build`` into one folder
    per line length (88 is the default, so it is built without the option)."""
    folders = {}
    for width in WIDTHS:
        folder = tmp_path_factory.mktemp(f"width{width}")
        args = ["build", *map(str, CONFIGS), str(MIXED), "-o", str(folder)]
        if width != 88:
            args += ["--line-length", str(width)]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        folders[width] = folder
    return folders


def _files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.py"))


def test_every_config_is_built_and_88_is_the_default(built: dict[int, Path]) -> None:
    assert [p.stem for p in _files(built[88])] == sorted(c.stem for c in [*CONFIGS, MIXED])
    for config in [*CONFIGS, MIXED]:
        text = (built[88] / f"{config.stem}.py").read_text(encoding="utf-8")
        assert text == skipgen.generate_source(config)
        assert text == skipgen.generate_source(config, line_length=88)
        assert max(len(line) for line in text.splitlines()) <= 88, config.name


@pytest.mark.parametrize("width", WIDTHS)
def test_ruff_check_finds_nothing(built: dict[int, Path], width: int) -> None:
    # The project's own rules include ruff's defaults, and E501 at the given width.
    result = ruff("check", "--select", PROJECT_RULES, *_files(built[width]), line_length=width)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("width", WIDTHS)
def test_ruff_format_changes_nothing(built: dict[int, Path], width: int) -> None:
    result = ruff("format", "--check", "--diff", *_files(built[width]), line_length=width)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("width", WIDTHS)
def test_layout_is_exactly_ruff_format(built: dict[int, Path], width: int) -> None:
    """Long statements are split as ruff-format splits them, not merely in a form it
    accepts: each statement written on one line, then formatted, gives the same file."""
    for config in CONFIGS:
        ours = (built[width] / f"{config.stem}.py").read_text(encoding="utf-8")
        flat = SHAPE_COMMENT.sub("", skipgen.generate_source(config, line_length=10**6))
        formatted = ruff("format", "--stdin-filename", "net.py", "-", stdin=flat, line_length=width)
        assert formatted.returncode == 0, formatted.stderr
        assert formatted.stdout == SHAPE_COMMENT.sub("", ours), config.name


@pytest.fixture(scope="module")
def typed(built: dict[int, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The configs' files and the mixed golden spec's, which between them copy every
    block and helper of the library."""
    folder = tmp_path_factory.mktemp("typed")
    for path in _files(built[88]):
        (folder / path.name).write_bytes(path.read_bytes())
    mixed = skipgen.generate_source(ROOT / "tests" / "golden" / "mixed.yaml")
    (folder / "mixed.py").write_text(mixed, encoding="utf-8")
    # the merges no shipped config uses: a sum of branches and a gate's product
    merges = skipgen.generate_source(yaml.safe_load(ADD_MUL), line_length=88)
    (folder / "merges.py").write_text(merges, encoding="utf-8")
    # a residual branch scaled by a constant (no shipped config uses one)
    scaled = skipgen.generate_source(SCALED_RESIDUAL, line_length=88)
    (folder / "scaled.py").write_text(scaled, encoding="utf-8")
    return folder


def test_the_type_checked_files_copy_every_block_of_the_library(typed: Path) -> None:
    """Every block class is type-checked as some file specialises it (a helper whose
    uses fix its arguments may be written into its callers instead: that is tested
    on the copies that call it)."""
    defined = set()
    for path in _files(typed):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        defined |= {n.name for n in tree.body if isinstance(n, ast.ClassDef)}
    blocks = {name for name, d in library().definitions.items() if d.text.startswith("class ")}
    assert blocks <= defined


@pytest.mark.parametrize("strict", [False, True], ids=["defaults", "strict"])
def test_mypy_finds_no_error(typed: Path, tmp_path: Path, strict: bool) -> None:
    """At mypy's defaults, and under ``--strict``, which projects that type-check
    strictly turn on."""
    pytest.importorskip("mypy", reason="mypy is not installed: pip install -e '.[test]'")
    files = _files(typed)
    # ``--config-file=`` reads no configuration file: mypy's defaults only.
    command = [sys.executable, "-m", "mypy", "--config-file=", "--cache-dir", str(tmp_path)]
    command += ["--strict"] if strict else []
    result = subprocess.run([*command, *map(str, files)], capture_output=True, text=True, cwd=typed)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"no issues found in {len(files)} source files" in result.stdout


def test_pyright_finds_no_error(typed: Path) -> None:
    pytest.importorskip("pyright", reason="pyright is not installed: pip install -e '.[test]'")
    files = _files(typed)
    # The folder has no pyright configuration, so its default rules apply.
    # --outputjson keeps the wrapper from looking online for a newer version.
    command = [sys.executable, "-m", "pyright", "--outputjson", "--pythonpath", sys.executable]
    result = subprocess.run([*command, *map(str, files)], capture_output=True, text=True, cwd=typed)
    report = json.loads(result.stdout)
    errors = [d for d in report["generalDiagnostics"] if d["severity"] == "error"]
    assert not errors, json.dumps(errors, indent=1)
    assert report["summary"]["filesAnalyzed"] == len(files)
    assert result.returncode == 0, result.stderr


def test_a_line_length_below_88_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["build", str(CONFIGS[0]), "--line-length", "87"])
    assert result.exit_code == 2, result.output
    assert "--line-length" in result.stderr
    assert result.stdout == ""
    help_text = CliRunner().invoke(app, ["build", "--help"]).stdout
    assert "--line-length" in help_text
