"""Runtime backend: a lowered graph becomes a live ``torch.nn.Module``.

Every module comes from a closed table — the nn blocks the kinds name (skipgen's, and those
of the plugins a spec named) and the fixed list of ``torch.nn`` layers the lowering may
call — so no spec text is ever used to look up code.
"""

from __future__ import annotations

import importlib
from collections import OrderedDict
from functools import cache, partial
from typing import Any

import torch
from torch import Tensor, nn

from skipgen.errors import SpecError
from skipgen.ir.common import TORCH_LAYERS
from skipgen.ir.containers import Alias, Container, Item, registered
from skipgen.ir.fusion import block_conv_norms, network_conv_norms
from skipgen.ir.graph import (
    INPUT_LOCAL,
    Call,
    Graph,
    Group,
    Member,
    Partial,
    format_bytes,
    outside_reads,
)
from skipgen.ir.memory import physical_memory
from skipgen.kinds.registry import NN_BLOCKS
from skipgen.library.plugins import loaded_blocks
from skipgen.nn.checkpoint import checkpointed
from skipgen.nn.fuse import fuse_for_inference


def factory(target: str) -> Any:
    """The class or function a call names: an nn block of a kind or a listed torch.nn layer."""
    if target in TORCH_LAYERS:
        return getattr(nn, target.removeprefix("nn."))
    ref = NN_BLOCKS.get(target) or loaded_blocks()[target][1]  # a KeyError: an internal error
    return _imported(ref)


@cache
def _imported(ref: str) -> Any:
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


def check_plugin_blocks(graph: Graph) -> None:
    """Import the plugins' blocks the graph calls; a failure is an error at the layer."""
    blocks = loaded_blocks()
    diagnostics = []
    for node in graph.nodes():
        if node.call.target not in blocks:
            continue
        plugin, ref = blocks[node.call.target]
        try:
            _imported(ref)
        except Exception as exc:  # foreign code: any failure is the plugin's
            message = f"plugin {plugin!r}: cannot import {ref!r}: {type(exc).__name__}: {exc}"
            hint = "reinstall the package that provides it"
            diagnostics.append(node.diagnostic(graph.file, message, hint))
    if diagnostics:
        raise SpecError(diagnostics)


def instantiate(call: Call) -> nn.Module:
    """Build the module a call describes (nested calls first); a layer class passed as a
    value is the class itself, or a ``functools.partial`` of it that binds its arguments."""
    make = factory(call.target)

    def value(v: Any) -> Any:
        if isinstance(v, Call):
            return instantiate(v)
        if isinstance(v, Partial):
            layer = factory(v.target)
            return partial(layer, *v.args, **dict(v.kwargs)) if v.args or v.kwargs else layer
        return v

    return make(*(value(a) for a in call.args), **{k: value(v) for k, v in call.kwargs})


def _modules(
    members: tuple[Member, ...], order: tuple[str, ...] = ()
) -> OrderedDict[str, nn.Module]:
    """The modules of a list of members by key, each long skip's projection after its layer."""
    modules: OrderedDict[str, nn.Module] = OrderedDict()
    for key, item in registered(members, order):
        # a second key holds the very module of the first (an alias)
        modules[key] = modules[item.member.attr] if isinstance(item, Alias) else _item(item)
    return modules


def _item(item: Item) -> nn.Module:
    assert not isinstance(item, Alias)  # the module of another key: see _modules
    if isinstance(item, Call):
        return instantiate(item)
    if not isinstance(item, Container):
        return _module(item)
    if item.listed:
        return nn.ModuleList(_item(inner) for _, inner in item.items)
    return nn.ModuleDict(OrderedDict((key, _item(inner)) for key, inner in item.items))


def _module(member: Member) -> nn.Module:
    if isinstance(member, Group) and member.block is not None:
        return CompositeBlock(member)
    if isinstance(member, Group):
        modules = _modules(member.members, member.order)
        return nn.ModuleDict(modules) if member.walked else nn.Sequential(modules)
    blocks = [instantiate(node.call) for node in member.nodes]
    return nn.Sequential(*blocks) if member.sequential else blocks[0]


def run(
    holder: nn.Module, members: tuple[Member, ...], x: Tensor, saved: dict[str, Tensor]
) -> Tensor:
    """Run ``members``, the modules ``holder`` holds, combining and saving for long skips."""
    for member in members:
        skip = member.long_skip
        if member.reads and not member.merges:
            x = saved[member.reads[0][0]]
        x = _apply(holder, member, x, saved)
        if skip is not None and skip.note != "dropped":
            shortcut = saved[skip.source]
            if skip.attr is not None:
                shortcut = holder.get_submodule(skip.attr)(shortcut)
            if skip.mode == "add":
                x = x + shortcut
            elif skip.mode == "mul":
                x = x * shortcut
            else:
                pair = [shortcut, x] if skip.shortcut_first else [x, shortcut]
                x = torch.cat(pair, dim=1)
        if member.save_as is not None:
            saved[member.save_as] = x
    return x


