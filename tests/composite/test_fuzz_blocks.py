"""Random specs with composite blocks: each is a located error, or a network whose static
facts hold and whose emitted classes compute what build_model computes."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given

import skipgen
from skipgen.errors import SpecError
from tests.backends.helpers import assert_equivalent, load_module
from tests.composite.strategies import composite_specs
from tests.strategies import fuzz_settings, small_enough_to_run
from tests.test_differential import BATCH, assert_located, assert_static_facts_hold

FUZZ = fuzz_settings(20)


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


@FUZZ
@given(spec=composite_specs())
def test_a_composite_spec_is_a_located_error_or_a_network_that_works(
    spec: dict[str, Any], folder: Path
) -> None:
    text = yaml.safe_dump(spec, sort_keys=False)
    try:
        graph = skipgen.lower_spec(text)
    except SpecError as error:
        assert_located(error, text)
        for diagnostic in error.diagnostics:  # an error in a body names the use
            if "blocks." in diagnostic.message.split(":")[0]:
                assert diagnostic.notes and "used at <string>:" in diagnostic.notes[0]
        return
    if not small_enough_to_run(graph):
        return
    assert_static_facts_hold(graph)
    module = load_module(skipgen.generate_source(text), folder)
    shape = (BATCH, graph.in_channels, *([16] * graph.dims))
    assert_equivalent(graph, module.Net, shape)
