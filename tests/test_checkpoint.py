"""`checkpoint: true` and `memory_efficient: true` change what a training step keeps for
the backward pass, and nothing else: in both backends, the outputs, the gradients of every
parameter and of the input, and the batch norms' running statistics after a step equal the
plain network's on the same weights."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import Tensor, nn
from torch.profiler import profile

import skipgen
from skipgen.nn import ConvNormAct, DenseBlock, MemoryEfficientDenseBlock, checkpointed
from tests.backends.helpers import ROOT, load_module, ruff

DENSENET = ROOT / "configs" / "densenet121.yaml"
DENSE_BLOCKS = [f"layers.0.layers.{i}.memory_efficient=true" for i in (4, 6, 8, 10)]
pytestmark = pytest.mark.filterwarnings(
    "ignore:`torch.jit.script` is deprecated:DeprecationWarning"
)

UNET3D = ROOT / "configs" / "unet3d.yaml"
# The 3D U-Net's encoder stages, its bottom and its decoder stages; each decoder stage reads
# an encoder stage's output, which its checkpoint takes as a second input.
UNET3D_STAGES = [f"layers.{i}.checkpoint=true" for i in range(7)]
STAGES = ("enc1", "enc2", "enc3", "bottom", "dec1", "dec2", "dec3")
MIXED = ROOT / "tests" / "golden" / "mixed.yaml"
# The mixed golden spec checkpoints layers inside a walked group and at the top level, and
# has a memory-efficient dense block: the plain network turns them off.
MIXED_PLAIN = [
    "layers.2.layers.1.checkpoint=false",
    "layers.3.layers.0.memory_efficient=false",
    "layers.4.checkpoint=false",
    "layers.5.checkpoint=false",
]
# Checkpoints that take more than x: a composite block's use (it reads `e1`), a sequence
# whose layers read outside outputs and one of its own (and checkpoint one of them: nested
# checkpoints), and, inside a composite block's body, a sequence that reads the block's
# input (a method of the block's class).
WALKS = """
name: Walks
input: {channels: 3, size: 16}
defaults: {norm: batch, act: relu}
blocks:
  dec:
    params: {channels: int, enc: str}
    layers:
      - type: sequence
        checkpoint: true
        layers:
          - {type: upsample, mode: nearest, skip: {mode: concat, from: "${enc}"}}
          - {type: conv, channels: "${channels}", name: conv1}
      - {type: conv, channels: "${channels}", name: conv2}
layers:
  - {type: conv, channels: 8, id: e1}
  - {type: conv, channels: 16, stride: 2, id: e2}
  - type: sequence
    checkpoint: true
    layers:
      - {type: conv, channels: 16, id: inner}
      - {type: conv, channels: 16, skip: {mode: add, from: e2}, checkpoint: true}
      - {type: conv, channels: 16, skip: {mode: concat, from: inner}}
      - {type: dropout, p: 0.3}
  - {type: dec, channels: 8, enc: e1, checkpoint: true}
  - {type: conv, channels: 16, stride: 2}
  - {type: dec, channels: 8, enc: e1}
  - {type: conv, channels: 2, kernel: 1, norm: none, act: none}
"""
WALKS_PLAIN = [
    "layers.2.checkpoint=false",
    "layers.2.layers.1.checkpoint=false",
    "layers.3.checkpoint=false",
    "blocks.dec.layers.0.checkpoint=false",
]


def _network(backend: str, spec: Path | str, changes: list[str], folder: Path) -> nn.Module:
    if backend == "runtime":
        return skipgen.build_model(skipgen.lower_spec(spec, set=changes))
    graph = skipgen.lower_spec(spec, set=changes)
    module = load_module(skipgen.generate_source(spec, set=changes), folder)
    network: nn.Module = getattr(module, graph.name)()
    return network


def _step(model: nn.Module, x: Tensor, seed: int = 0) -> tuple[Tensor, dict[str, Tensor]]:
    """One training step's output, and the gradients of the input and every parameter."""
    model.train()
    x = x.clone().requires_grad_()
    torch.manual_seed(seed)  # dropout and stochastic depth draw the same in both
    out = model(x)
    weights = torch.linspace(-1.0, 1.0, out.numel(), dtype=out.dtype).reshape(out.shape)
    (out * weights).sum().backward()
    assert x.grad is not None
    grads = {"input": x.grad}
    grads.update({name: p.grad for name, p in model.named_parameters() if p.grad is not None})
    assert len(grads) == 1 + len(list(model.parameters()))
    return out.detach(), grads


