"""Fused inference: ``model.fuse()`` against the same network unfused, same weights.

The unfused network built by skipgen stands in for torchvision's eager model (torchvision
need not be installed): it runs the same layers in the same order ("The reference zoo" in
the README), and measured side by side its eager forward is within a few percent of
torchvision's. Every variant runs in turn within each repeat, so that a slower moment of a
shared machine falls on all of them alike; the median of the repeats is reported, each
ratio against the unfused eager time of the same run. Asserts nothing.

Variants: the unfused network; the norms folded only (``fuse_conv_norms``); ``fuse()``
(folded, and on the CPU channels-last weights); each of the first and last under
``torch.compile`` too.

CPU:  python benchmarks/bench_fuse.py [--models resnet50 ...] [--repeats 10]
GPU:  python benchmarks/bench_fuse.py --device cuda   (bf16 autocast, channels_last input
      and weights, batch 1 and 256)
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import statistics
import time
from pathlib import Path

import torch
from torch import nn

import skipgen
from skipgen.nn.fuse import fuse_conv_norms

ROOT = Path(__file__).resolve().parent.parent
MODELS = ["resnet50", "mobilenet_v2", "efficientnet_b0", "densenet121"]


def randomize_norms(model: nn.Module) -> None:
    """Batch norm statistics away from 0 and 1, as a trained network's are."""
    gen = torch.Generator().manual_seed(0)
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            with torch.no_grad():
                n = module.num_features
                module.running_mean.copy_(torch.rand(n, generator=gen) - 0.5)
                module.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
                module.weight.copy_(torch.rand(n, generator=gen) + 0.5)
                module.bias.copy_(torch.rand(n, generator=gen) - 0.5)


def variants(name: str, device: str, compile_too: bool) -> dict[str, nn.Module]:
    model = skipgen.build_model(ROOT / "configs" / f"{name}.yaml").eval()
    randomize_norms(model)
    model = model.to(device)
    if device == "cuda":
        model = model.to(memory_format=torch.channels_last)
    folded = copy.deepcopy(model)
    fuse_conv_norms(folded)
    fused = copy.deepcopy(model).fuse()
    found: dict[str, nn.Module] = {"unfused": model, "folded": folded, "fused": fused}
    if compile_too:
        found["unfused compiled"] = torch.compile(copy.deepcopy(model))
        found["fused compiled"] = torch.compile(copy.deepcopy(fused))
    return found


def now(device: str) -> float:
    """The time once the device has finished what it was given."""
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter()


def autocast(device: str) -> contextlib.AbstractContextManager[object]:
    """bf16 autocast on a GPU; nothing on the CPU."""
    if device == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def run_once(model: nn.Module, x: torch.Tensor, device: str) -> float:
    with autocast(device):
        start = now(device)
        model(x)
        return now(device) - start


def measure(
    models: dict[str, nn.Module], x: torch.Tensor, device: str, repeats: int
) -> dict[str, float]:
    """Median milliseconds per forward pass of each model, the models interleaved."""
    times: dict[str, list[float]] = {key: [] for key in models}
    with torch.inference_mode(), autocast(device):  # warm-up compiles what is timed
        reference = models["unfused"](x)
        for key, model in models.items():
            for _ in range(2):  # warm up (and compile)
                out = model(x)
            error = ((out.float() - reference.float()).abs().max() / reference.abs().max()).item()
            print(f"    {key:<18} relative max difference from unfused: {error:.1e}", flush=True)
        for _ in range(repeats):
            for key, model in models.items():
                times[key].append(run_once(model, x, device))
    return {key: statistics.median(t) * 1e3 for key, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=MODELS, help="configs/<name>.yaml")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--batch", type=int, nargs="+", help="default: 8 on cpu, 1 256 on cuda")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, help="CPU threads (default: torch's)")
    parser.add_argument("--no-compile", action="store_true", help="eager variants only")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    batches = args.batch or ([8] if args.device == "cpu" else [1, 256])
    where = (
        torch.cuda.get_device_name()
        if args.device == "cuda"
        else f"CPU, {torch.get_num_threads()} threads"
    )
    print(f"torch {torch.__version__}, {where}, {args.size}x{args.size}, {args.repeats} repeats")
    rows = []
    for name in args.models:
        models = variants(name, args.device, not args.no_compile)
        for batch in batches:
            print(f"  {name}, batch {batch}", flush=True)
            x = torch.randn(batch, 3, args.size, args.size, device=args.device)
            if args.device == "cuda":
                x = x.contiguous(memory_format=torch.channels_last)
            ms = measure(models, x, args.device, args.repeats)
            rows.append((name, batch, ms))
    keys = list(rows[0][2])
    print()
    print(
        f"{'model':<16} {'batch':>5} {'unfused ms':>10} " + " ".join(f"{k:>17}" for k in keys[1:])
    )
    for name, batch, ms in rows:
        ratios = " ".join(f"{ms[k] / ms['unfused']:>16.2f}x" for k in keys[1:])
        print(f"{name:<16} {batch:>5} {ms['unfused']:>10.1f} {ratios}")
    print("(ratios: time per forward pass / the unfused eager time, same run)")


if __name__ == "__main__":
    main()
