"""Bad specs whose diagnostics are not yet what they should be (tests/language/bad_pending/).

Each file is written as the catalog's are (``# expect:`` and ``# expect-hint:``), stating the
diagnostics the spec SHOULD produce; its ``# now:`` lines quote what it produces today and
``# why:`` says what is wrong with that. Each is an expected failure: when a fix makes one
pass, the strict mark fails the run; move that file into tests/language/bad/ (adjusting its
expectations to the wording chosen, and dropping the ``# now:`` lines).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import skipgen
from tests.language.test_bad_specs import expectations

PENDING = sorted((Path(__file__).parent / "bad_pending").glob("*.yaml"))


@pytest.mark.parametrize("path", PENDING, ids=[p.stem for p in PENDING])
@pytest.mark.xfail(strict=True, reason="the diagnostics are not yet those stated: see # why")
def test_pending_bad_spec_reports_what_it_should(path: Path) -> None:
    expected = expectations(path)
    assert expected, f"{path.name} states no expectation"
    with pytest.raises(skipgen.SpecError) as info:
        skipgen.lower_spec(path)
    got = {(d.line, d.col, d.message): d.hint for d in info.value.diagnostics}
    assert sorted(got) == sorted((line, col, msg) for line, col, msg, _ in expected)
    for line, col, msg, hint in expected:
        if hint is not None:
            assert got[(line, col, msg)] == hint


def test_a_pending_file_is_not_also_in_the_catalog() -> None:
    catalog = {p.name for p in (Path(__file__).parent / "bad").glob("*.yaml")}
    assert not catalog & {p.name for p in PENDING}
