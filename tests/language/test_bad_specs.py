"""The catalog of bad specs: each file states the diagnostics it must produce.

A line ``# expect: LINE:COL: MESSAGE`` names one diagnostic exactly; ``# expect-hint: HINT``
after it names that diagnostic's hint. Every file must produce exactly its expectations,
through the API and through ``skipgen validate``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

import skipgen
from skipgen.cli import app

BAD = sorted((Path(__file__).parent / "bad").glob("*.yaml"))


def expectations(path: Path) -> list[tuple[int, int, str, str | None]]:
    found: list[tuple[int, int, str, str | None]] = []
    text = path.read_bytes().decode("utf-8", errors="replace")  # one case is not UTF-8
    for line in text.splitlines():
        if m := re.match(r"# expect: (\d+):(\d+): (.*)$", line):
            found.append((int(m[1]), int(m[2]), m[3], None))
        elif m := re.match(r"# expect-hint: (.*)$", line):
            found[-1] = (*found[-1][:3], m[1])
    return found


def test_catalog_is_not_empty() -> None:
    assert len(BAD) >= 20


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_spec_reports_exactly_its_expectations(path: Path) -> None:
    expected = expectations(path)
    assert expected, f"{path.name} states no expectation"
    with pytest.raises(skipgen.SpecError) as info:
        skipgen.lower_spec(path)
    got = [(d.line, d.col, d.message) for d in info.value.diagnostics]
    assert sorted(got) == sorted((line, col, msg) for line, col, msg, _ in expected)
    assert all(d.file == str(path) for d in info.value.diagnostics)
    hints = {(d.line, d.col, d.message): d.hint for d in info.value.diagnostics}
    for line, col, msg, hint in expected:
        if hint is not None:
            assert hints[(line, col, msg)] == hint


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_validate_command_prints_file_line_col(path: Path) -> None:
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    for line, col, msg, _ in expectations(path):
        assert f"{path}:{line}:{col}: error: {msg}" in result.stderr
    assert result.stdout == ""
