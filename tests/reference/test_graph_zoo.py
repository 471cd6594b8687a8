"""The graph-shaped configs reproduce torchvision exactly: branches, merges, splits.

For each reference of ``data/`` measured for the graph language (see ``data/README.md``):
the parameter count, the ``state_dict`` keys and shapes in order, a strict load of a
checkpoint with the reference's keys, and every output for the deterministic weights and
input at 64x64 (runtime model and emitted source) and, summarised, at 224x224.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from typer.testing import CliRunner

import skipgen
from skipgen.cli import app
from tests.backends.helpers import as_list

from .fill import fill, make_input
from .test_zoo import GRAPH_MEASURED, config, emitted_model, reference, reference_state_dict

GRAPHS = sorted(GRAPH_MEASURED)


def expected_outputs(ref: dict[str, Any]) -> list[tuple[list[int], torch.Tensor]]:
    """Each output's shape and values at 64x64, in the reference's order."""
    listed = ref.get("outputs") or [{"shape": ref["output_shape"]}]
    found = []
    for k, entry in enumerate(listed):
        values = ref["output"] if k == 0 else entry["output"]
        found.append((entry["shape"], torch.tensor(values, dtype=torch.float64)))
    return found


def assert_outputs(outs: list[torch.Tensor], ref: dict[str, Any]) -> None:
    expected = expected_outputs(ref)
    assert [list(o.shape) for o in outs] == [shape for shape, _ in expected]
    for out, (shape, values) in zip(outs, expected, strict=True):
        error = (out - values.reshape(shape)).abs().max().item()
        scale = values.abs().max().item()
        assert error <= 1e-6 * scale, f"max |a - b| = {error:.3g}, max |b| = {scale:.3g}"


def test_every_graph_reference_is_measured_and_written() -> None:
    for name in GRAPHS:
        assert "at_224" in reference(name), name
        assert config(name).is_file(), name


@pytest.fixture(scope="module", params=GRAPHS)
def name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_parameters_and_state_dict_keys(name: str) -> None:
    ref = reference(name)
    assert skipgen.lower_spec(config(name)).params == ref["parameters"]
    with torch.device("meta"):
        model = skipgen.build_model(config(name))
    assert sum(p.numel() for p in model.parameters()) == ref["parameters"]
    state = [[key, list(t.shape)] for key, t in model.state_dict().items()]
    assert state == ref["state_dict"]


def test_the_reference_checkpoint_loads_strictly(name: str, tmp_path: Path) -> None:
    checkpoint = reference_state_dict(name)
    with torch.device("meta"):
        runtime = skipgen.build_model(config(name))
        spec = skipgen.load_spec(config(name))
        emitted = emitted_model(skipgen.generate_source(config(name)), spec.name, tmp_path)
    for model in (runtime, emitted):
        result = model.load_state_dict(checkpoint, strict=True, assign=True)
        assert (result.missing_keys, result.unexpected_keys) == ([], [])


def test_outputs_of_both_backends(name: str, tmp_path: Path) -> None:
    ref = reference(name)
    spec = skipgen.load_spec(config(name))
    x = make_input(ref["input_shape"])
    runtime = fill(skipgen.build_model(config(name)))
    emitted = fill(emitted_model(skipgen.generate_source(config(name)), spec.name, tmp_path))
    with torch.no_grad():
        assert_outputs(as_list(runtime(x)), ref)
        assert_outputs(as_list(emitted(x)), ref)


def test_outputs_at_224(name: str) -> None:
    """At 224x224 the reference's outputs are summarised: their sums and a strided sample."""
    at = reference(name)["at_224"]
    model = fill(skipgen.build_model(config(name)))
    with torch.no_grad():
        outs = as_list(model(make_input(at["input_shape"])))
    assert [list(o.shape) for o in outs] == [entry["shape"] for entry in at["outputs"]]
    for out, entry in zip(outs, at["outputs"], strict=True):
        flat = out.flatten()
        sample = torch.tensor(entry["sample"], dtype=torch.float64)
        picked = flat[:: entry["stride"]][: len(sample)]
        scale = sample.abs().max().item()
        assert (picked - sample).abs().max().item() <= 1e-6 * scale
        assert flat.abs().sum().item() == pytest.approx(entry["abs_sum"], rel=1e-6)
        assert flat.sum().item() == pytest.approx(entry["sum"], rel=1e-6, abs=1e-6 * scale)


def test_validate_shows_a_dict_of_outputs_by_key() -> None:
    result = CliRunner().invoke(app, ["validate", str(config("deeplabv3_resnet50"))])
    assert result.exit_code == 0, result.output
    assert "-> {out: (N, 21, 224, 224)}, 39,638,869 parameters" in result.stdout
    result = CliRunner().invoke(app, ["validate", str(config("resnet50_fpn"))])
    assert "{0: (N, 256, 56, 56), 1: (N, 256, 28, 28)" in result.stdout
    assert "pool: (N, 256, 4, 4)}" in result.stdout


def test_squeezenets_pools_round_up_at_every_size() -> None:
    """The sizes validate accepts are those the network runs at: its pools round up
    (ceil_mode), so 17 and more work, odd or even, as torchvision's."""
    data = yaml.safe_load(config("squeezenet1_1").read_text(encoding="utf-8"))
    del data["input"]["size"]
    graph = skipgen.lower_spec(data)
    assert graph.sizes is not None
    model = skipgen.build_model(graph).eval()
    for n in range(1, 48):
        try:
            with torch.no_grad():
                model(torch.zeros(1, 3, n, n))
            runs = True
        except RuntimeError:
            runs = False
        assert (n in graph.sizes) == runs, n
    assert 17 in graph.sizes and 16 not in graph.sizes
