"""How long skipgen takes to check and compile specs, and how that grows with their size.

Prints figures; asserts nothing. Run: python benchmarks/bench_compile.py
"""

from __future__ import annotations

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

    print("\nwhole commands in a fresh interpreter (import included), median of 5, ms")
    torch = _median_ms([sys.executable, "-c", "import torch"])
    with tempfile.TemporaryDirectory() as folder:
        for blocks in (1000, 9999):
            path = Path(folder) / f"deep{blocks}.yaml"
            path.write_text(yaml.safe_dump(spec(blocks), sort_keys=False))
            ms = _median_ms([sys.executable, "-m", "skipgen", "validate", str(path)])
            print(f"  skipgen validate ({blocks:,}-block spec){ms:14.0f}   {ms / torch:.2f}x torch")
    for args in (["validate", "configs/resnet50.yaml"], ["build", "configs/resnet50.yaml"]):
        ms = _median_ms([sys.executable, "-m", "skipgen", *args])
        print(f"  skipgen {' '.join(args):<32} {ms:8.0f}   {ms / torch:.2f}x torch")
    print(f"  (for scale: python -c 'import torch'   {torch:8.0f})")


def _median_ms(command: list[str], runs: int = 5) -> float:
    """The median wall time of ``command`` in a fresh process, in milliseconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


if __name__ == "__main__":
    main()
