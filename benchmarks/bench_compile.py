"""How long skipgen takes to check and compile specs, and how that grows with their size.

Prints figures; asserts nothing. Run: python benchmarks/bench_compile.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

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

    print("\nwhole commands in a fresh interpreter (import included), median of 5, ms")
    for args in (["validate", "configs/resnet50.yaml"], ["build", "configs/resnet50.yaml"]):
        runs = []
        for _ in range(5):
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "skipgen", *args], cwd=ROOT, capture_output=True, check=False
            )
            runs.append(time.perf_counter() - start)
        print(f"  skipgen {' '.join(args):<32} {statistics.median(runs) * 1e3:8.0f}")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch"], check=True)
    print(f"  (for scale: python -c 'import torch'   {(time.perf_counter() - start) * 1e3:8.0f})")


if __name__ == "__main__":
    main()
