"""skipgen's own code type-checks: mypy and pyright, at their default settings, find no
error in the package (the emitted files are checked in tests/backends/test_source_clean.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "skipgen"


def test_mypy_finds_no_error_in_the_package(tmp_path: Path) -> None:
    pytest.importorskip("mypy", reason="mypy is not installed: pip install -e '.[test]'")
    command = [sys.executable, "-m", "mypy", "--config-file=", "--cache-dir", str(tmp_path)]
    result = subprocess.run(
        [*command, str(PACKAGE)], capture_output=True, text=True, cwd=PACKAGE.parent
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues found" in result.stdout


def test_pyright_finds_no_error_in_the_package() -> None:
    pytest.importorskip("pyright", reason="pyright is not installed: pip install -e '.[test]'")
    command = [sys.executable, "-m", "pyright", "--outputjson", "--pythonpath", sys.executable]
    result = subprocess.run(
        [*command, str(PACKAGE)], capture_output=True, text=True, cwd=PACKAGE.parent
    )
    report = json.loads(result.stdout)
    errors = [d for d in report["generalDiagnostics"] if d["severity"] == "error"]
    assert not errors, json.dumps(errors, indent=1)
    assert report["summary"]["filesAnalyzed"] > 80