def _assert_same_step(
    spec: Path, changes: list[str], plain_changes: list[str], x: Tensor, backend: str, tmp: Path
) -> nn.Module:
    torch.manual_seed(1)
    plain = skipgen.build_model(skipgen.lower_spec(spec, set=plain_changes)).double()
    saving = _network(backend, spec, changes, tmp).double()
    saving.load_state_dict(plain.state_dict())
    out, grads = _step(plain, x)
    saving_out, saving_grads = _step(saving, x)
    torch.testing.assert_close(saving_out, out, rtol=1e-12, atol=1e-12)
    assert saving_grads.keys() == grads.keys()
    for name, grad in grads.items():
        torch.testing.assert_close(saving_grads[name], grad, rtol=1e-9, atol=1e-12, msg=name)
    # Recomputation updates scratch buffers: the running statistics moved once, as plain.
    buffers = dict(saving.named_buffers())
    assert buffers.keys() == dict(plain.named_buffers()).keys()
    for name, buffer in plain.named_buffers():
        torch.testing.assert_close(buffers[name], buffer, rtol=1e-12, atol=1e-12, msg=name)
        if name.endswith("num_batches_tracked"):
            assert buffer.item() == 1
    return saving


@pytest.mark.parametrize("backend", ["runtime", "emitted"])
def test_memory_efficient_densenet121_trains_as_the_plain_one(backend: str, tmp_path: Path):
    x = torch.randn(2, 3, 32, 32, dtype=torch.float64)
    size = ["input.size=32"]
    saving = _assert_same_step(DENSENET, DENSE_BLOCKS + size, size, x, backend, tmp_path)
    kinds = [type(m).__name__ for m in saving.modules()]
    assert kinds.count("MemoryEfficientDenseBlock") == 4
    assert kinds.count("BatchNorm2d") == 2 + 2 * (6 + 12 + 24 + 16) + 3
    assert "DenseBlock" not in kinds


@pytest.mark.parametrize("backend", ["runtime", "emitted"])
def test_checkpointed_unet3d_trains_as_the_plain_one(backend: str, tmp_path: Path):
    x = torch.randn(2, 1, 8, 8, 8, dtype=torch.float64)
    saving = _assert_same_step(UNET3D, UNET3D_STAGES, [], x, backend, tmp_path)
    assert sum(isinstance(m, nn.BatchNorm3d) for m in saving.modules()) == 2 * 7  # convs
    # Each checkpointed stage runs twice in a step (again in the backward pass), the others
    # once; in evaluation, or without gradients, every stage runs once.
    runs = _forward_runs(saving, x)
    assert runs == {name: 2 if name in STAGES else 1 for name in runs}
    with torch.no_grad():
        assert set(_forward_runs(saving, x, backward=False).values()) == {1}
    assert set(_forward_runs(saving.eval(), x).values()) == {1}


@pytest.mark.parametrize("backend", ["runtime", "emitted"])
def test_mixed_checkpoints_inside_groups_with_random_layers(backend: str, tmp_path: Path):
    """Dropout and stochastic depth draw the same masks when recomputed."""
    x = torch.randn(2, 4, 32, 32, dtype=torch.float64)
    _assert_same_step(MIXED, [], MIXED_PLAIN, x, backend, tmp_path)


@pytest.mark.parametrize("backend", ["runtime", "emitted"])
def test_checkpoints_that_take_saved_outputs_train_as_the_plain_one(backend: str, tmp_path: Path):
    spec = tmp_path / "walks.yaml"
    spec.write_text(WALKS, encoding="utf-8")
    x = torch.randn(2, 3, 16, 16, dtype=torch.float64)
    saving = _assert_same_step(spec, [], WALKS_PLAIN, x, backend, tmp_path)
    runs = _forward_runs(saving, x)
    assert runs == {"group1": 2, "dec1": 2} | {
        n: 1 for n in ("conv1", "conv2", "conv3", "dec2", "conv4")
    }
    if backend == "emitted":
        source = skipgen.generate_source(spec)
        assert "checkpointed(self.group1, x, e2, run=self._run_group1)" in source
        assert "checkpointed(self.dec1, x, e1, run=self.dec1)" in source
        # the block's class checkpoints its sequence through a method of its own
        assert "checkpointed(self.group1, x, enc, run=self._run_group1)" in source


def _forward_runs(model: nn.Module, x: Tensor, backward: bool = True) -> dict[str, int]:
    """How many times each top-level module began its forward in one step (a recomputation
    stops once it has what the backward pass needs: it may not end); a group that the
    network runs layer by layer (an ``nn.ModuleDict``) counts its first layer's runs."""
    runs: dict[str, int] = {}
    hooks = []
    for name, module in model.named_children():
        runs[name] = 0
        child = next(iter(module.values())) if isinstance(module, nn.ModuleDict) else module

        def count(*_: object, name: str = name) -> None:
            runs[name] += 1

        hooks.append(child.register_forward_pre_hook(count))
    out = model(x.clone().requires_grad_(backward))
    if backward and out.requires_grad:
        out.sum().backward()
    for hook in hooks:
        hook.remove()
    return runs


