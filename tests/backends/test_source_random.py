"""Random valid specs: the generated module is clean, stable and equivalent to build_model."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import skipgen
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
@given(spec=specs(), width=st.sampled_from([88, 100, 120]))
def test_random_specs_are_ruff_clean_and_formatted(spec: dict[str, Any], width: int) -> None:
    """Clean under ruff's defaults at ``width``, and laid out exactly as ruff-format lays
    out the same statements written on one line."""
    text = skipgen.generate_source(spec, line_length=width)
    stdin = ("--stdin-filename", "net.py", "-")
    check = ruff("check", *stdin, stdin=text, line_length=width)
    assert check.returncode == 0, check.stdout
    fmt = ruff("format", "--check", *stdin, stdin=text, line_length=width)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr
    flat = SHAPE_COMMENT.sub("", skipgen.generate_source(spec, line_length=10**6))
    formatted = ruff("format", *stdin, stdin=flat, line_length=width)
    assert formatted.returncode == 0, formatted.stderr
    assert formatted.stdout == SHAPE_COMMENT.sub("", text)
