"""Random valid specs: the generated module is clean, stable and equivalent to build_model."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

import skipgen
from skipgen.backends import layout
from tests.backends.helpers import assert_equivalent, input_shape, load_module, ruff
from tests.strategies import specs

SHAPE_COMMENT = re.compile(r"  # \(N[^)]*\)$", re.MULTILINE)
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def folder() -> Any:
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


@SETTINGS
@given(spec=specs())
def test_random_specs_match_build_model(spec: dict[str, Any], folder: Path) -> None:
    graph = skipgen.lower_spec(spec)
    text = skipgen.generate_source(spec)
    assert skipgen.generate_source(spec) == text
    module = load_module(text, folder)
    assert_equivalent(graph, getattr(module, graph.name), input_shape(spec, graph))


@SETTINGS
@given(spec=specs())
def test_random_specs_are_ruff_clean_and_formatted(spec: dict[str, Any]) -> None:
    text = skipgen.generate_source(spec)
    check = ruff("check", "--no-cache", "--stdin-filename", "net.py", "-", stdin=text)
    assert check.returncode == 0, check.stdout
    original = layout.LINE_LENGTH
    layout.LINE_LENGTH = 10**6  # every statement on one line, then let ruff split them
    try:
        flat = skipgen.generate_source(spec)
    finally:
        layout.LINE_LENGTH = original
    formatted = ruff("format", "--stdin-filename", "net.py", "-", stdin=flat)
    assert formatted.returncode == 0, formatted.stderr
    assert SHAPE_COMMENT.sub("", formatted.stdout) == SHAPE_COMMENT.sub("", text)
