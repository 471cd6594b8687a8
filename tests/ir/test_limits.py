"""Parameter memory: validate prints it, build_model refuses what cannot fit before allocating."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

import skipgen
from skipgen.backends import torch as torch_backend
from skipgen.cli import app
from skipgen.ir.graph import format_bytes
from tests.conftest import CONFIGS

RESNET18 = next(path for path in CONFIGS if path.stem == "resnet18")


def test_validate_prints_the_parameter_memory() -> None:
    result = CliRunner().invoke(app, ["validate", str(RESNET18)])
    assert result.exit_code == 0, result.output
    mebibytes = 11_689_512 * 4 / 2**20  # torchvision's resnet18, in float32
    assert f"11,689,512 parameters ({mebibytes:.1f} MiB)" in result.stdout


def test_memory_in_words() -> None:
    assert [format_bytes(n) for n in (0, 1023, 1024, 3 * 2**19, 2**30, 5 * 2**40)] == [
        "0 B",
        "1023 B",
        "1.0 KiB",
        "1.5 MiB",
        "1.0 GiB",
        "5.0 TiB",
    ]


def test_build_refuses_parameters_larger_than_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch_backend, "physical_memory", lambda: 2**20)
    with pytest.raises(skipgen.SpecError) as info:
        skipgen.build_model(RESNET18)
    (diagnostic,) = info.value.diagnostics
    assert diagnostic.file == str(RESNET18) and diagnostic.line > 1
    assert "11,689,512 parameters need 44.6 MiB" in diagnostic.message
    assert "1.0 MiB of memory" in diagnostic.message


def test_the_memory_error_points_into_an_included_block_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The largest layer is written in an included file: the error names that file and
    line, and notes the use."""
    (tmp_path / "blocks.yaml").write_text(
        "blocks:\n"
        "  wide:\n"
        "    params: {channels: int}\n"
        "    layers:\n"
        '      - {type: conv, channels: "${channels}"}\n',
        encoding="utf-8",
    )
    spec = tmp_path / "net.yaml"
    spec.write_text(
        "name: Net\n"
        "input: {channels: 3}\n"
        "include: [blocks.yaml]\n"
        "layers:\n"
        "  - {type: conv, channels: 512}\n"
        "  - {type: wide, channels: 512}\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(torch_backend, "physical_memory", lambda: 2**20)
    with pytest.raises(skipgen.SpecError) as info:
        skipgen.build_model(spec)
    (diagnostic,) = info.value.diagnostics
    assert (diagnostic.file, diagnostic.line, diagnostic.col) == (
        str(tmp_path / "blocks.yaml"),
        5,
        9,
    )
    assert diagnostic.notes == (f"in the block 'wide' used at {spec}:6:5 (layers[1])",)


def test_build_goes_on_where_memory_is_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch_backend, "physical_memory", lambda: None)
    data = {"name": "Net", "input": {"channels": 3}, "layers": [{"type": "conv", "channels": 4}]}
    assert sum(p.numel() for p in skipgen.build_model(data).parameters()) == 3 * 9 * 4 + 8


@pytest.mark.skipif(torch_backend.physical_memory() is None, reason="memory size unknown here")
def test_a_network_larger_than_this_machine_is_refused_without_allocating() -> None:
    memory = torch_backend.physical_memory()
    assert memory is not None
    per_block = 9 * 16384 * 16384 + 2 * 16384  # a 3x3 conv and its norm, 16384 channels
    repeat = memory // (4 * per_block) + 2
    data = {
        "name": "Huge",
        "input": {"channels": 16384},
        "layers": [{"type": "conv", "channels": 16384, "repeat": repeat}],
    }
    graph = skipgen.lower_spec(data)
    assert graph.param_bytes > memory
    with pytest.raises(skipgen.SpecError, match="more than this machine's"):
        skipgen.build_model(graph)  # allocating would take more than all memory


def test_physical_memory_is_this_machines() -> None:
    if not hasattr(os, "sysconf"):
        pytest.skip("not POSIX")
    memory = torch_backend.physical_memory()
    assert memory is None or memory >= 2**26  # no machine that runs torch has under 64 MiB
