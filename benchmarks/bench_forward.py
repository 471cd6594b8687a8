"""Forward speed: the runtime-built module against the emitted source, same weights.

The runtime network walks its stages in a Python loop; the emitted class is unrolled.
Prints the median time per forward pass and their ratio; asserts nothing.
Run: python benchmarks/bench_forward.py [configs/resnet18.yaml ...]
"""

from __future__ import annotations

import importlib.util
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

import skipgen

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ["resnet18", "mobilenet_v2", "unet_small"]


def emitted(path: Path, tmp: Path) -> torch.nn.Module:
    graph = skipgen.lower_spec(path)
    module_path = tmp / f"{path.stem}_generated.py"
    module_path.write_text(skipgen.generate_source(path))
    spec = importlib.util.spec_from_file_location(module_path.stem, module_path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return getattr(module, graph.name)()


def median_ms(model: torch.nn.Module, x: torch.Tensor, runs: int = 20) -> float:
    with torch.inference_mode():
        for _ in range(3):
            model(x)
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main() -> None:
    torch.set_num_threads(1)
    paths = [Path(a) for a in sys.argv[1:]] or [ROOT / "configs" / f"{n}.yaml" for n in DEFAULT]
    print(f"{'config':<16} {'runtime ms':>11} {'emitted ms':>11} {'ratio':>7}  (1 thread)")
    with tempfile.TemporaryDirectory() as tmp:
        for path in paths:
            graph = skipgen.lower_spec(path)
            runtime = skipgen.build_model(graph).eval()
            generated = emitted(path, Path(tmp)).eval()
            generated.load_state_dict(runtime.state_dict())
            size = graph.input_size or (64,) * graph.dims
            size = tuple(min(s, 64) for s in size) if graph.flat else size
            x = torch.randn(1, graph.in_channels, *size)
            a, b = median_ms(runtime, x), median_ms(generated, x)
            print(f"{path.stem:<16} {a:>11.2f} {b:>11.2f} {a / b:>7.2f}")


if __name__ == "__main__":
    main()
