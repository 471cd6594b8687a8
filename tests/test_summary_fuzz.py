"""``skipgen summary --json`` on random specs, composite blocks among them: every row's
output shape, parameters and MACs, and the totals, are torchinfo's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

import skipgen
from skipgen.errors import SpecError
from tests.composite.strategies import composite_specs
from tests.strategies import fuzz_settings, graph_to_run, specs
from tests.test_cli_summary import assert_matches_torchinfo, run

FUZZ = fuzz_settings(20, HealthCheck.function_scoped_fixture)
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # e.g. dropout on 1 channel


@FUZZ
@given(spec=st.one_of(specs(), composite_specs()))
def test_the_summary_of_a_random_spec_is_torchinfos(spec: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "net.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    try:
        graph = skipgen.lower_spec(path)
    except SpecError:
        return  # an invalid spec: what it says is tested elsewhere
    size = None if graph.input_size else 16
    extra = ["--set", f"input.size={size}"] if size else []
    if graph_to_run(path, extra[1:]) is None:
        return  # 16 is not a size this spec takes, or the network is too large to run
    result = run(path, "--json", *extra)
    assert result.exit_code == 0, result.output
    (data,) = json.loads(result.stdout)
    assert_matches_torchinfo(data, path, size)
