"""Golden files: the generated source of a few specs, compared byte for byte.

Refresh them with ``pytest --update-golden`` after an intended change, and read the diff.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import skipgen
from tests.backends.helpers import ROOT, assert_equivalent, input_shape, load_module

GOLDEN = ROOT / "tests" / "golden"
SPECS = {
    "resnet18": ROOT / "configs" / "resnet18.yaml",
    "unet_small": ROOT / "configs" / "unet_small.yaml",
    "mixed": GOLDEN / "mixed.yaml",
}


@pytest.mark.parametrize("name", SPECS)
def test_golden_file(name: str, update_golden: bool) -> None:
    path = GOLDEN / f"{name}.py"
    text = skipgen.generate_source(SPECS[name]).encode("utf-8")
    if update_golden:
        path.write_bytes(text)
    assert path.exists(), f"{path.name} is missing: run pytest --update-golden"
    assert path.read_bytes() == text, f"{path.name} is stale: run pytest --update-golden"


@pytest.mark.parametrize("name", SPECS)
def test_golden_file_runs_like_build_model(name: str, tmp_path: Path) -> None:
    graph = skipgen.lower_spec(SPECS[name])
    module = load_module((GOLDEN / f"{name}.py").read_text(encoding="utf-8"), tmp_path, name)
    assert_equivalent(graph, getattr(module, graph.name), input_shape(SPECS[name], graph))