def _backward_kernels(model: nn.Module, *inputs: Tensor, checkpoint: bool = False) -> list[str]:
    """The operators that the backward pass of one training step runs."""
    model.train()
    out = checkpointed(model, *inputs) if checkpoint else model(torch.cat(inputs, 1))
    with profile() as prof:
        out.sum().backward()
    return [event.name for event in prof.events()]


def test_memory_efficient_recomputes_norms_but_not_convolutions():
    """Unlike torchvision's memory_efficient, the 1x1 convolution is not run again: only
    the concatenation, norms and activations are (convolution kernels are ``_convolution``;
    ``convolution`` itself is the call that the kept output answers)."""
    x = torch.randn(2, 4, 8, 8, requires_grad=True)
    plain = _backward_kernels(DenseBlock(4, 3, 2), x)
    saving = _backward_kernels(MemoryEfficientDenseBlock(4, 3, 2), x)
    assert "aten::native_batch_norm" not in plain
    assert "aten::native_batch_norm" in saving and "aten::cat" in saving
    assert "aten::_convolution" not in saving
    assert saving.count("aten::convolution_backward") == plain.count("aten::convolution_backward")
    # Plain checkpointing recomputes everything, the convolution too.
    conv = _backward_kernels(ConvNormAct(4, 4), x, checkpoint=True)
    assert conv.count("aten::_convolution") == 1


def test_checkpointed_runs_plainly_when_not_training():
    block = ConvNormAct(4, 4).eval()
    x = torch.randn(2, 4, 8, 8)
    torch.testing.assert_close(checkpointed(block, x), block(x), rtol=0, atol=0)
    pair = [torch.randn(2, 2, 8, 8), torch.randn(2, 2, 8, 8)]
    torch.testing.assert_close(checkpointed(block, *pair), block(torch.cat(pair, 1)))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the TorchScript-based exporter
def test_emitted_checkpointed_network_scripts_and_exports(tmp_path: Path):
    """TorchScript compiles only the plain call (``is_scripting()`` selects it), and
    ``torch.export`` and ONNX trace the evaluation path, which does not checkpoint."""
    onnxruntime = pytest.importorskip("onnxruntime")
    model = _network("emitted", UNET3D, UNET3D_STAGES, tmp_path).eval()
    source = skipgen.generate_source(UNET3D, set=UNET3D_STAGES)
    assert "x = self.enc1(x) if is_scripting() else checkpointed(self.enc1, x)" in source
    x = torch.randn(1, 1, 8, 8, 8)
    with torch.no_grad():
        expected = model(x)
        torch.testing.assert_close(torch.jit.script(model)(x), expected)
        exported = torch.export.export(model, (x,))
        torch.testing.assert_close(exported.module()(x), expected)
    torch.onnx.export(model, (x,), str(tmp_path / "unet3d.onnx"), dynamo=False, input_names=["x"])
    session = onnxruntime.InferenceSession(
        str(tmp_path / "unet3d.onnx"), providers=["CPUExecutionProvider"]
    )
    (actual,) = session.run(None, {"x": x.numpy()})
    torch.testing.assert_close(torch.from_numpy(actual), expected, rtol=1e-4, atol=1e-5)


def test_the_readme_shows_the_emitted_lines():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    source = skipgen.generate_source(UNET3D, set=UNET3D_STAGES)
    line = "        x = self.enc1(x) if is_scripting() else checkpointed(self.enc1, x)\n"
    assert line in readme and line in source
    stage = "\n".join(
        [
            "        x = (",
            "            self._run_dec3(x, enc1)",
            "            if is_scripting()",
            "            else checkpointed(self.dec3, x, enc1, run=self._run_dec3)",
            "        )\n",
        ]
    )
    assert stage in readme and stage in source


def test_a_checkpointed_sequence_with_long_names_is_laid_out_as_ruff_lays_it_out():
    """The call through checkpointed splits at its brackets, the method's signature one
    parameter a line, its docstring wraps: every line fits in 88 columns."""
    encoder = "an_encoder_output_with_a_name_long_enough_to_split_lines"
    stage = "a_decoder_stage_whose_name_is_longer_than_most"
    spec = f"""
name: Long
input: {{channels: 3, size: 16}}
layers:
  - {{type: conv, channels: 8, name: {encoder}}}
  - type: sequence
    name: {stage}
    checkpoint: true
    layers:
      - {{type: conv, channels: 8, skip: {{mode: concat, from: {encoder}}}}}
"""
    source = skipgen.generate_source(spec)
    assert f"run=self._run_{stage},\n" in source
    assert max(len(line) for line in source.splitlines()) <= 88
    stdin = ("--stdin-filename", "net.py", "-")
    assert ruff("format", "--check", *stdin, stdin=source).returncode == 0
