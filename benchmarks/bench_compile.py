"""How long skipgen takes to check and compile specs, and how that grows with their size.

Prints figures; asserts nothing. Run: python benchmarks/bench_compile.py
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

import skipgen

ROOT = Path(__file__).resolve().parent.parent


def spec(blocks: int) -> dict:
    layers: list[dict] = [{"type": "conv", "channels": 32, "stride": 2}]
    layers += [{"type": "basic", "channels": 32} for _ in range(blocks - 2)]
    layers.append({"type": "classifier", "classes": 10})
    return {"name": "Deep", "input": {"channels": 3, "size": 64}, "layers": layers}


def best_of(fn, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    print("lowering (validate) and source generation, best of 5, milliseconds")
    print(f"{'blocks':>8} {'lower':>10} {'per block':>10} {'source':>10}")
    for blocks in (10, 100, 1000):
        data = spec(blocks)
        lower = best_of(lambda data=data: skipgen.lower_spec(data))
        try:
            source = best_of(lambda data=data: skipgen.generate_source(data))
        except ImportError:
            source = float("nan")
        print(
            f"{blocks:>8} {lower * 1e3:>10.2f} {lower / blocks * 1e6:>8.1f}us {source * 1e3:>10.2f}"
        )

    print(
        "\nwhole commands in a fresh interpreter (import included): median of 9 rounds, each"
        "\nrunning every command once; ms of wall time and of CPU time (user + system:"
        "\nsteadier on a shared machine), and each as a fraction of python -c 'import torch'"
    )
    with tempfile.TemporaryDirectory() as folder:
        commands = {"python -c 'import torch'": [sys.executable, "-c", "import torch"]}
        skipgen_cli = [sys.executable, "-m", "skipgen"]
        for blocks in (1000, 9999):
            path = Path(folder) / f"deep{blocks}.yaml"
            path.write_text(yaml.safe_dump(spec(blocks), sort_keys=False))
            commands[f"validate ({blocks:,}-block spec)"] = [*skipgen_cli, "validate", str(path)]
        for args in (["validate", "configs/resnet50.yaml"], ["build", "configs/resnet50.yaml"]):
            commands[" ".join(args)] = [*skipgen_cli, *args]
        times = _medians(commands)
    torch = times.pop("python -c 'import torch'")
    print(f"  {'python -c import torch':<40} {torch[0]:7.0f} {torch[1]:7.0f}")
    for label, (wall, cpu) in times.items():
        print(
            f"  skipgen {label:<32} {wall:7.0f} {cpu:7.0f}"
            f"   {wall / torch[0]:.2f}x / {cpu / torch[1]:.2f}x torch"
        )


def _medians(commands: dict[str, list[str]], rounds: int = 9) -> dict[str, tuple[float, float]]:
    """The median wall and CPU time of each command in a fresh process, in milliseconds,
    over ``rounds`` rounds that run every command once (so that a slow spell of a shared
    machine falls on all of them), after one round that is not counted (it may write the
    bytecode cache)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    walls: dict[str, list[float]] = {label: [] for label in commands}
    cpus: dict[str, list[float]] = {label: [] for label in commands}
    for round_ in range(rounds + 1):
        for label, command in commands.items():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(command, cwd=ROOT, capture_output=True, check=True, env=env)
            wall = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if round_:
                walls[label].append(wall * 1e3)
                cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
                cpus[label].append(cpu * 1e3)
    return {
        label: (statistics.median(walls[label]), statistics.median(cpus[label]))
        for label in commands
    }


if __name__ == "__main__":
    main()
