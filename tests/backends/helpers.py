"""Shared by the source backend tests: load generated modules, compare them with the runtime
backend, run ruff as a project with no configuration of its own runs it."""

from __future__ import annotations

import importlib.util
import itertools
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
from torch import nn

import skipgen
from skipgen.errors import SpecError
from skipgen.ir.graph import Graph

ROOT = Path(__file__).resolve().parents[2]
_counter = itertools.count()
# The rules this project holds its own code to; ruff's defaults (E4, E7, E9, F) are a subset.
PROJECT_RULES = "E,F,W,I,B,UP,SIM,RUF"


def load_module(text: str, folder: Path, stem: str = "generated") -> ModuleType:
    """Import generated source under a fresh module name."""
    name = f"{stem}_{next(_counter)}"
    path = folder / f"{name}.py"
    path.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ruff(
    *args: str | Path, stdin: str | None = None, line_length: int = 88
) -> subprocess.CompletedProcess[str]:
    """Run ruff with its defaults at ``line_length``, as in a project without a ruff config.

    ``--isolated`` ignores every configuration file, and ruff runs in an empty folder, so
    neither this project's settings nor a user's reach it.
    """
    command = [sys.executable, "-m", "ruff", *map(str, args)]
    command += ["--isolated", "--no-cache", "--line-length", str(line_length)]
    with tempfile.TemporaryDirectory() as empty:
        return subprocess.run(
            command, input=stdin, capture_output=True, text=True, check=False, cwd=empty
        )


def _smallest_map(graph: Graph) -> int:
    sizes = [
        min(node.out_size)
        for node in graph.nodes()
        if node.out_size is not None and node.kind not in ("global_pool", "classifier")
    ]
    return min(sizes, default=2)


def input_shape(source: Any, graph: Graph, batch: int = 2) -> tuple[int, ...]:
    """A small input shape the network accepts, where no feature map shrinks to 1x1 before a
    global pool (batch norm over 2 values is degenerate), or the spec's own size."""
    spec = skipgen.load_spec(source)
    data = spec.model_dump(by_alias=True, exclude_none=True)
    for size in (4, 8, 16, 32, 64, 128, 224):
        data["input"]["size"] = size
        try:
            sized = skipgen.lower_spec(data)
        except SpecError:
            continue
        if _smallest_map(sized) >= 2:
            return (batch, graph.in_channels, *([size] * graph.dims))
    if graph.input_size is not None:
        return (batch, graph.in_channels, *graph.input_size)
    raise AssertionError(f"no small input size works for {graph.name}")


def as_list(
    out: torch.Tensor | list[torch.Tensor] | dict[str, torch.Tensor],
) -> list[torch.Tensor]:
    """A network's outputs as a list: one tensor, the list of several, or a dict's values."""
    if isinstance(out, dict):
        return list(out.values())
    return out if isinstance(out, list) else [out]


def _randomize_buffers(model: nn.Module) -> None:
    generator = torch.Generator().manual_seed(7)
    for name, buffer in model.named_buffers():
        if buffer.is_floating_point():
            values = torch.rand(buffer.shape, generator=generator, dtype=buffer.dtype) + 0.5
            buffer.copy_(values if "var" in name else values - 1.0)


def trained(norm: nn.Module, seed: int = 0) -> nn.Module:
    """Running statistics and affine parameters away from 0 and 1, as after training."""
    gen = torch.Generator().manual_seed(seed)
    for module in norm.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            n = module.num_features
            with torch.no_grad():
                module.running_mean.copy_(torch.rand(n, generator=gen) * 2 - 1)
                module.running_var.copy_(torch.rand(n, generator=gen) * 2 + 0.2)
                if module.affine:
                    module.weight.copy_(torch.rand(n, generator=gen) * 2 - 1)
                    module.bias.copy_(torch.rand(n, generator=gen) * 2 - 1)
    return norm.eval()


def assert_equivalent(
    graph: Graph, cls: type[nn.Module], shape: tuple[int, ...], *, count: bool = True
) -> None:
    """Same state_dict, same outputs and the same training step as ``build_model``, in double
    precision. ``count`` also checks the parameter count the IR states (and the docstring
    repeats).
    """
    reference = skipgen.build_model(graph).double()
    generated = cls().double()
    ref_state, gen_state = reference.state_dict(), generated.state_dict()
    assert list(gen_state) == list(ref_state)
    assert [v.shape for v in gen_state.values()] == [v.shape for v in ref_state.values()]
    if count:
        assert sum(p.numel() for p in generated.parameters()) == graph.params

    with torch.no_grad():
        _randomize_buffers(reference)
    generated.load_state_dict(reference.state_dict())
    x = torch.randn(shape, dtype=torch.double, generator=torch.Generator().manual_seed(3))

    reference.eval()
    generated.eval()
    with torch.no_grad():
        expected = as_list(reference(x))
        actual = as_list(generated(x))
    assert [a.shape for a in actual] == [e.shape for e in expected]
    for a, e in zip(actual, expected, strict=True):
        assert torch.allclose(a, e, rtol=1e-9, atol=1e-12)

    reference.train()
    generated.train()
    tolerance = {"rtol": 1e-9, "atol": 1e-12}
    steps = []
    for model in (reference, generated):
        torch.manual_seed(11)  # dropout and drop path draw the same numbers in both
        outs = as_list(model(x))
        loss = sum(nn.functional.mse_loss(out, torch.zeros_like(out)) for out in outs)
        assert isinstance(loss, torch.Tensor)
        grads = {}
        if loss.requires_grad:  # else a network of pools only: nothing to train
            optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
            loss.backward()
            grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
            optimizer.step()
        steps.append((loss.detach(), grads, {k: v.clone() for k, v in model.state_dict().items()}))
    (ref_loss, ref_grads, ref_after), (gen_loss, gen_grads, gen_after) = steps
    assert torch.isfinite(ref_loss)
    assert torch.allclose(gen_loss, ref_loss, **tolerance)
    assert gen_grads.keys() == ref_grads.keys()
    for name, grad in ref_grads.items():
        assert torch.allclose(gen_grads[name], grad, **tolerance), name
    for name, value in ref_after.items():
        assert torch.equal(gen_after[name], value), name


def assert_backends_agree(text: str, input_shape: tuple[int, ...], name: str = "Net") -> None:
    """The spec ``text`` built at run time and its emitted class (imported as a user would)
    compute the same (:func:`assert_equivalent`)."""
    graph = skipgen.lower_spec(text)
    with tempfile.TemporaryDirectory() as folder:
        module = load_module(skipgen.generate_source(text), Path(folder))
        assert_equivalent(graph, getattr(module, name), input_shape)
