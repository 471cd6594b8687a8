"""The benchmarks the README quotes still run (on tiny inputs, on the CPU): they print
their tables, whose figures are not checked here (no test asserts a time)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.backends.helpers import ROOT


def _run(script: str, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout's skipgen
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_the_memory_benchmark_runs_every_variant() -> None:
    out = _run("bench_memory.py", "--batch", "1", "--volume", "16", "--steps", "1")
    for variant in (
        "densenet121 plain",
        "densenet121 torchvision memory_efficient",
        "densenet121 memory_efficient: true",
        "unet3d plain",
        "unet3d checkpoint: true (7 stages)",
    ):
        assert variant in out
    assert "memory_efficient: true against torchvision's" in out


def test_the_fuse_benchmark_runs_every_variant() -> None:
    args = ("--models", "mobilenet_v2", "--size", "32", "--repeats", "1", "--no-compile")
    out = _run("bench_fuse.py", *args)
    assert "folded" in out and "fused" in out
    assert out.count("relative max difference from unfused") == 3
