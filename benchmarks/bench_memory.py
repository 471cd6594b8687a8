"""Peak memory of one training step (forward and backward), plain against recomputing.

DenseNet-121 at 224x224: plain; torchvision's ``memory_efficient`` (each dense layer's
concatenation, norm, activation and 1x1 convolution recomputed in the backward pass,
written here as torchvision writes it); and ``memory_efficient: true`` (only the
concatenation, norms and activations recomputed, the convolutions' outputs kept). Then
the 3D U-Net of ``configs/unet3d.yaml`` (channels_last_3d), plain and with its seven
encoder, bottom and decoder stages ``checkpoint: true``.

Each variant runs in a fresh interpreter. On the CPU, two figures: the peak resident
memory during the step (``ru_maxrss``) less the resident memory before it, once a small
step has allocated the gradients; and the peak of the memory torch's allocations hold
(from the profiler's memory events, the CPU's counterpart of
``torch.cuda.max_memory_allocated``), which leaves out what the C library's allocator
keeps back. With ``--device cuda``: bf16 autocast, channels_last, and the peak of
``torch.cuda.max_memory_allocated`` over the step, weights and gradients included. Step
times are the best of a few steps: on the CPU the process's CPU time (all its threads),
which other programs on the machine disturb less than the wall clock. Prints ratios
measured in one run; asserts nothing.

Run: python benchmarks/bench_memory.py [--device cuda] [--batch 16] [--volume 64]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import MethodType

import torch
from torch import Tensor, nn
from torch.profiler import ProfilerActivity, profile
from torch.utils.checkpoint import checkpoint

import skipgen

ROOT = Path(__file__).resolve().parent.parent
DENSENET = ROOT / "configs" / "densenet121.yaml"
DENSE_BLOCKS = [f"layers.0.layers.{i}.memory_efficient=true" for i in (4, 6, 8, 10)]
UNET3D = ROOT / "configs" / "unet3d.yaml"
UNET3D_STAGES = [f"layers.{i}.checkpoint=true" for i in range(7)]
VARIANTS = {
    "densenet121 plain": (DENSENET, []),
    "densenet121 torchvision memory_efficient": (DENSENET, []),
    "densenet121 memory_efficient: true": (DENSENET, DENSE_BLOCKS),
    "unet3d plain": (UNET3D, []),
    "unet3d checkpoint: true (7 stages)": (UNET3D, UNET3D_STAGES),
}


def torchvision_forward(self: nn.ModuleDict, x: Tensor) -> Tensor:
    """torchvision's ``_DenseBlock`` with ``memory_efficient=True``: its ``bn_function``
    (concatenation, norm1, relu1, conv1) checkpointed in every layer."""
    features = [x]
    for layer in self.values():

        def bottleneck(*inputs: Tensor, layer: nn.Module = layer) -> Tensor:
            return layer.conv1(layer.relu1(layer.norm1(torch.cat(inputs, 1))))

        out = checkpoint(bottleneck, *features, use_reentrant=False)
        features.append(layer.conv2(layer.relu2(layer.norm2(out))))
    return torch.cat(features, 1)


def resident() -> int:
    """This process's resident memory now, in bytes."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_resident() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def allocated_peak(step: Callable[[], None]) -> int:
    """The most memory torch's CPU allocations held at once during ``step``, in bytes."""
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    events = []
    pending = list(prof.profiler.kineto_results.experimental_event_tree())  # type: ignore[union-attr]
    while pending:
        event = pending.pop()
        pending.extend(event.children)
        if event.name == "[memory]":
            events.append((event.start_time_ns, event.extra_fields.alloc_size))
    held = peak = 0
    for _, size in sorted(events):
        held += size
        peak = max(peak, held)
    return peak


