"""How much of each emitted file its network runs, and how long the file is.

For every shipped config: build the source, import it under ``coverage`` (the statement
coverage tool of the Python field), and exercise the network as its user would: a training
forward and backward, an evaluation forward, ``fuse()`` and a fused forward. Prints per
config the file's lines, its statements, the share of them that ran, and the worst and
median shares; asserts nothing unless ``--min`` is given (exit 1 below it).

Run: python benchmarks/emitted_coverage.py [--min 0.9] [configs/resnet18.yaml ...]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import coverage
import torch

import skipgen
from skipgen.errors import SpecError
from skipgen.ir.graph import Graph

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Share:
    config: str
    lines: int
    statements: int
    run: int
    missed: tuple[str, ...] = ()  # the statements that did not run, as "line: text"

    @property
    def fraction(self) -> float:
        return self.run / self.statements


def _smallest_map(graph: Graph) -> int:
    sizes = [
        min(node.out_size)
        for node in graph.nodes()
        if node.out_size is not None and node.kind not in ("global_pool", "classifier")
    ]
    return min(sizes, default=2)


def input_shape(path: Path, graph: Graph) -> tuple[int, ...]:
    """A small input the network takes, with no map shrunk below 2x2 (batch norm in
    training needs more than one value per channel); the spec's own size otherwise."""
    for size in (8, 16, 32, 64, 128):
        try:
            sized = skipgen.lower_spec(path, set=[f"input.size={size}"])
        except SpecError:
            continue
        if _smallest_map(sized) >= 2:
            return (2, graph.in_channels, *([size] * graph.dims))
    assert graph.input_size is not None, f"no small input size works for {graph.name}"
    return (2, graph.in_channels, *graph.input_size)


def _total(out: torch.Tensor | list[torch.Tensor] | dict[str, torch.Tensor]) -> torch.Tensor:
    if isinstance(out, dict):
        out = list(out.values())
    outs = out if isinstance(out, list) else [out]
    return sum((o.float().mean() for o in outs), torch.zeros(()))


def exercise(network: torch.nn.Module, x: torch.Tensor) -> None:
    """A training step's forward and backward, an eval forward, fuse() and a fused one."""
    network.train()
    loss = _total(network(x))
    if loss.requires_grad:
        loss.backward()
    network.eval()
    with torch.no_grad():
        network(x)
        network.fuse()
        network(x)


def measure(path: Path, folder: Path) -> Share:
    graph = skipgen.lower_spec(path)
    text = skipgen.generate_source(path)
    file = folder / f"{path.stem}_emitted.py"
    file.write_text(text, encoding="utf-8")
    cov = coverage.Coverage(data_file=None, include=[str(file)], branch=False)
    cov.start()
    try:
        spec = importlib.util.spec_from_file_location(file.stem, file)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        torch.manual_seed(0)
        exercise(getattr(module, graph.name)(), torch.randn(input_shape(path, graph)))
    finally:
        cov.stop()
    _, statements, _, missing, _ = cov.analysis2(str(file))
    lines = text.splitlines()
    missed = tuple(f"{n}: {lines[n - 1].strip()}" for n in missing)
    return Share(path.stem, len(lines), len(statements), len(statements) - len(missing), missed)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="*", type=Path)
    parser.add_argument("--min", type=float, default=0.0, help="fail below this share")
    parser.add_argument("--missed", action="store_true", help="list what did not run")
    args = parser.parse_args()
    paths = args.configs or sorted((ROOT / "configs").glob("*.yaml"))
    torch.set_num_threads(1)
    print(f"{'config':<22} {'lines':>6} {'statements':>11} {'run':>6} {'share':>7}")
    shares = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in paths:
            share = measure(path, Path(tmp))
            shares.append(share)
            print(
                f"{share.config:<22} {share.lines:>6} {share.statements:>11} "
                f"{share.run:>6} {share.fraction:>7.1%}"
            )
            for line in share.missed if args.missed else ():
                print(f"    {line}")
    fractions = [s.fraction for s in shares]
    print(f"\nworst {min(fractions):.1%}, median {statistics.median(fractions):.1%}")
    low = [s.config for s in shares if s.fraction < args.min]
    if low:
        print(f"below {args.min:.0%}: {', '.join(low)}")
    return 1 if low else 0


if __name__ == "__main__":
    sys.exit(main())
