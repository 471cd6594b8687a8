"""A generated module works with PyTorch's tooling: export, compile, ONNX and DDP, fused for
inference too."""

from __future__ import annotations

import copy
import socket
from pathlib import Path
from types import ModuleType

import pytest
import torch
from torch import nn

import skipgen
from tests.backends.helpers import load_module, trained

# Local and long skips, a projection, a strided block and an upsample, all tiny.
TINY = """\
name: Tiny
input: {channels: 3, size: 16}
layers:
  - {type: conv, channels: 8, id: enc}
  - {type: basic, channels: 16, stride: 2}
  - {type: inverted_residual, channels: 16, se_ratio: 0.25}
  - {type: upsample, channels: 8, skip: {mode: concat, from: enc}}
  - {type: conv, channels: 8, skip: {mode: add, from: enc}}
  - {type: conv, channels: 2, kernel: 1, norm: none, act: none}
"""
SHAPE = (2, 3, 16, 16)
pytestmark = pytest.mark.filterwarnings(
    "ignore:`torch.jit.script_method` is deprecated:DeprecationWarning"
)


@pytest.fixture
def tiny(tmp_path: Path) -> ModuleType:
    return load_module(skipgen.generate_source(TINY), tmp_path, "tiny")


def _model(module: ModuleType) -> nn.Module:
    torch.manual_seed(0)
    return module.Tiny().eval()


def test_torch_export(tiny: ModuleType) -> None:
    model = _model(tiny)
    x = torch.randn(SHAPE)
    exported = torch.export.export(model, (x,))
    with torch.no_grad():
        assert torch.allclose(exported.module()(x), model(x), atol=1e-6)


def test_torch_compile_fullgraph(tiny: ModuleType) -> None:
    model = _model(tiny)
    x = torch.randn(SHAPE)
    compiled = torch.compile(model, fullgraph=True)
    with torch.no_grad():
        assert torch.allclose(compiled(x), model(x), rtol=1e-4, atol=1e-5)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the TorchScript-based exporter
def test_onnx_export_runs_in_onnxruntime(tiny: ModuleType, tmp_path: Path) -> None:
    onnxruntime = pytest.importorskip("onnxruntime")
    model = _model(tiny)
    x = torch.randn(SHAPE)
    path = tmp_path / "tiny.onnx"
    # The TorchScript-based exporter: the dynamo one needs onnxscript, not a dependency.
    torch.onnx.export(model, (x,), str(path), dynamo=False, input_names=["x"])
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (actual,) = session.run(None, {"x": x.numpy()})
    with torch.no_grad():
        assert torch.allclose(torch.from_numpy(actual), model(x), rtol=1e-4, atol=1e-5)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, world: int, port: int, file: str, out: str) -> None:
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    dist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world
    )
    try:
        module = load_module(Path(file).read_text(), Path(file).parent, f"ddp{rank}")
        torch.manual_seed(0)
        model = DistributedDataParallel(module.Tiny())
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        x = torch.randn(SHAPE, generator=torch.Generator().manual_seed(rank))
        out_x = model(x)
        nn.functional.mse_loss(out_x, torch.zeros_like(out_x)).backward()
        optimizer.step()
        torch.save(model.module.state_dict(), f"{out}.{rank}")
    finally:
        dist.destroy_process_group()


def test_distributed_data_parallel_step(tmp_path: Path) -> None:
    file = tmp_path / "tiny_ddp.py"
    file.write_text(skipgen.generate_source(TINY))
    out = str(tmp_path / "state")
    torch.multiprocessing.spawn(
        _ddp_worker, args=(2, _free_port(), str(file), out), nprocs=2, join=True
    )
    first, second = (torch.load(f"{out}.{rank}") for rank in (0, 1))
    torch.manual_seed(0)
    initial = load_module(file.read_text(), tmp_path, "tiny_init").Tiny().state_dict()
    assert first.keys() == second.keys() == initial.keys()
    for key in first:
        if first[key].is_floating_point() and "running" not in key:
            # Gradients were averaged, so both replicas took the same step...
            assert torch.allclose(first[key], second[key]), key
    # ...and the step changed the weights.
    assert any(not torch.equal(first[k], initial[k]) for k in first if k.endswith("weight"))


# TINY after a stem whose convolution and norm are two layers of the network (ResNet's).
STEM = """\
  - {type: conv, channels: 8, norm: none, act: none, bias: false, name: stem}
  - {type: norm, act: relu, name: bn}
"""
TINY_STEM = TINY.replace("layers:\n", "layers:\n" + STEM)


@pytest.fixture
def fused(tmp_path: Path) -> tuple[nn.Module, nn.Module]:
    """The emitted TINY_STEM with trained-looking norms, unfused and fused."""
    module = load_module(skipgen.generate_source(TINY_STEM), tmp_path, "tiny_stem")
    torch.manual_seed(0)
    model = trained(module.Tiny())
    return model, copy.deepcopy(model).fuse()


def test_fused_network_holds_no_batch_norm(fused: tuple[nn.Module, nn.Module]) -> None:
    model, fused_model = fused
    assert isinstance(model.bn[0], nn.BatchNorm2d)  # the stem's norm, with its act
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fused_model.modules())


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")
def test_fused_torchscript(fused: tuple[nn.Module, nn.Module]) -> None:
    model, fused_model = fused
    x = torch.randn(SHAPE)
    scripted = torch.jit.script(fused_model)
    with torch.no_grad():
        assert torch.allclose(scripted(x), model(x), rtol=1e-4, atol=1e-5)


def test_fused_torch_export(fused: tuple[nn.Module, nn.Module]) -> None:
    model, fused_model = fused
    x = torch.randn(SHAPE)
    exported = torch.export.export(fused_model, (x,))
    with torch.no_grad():
        assert torch.allclose(exported.module()(x), model(x), rtol=1e-4, atol=1e-5)


def test_fused_torch_compile_fullgraph(fused: tuple[nn.Module, nn.Module]) -> None:
    model, fused_model = fused
    x = torch.randn(SHAPE)
    compiled = torch.compile(fused_model, fullgraph=True)
    with torch.no_grad():
        assert torch.allclose(compiled(x), model(x), rtol=1e-4, atol=1e-5)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the TorchScript-based exporter
def test_fused_onnx_export_runs_in_onnxruntime(
    fused: tuple[nn.Module, nn.Module], tmp_path: Path
) -> None:
    onnxruntime = pytest.importorskip("onnxruntime")
    model, fused_model = fused
    x = torch.randn(SHAPE)
    path = tmp_path / "tiny_fused.onnx"
    torch.onnx.export(fused_model, (x,), str(path), dynamo=False, input_names=["x"])
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (actual,) = session.run(None, {"x": x.numpy()})
    with torch.no_grad():
        assert torch.allclose(torch.from_numpy(actual), model(x), rtol=1e-4, atol=1e-5)