def measure(name: str, device: str, batch: int, volume: int, steps: int) -> dict[str, float]:
    """One variant, in this process: the step's peak memory and its best time."""
    spec, changes = VARIANTS[name]
    graph = skipgen.lower_spec(spec, set=changes)
    model = skipgen.build_model(graph).train()
    if "torchvision" in name:
        for block in model.modules():
            if type(block).__name__ == "DenseBlock":
                block.forward = MethodType(torchvision_forward, block)  # type: ignore[method-assign]
    size = (224, 224) if graph.dims == 2 else (volume,) * 3
    x = torch.randn(batch, graph.in_channels, *size)
    small = torch.randn(2, graph.in_channels, *(max(s // 4, 32) for s in size))
    cuda = device == "cuda"
    if cuda or graph.dims == 3:  # on the CPU, 3D convolutions run faster channels_last too
        layout = torch.channels_last if graph.dims == 2 else torch.channels_last_3d
        model = model.to(device, memory_format=layout)
        x, small = (t.to(device, memory_format=layout) for t in (x, small))

    def step(inputs: Tensor) -> None:
        with torch.autocast(device, dtype=torch.bfloat16, enabled=cuda):
            out = model(inputs)
        out.float().sum().backward()

    step(small)  # allocates the gradients and warms up the kernels
    model.zero_grad(set_to_none=False)
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    before = resident()
    clock = time.perf_counter if cuda else time.process_time  # a shared CPU: its own time
    times = []
    for _ in range(steps):
        start = clock()
        step(x)
        if cuda:
            torch.cuda.synchronize()
        times.append(clock() - start)
        model.zero_grad(set_to_none=False)
    if cuda:
        peak = torch.cuda.max_memory_allocated()
        return {"peak": peak, "allocated": peak, "time": min(times)}
    peak = peak_resident() - before
    return {"peak": peak, "allocated": allocated_peak(lambda: step(x)), "time": min(times)}


def run_fresh(name: str, args: argparse.Namespace) -> dict[str, float]:
    command = [sys.executable, __file__, "--variant", name, "--device", args.device]
    command += ["--batch", str(args.batch), "--volume", str(args.volume)]
    command += ["--steps", str(args.steps), "--unet-batch", str(args.unet_batch)]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    figures: dict[str, float] = json.loads(result.stdout.splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--batch", type=int, default=None, help="DenseNet (cpu 16, cuda 128)")
    parser.add_argument("--unet-batch", type=int, default=2, help="3D U-Net batch")
    parser.add_argument("--volume", type=int, default=None, help="3D U-Net side (cpu 64)")
    parser.add_argument("--steps", type=int, default=None, help="timed steps (cpu 2, cuda 10)")
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    args = parser.parse_args()
    cuda = args.device == "cuda"
    args.batch = args.batch or (128 if cuda else 16)
    args.volume = args.volume or (128 if cuda else 64)
    args.steps = args.steps or (10 if cuda else 2)
    if args.variant:
        batch = args.batch if "densenet" in args.variant else args.unet_batch
        figures = measure(args.variant, args.device, batch, args.volume, args.steps)
        print(json.dumps(figures))
        return
    where = torch.cuda.get_device_name() if cuda else f"CPU, {os.cpu_count()} cores"
    print(f"one training step on {where}; memory: ", end="")
    if cuda:
        print("peak allocated (bf16 autocast, channels_last)")
    else:
        print("peak RSS during the step, and peak allocated by torch (3D U-Net channels_last)")
    print(
        f"DenseNet-121 224x224 batch {args.batch}; 3D U-Net {args.volume}^3 batch {args.unet_batch}"
    )
    timed = "step s" if cuda else "CPU s"
    keys = {"allocated": "alloc MiB"} if cuda else {"peak": "RSS MiB", "allocated": "alloc MiB"}
    columns = "".join(f" {label:>9} {'x plain':>8}" for label in keys.values())
    print(f"\n{'variant':<36}{columns} {timed:>8} {'x plain':>8}")
    found: dict[str, dict[str, float]] = {}
    for name in VARIANTS:
        figures = found[name] = run_fresh(name, args)
        base = found[f"{name.split()[0]} plain"]
        line = f"{name:<36}"
        for key in keys:
            line += f" {figures[key] / 2**20:>9,.0f} {figures[key] / base[key]:>8.2f}"
        print(f"{line} {figures['time']:>8.3f} {figures['time'] / base['time']:>8.2f}")
    ours = found["densenet121 memory_efficient: true"]
    theirs = found["densenet121 torchvision memory_efficient"]
    print("\nmemory_efficient: true against torchvision's: ", end="")
    for key in [] if cuda else ["peak"]:
        print(f"RSS {ours[key] / theirs[key]:.2f}x, ", end="")
    allocated, step = ours["allocated"] / theirs["allocated"], ours["time"] / theirs["time"]
    print(f"allocated {allocated:.2f}x, time {step:.2f}x")


if __name__ == "__main__":
    main()