def _apply(holder: nn.Module, member: Member, x: Tensor, saved: dict[str, Tensor]) -> Tensor:
    """What ``member`` makes of ``x`` (and the saved outputs it reads), before its long skip."""
    if member.scales:  # a parameter of the holder, not a module
        return x * getattr(holder, member.attr)
    module = holder.get_submodule(member.attr)
    skip = member.long_skip
    if member.merges:
        return module([saved[name] for name, _ in member.reads])
    if isinstance(member, Group) and member.walked and member.checkpoint:
        reads = outside_reads(member.members)
        walk = partial(_walk, module, member.members, reads)
        return checkpointed(module, x, *(saved[name] for name in reads), run=walk)
    if isinstance(member, Group) and member.walked:
        return run(module, member.members, x, saved)
    if isinstance(member, Group) and member.block is not None:
        inputs = [saved[name] for name in member.block.inputs]
        if member.checkpoint:
            return checkpointed(module, x, *inputs, run=module)
        return module(x, *inputs)
    if skip is not None and skip.resizes:
        return module(x, saved[skip.source])
    if member.checkpoint:
        return checkpointed(module, x)
    return module(x)


def _walk(
    holder: nn.Module,
    members: tuple[Member, ...],
    reads: dict[str, int],
    x: Tensor,
    *inputs: Tensor,
) -> Tensor:
    """Run a walked group on ``x`` and the saved outputs it reads (in one checkpoint)."""
    return run(holder, members, x, dict(zip(reads, inputs, strict=True)))


class CompositeBlock(nn.Module):
    """An instance of a composite block of the spec: its body's layers under their keys,
    then its own skip (the input, or its projection held as ``shortcut``). ``forward``
    takes the saved outputs its body reads after ``x``, as the emitted class does."""

    def __init__(self, group: Group) -> None:
        super().__init__()
        assert group.block is not None
        self._group = group
        self._block = group.block
        for key, module in _modules(group.members, group.order).items():
            setattr(self, key, module)  # a module, or a parameter (a layer scale)
        if group.block.projection is not None:
            self.add_module("shortcut", instantiate(group.block.projection))
        # The convolutions its body holds and the norms they feed, for fuse().
        self.conv_norm_pairs = block_conv_norms(group)

    def forward(self, x: Tensor, *inputs: Tensor) -> Tensor:
        saved = dict(zip(self._block.inputs, inputs, strict=True))
        saved[INPUT_LOCAL] = x
        out = run(self, self._group.members, x, saved)
        if self._block.skip == "none":
            return out
        identity = self.get_submodule("shortcut")(x) if self._block.projection else x
        if self._block.skip == "add":
            return out + identity
        return torch.cat([identity, out], dim=1)

    def extra_repr(self) -> str:
        return f"block={self._block.name!r}"


class SkipgenNetwork(nn.Module):
    """A network built from a lowered graph; ``forward`` follows its stages in order, then
    its heads, and returns its outputs (a list when `outputs` names several).

    ``feature_info`` describes the outputs that `outputs` names, as timm's backbones do:
    ``num_chs``, ``reduction`` (input size / output size) and ``module``.
    """

    def __init__(self, graph: Graph) -> None:
        super().__init__()
        self._graph = graph
        for key, module in _modules(graph.stages, graph.order).items():
            setattr(self, key, module)  # a module, or a parameter (a layer scale)
        for head in graph.heads:
            self.add_module(head.group.attr, _module(head.group))
        self.feature_info = [output.feature_info() for output in graph.outputs]
        # The convolutions the network holds itself and the norms they feed, for fuse().
        self.conv_norm_pairs = network_conv_norms(graph)

    def forward(self, x: Tensor) -> Tensor | list[Tensor] | dict[str, Tensor]:
        saved: dict[str, Tensor] = {INPUT_LOCAL: x}
        x = run(self, self._graph.stages, x, saved)
        for head in self._graph.heads:
            saved[head.group.attr] = self.get_submodule(head.group.attr)(saved[head.source])
        outputs = [saved[output.local] for output in self._graph.outputs]
        if self._graph.keyed_outputs:
            return {o.name: saved[o.local] for o in self._graph.outputs}
        if not outputs:
            return x
        return outputs[0] if len(outputs) == 1 else outputs

    def fuse(self) -> SkipgenNetwork:
        """Fold each batch norm into the convolution that feeds it, for inference, in place
        (see :func:`skipgen.nn.fuse.fuse_for_inference`); call ``eval()`` first. Returns
        the network."""
        fuse_for_inference(self)
        return self

    def extra_repr(self) -> str:
        return f"name={self._graph.name!r}"


def check_memory(graph: Graph) -> None:
    """Refuse, before allocating anything, parameters that this machine cannot hold."""
    memory = physical_memory()
    need = graph.params * torch.get_default_dtype().itemsize
    if memory is None or need <= memory:
        return
    largest = max(graph.nodes(), key=lambda n: n.params)
    message = (
        f"the network's {graph.params:,} parameters need {format_bytes(need)}, "
        f"more than this machine's {format_bytes(memory)} of memory"
    )
    hint = f"the largest block, here, has {largest.params:,}; lower channels, repeat or scaling"
    raise SpecError([largest.diagnostic(graph.file, message, hint)])


def build(graph: Graph) -> nn.Module:
    """The module for ``graph``; a :class:`SpecError` when its parameters cannot fit in memory."""
    check_memory(graph)
    check_plugin_blocks(graph)
    return SkipgenNetwork(graph)
