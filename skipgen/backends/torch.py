"""Runtime backend: a lowered graph becomes a live ``torch.nn.Module``.

Every module comes from a closed table — the block classes of ``skipgen.nn`` and a fixed
list of ``torch.nn`` layers — so no spec text is ever used to look up code.
"""

from __future__ import annotations

import os
from typing import Any

import torch
from torch import Tensor, nn

from skipgen.errors import Diagnostic, SpecError
from skipgen.ir.graph import Call, Graph, format_bytes
from skipgen.nn import REGISTRY

TORCH_LAYERS: dict[str, type[nn.Module]] = {
    f"nn.{cls.__name__}": cls
    for cls in (
        nn.MaxPool1d,
        nn.MaxPool2d,
        nn.MaxPool3d,
        nn.AvgPool1d,
        nn.AvgPool2d,
        nn.AvgPool3d,
        nn.AdaptiveAvgPool1d,
        nn.AdaptiveAvgPool2d,
        nn.AdaptiveAvgPool3d,
        nn.AdaptiveMaxPool1d,
        nn.AdaptiveMaxPool2d,
        nn.AdaptiveMaxPool3d,
        nn.Conv1d,
        nn.Conv2d,
        nn.Conv3d,
        nn.BatchNorm1d,
        nn.BatchNorm2d,
        nn.BatchNorm3d,
        nn.GroupNorm,
        nn.InstanceNorm1d,
        nn.InstanceNorm2d,
        nn.InstanceNorm3d,
        nn.Identity,
        nn.ReLU,
        nn.ReLU6,
        nn.SiLU,
        nn.GELU,
        nn.Hardswish,
        nn.LeakyReLU,
        nn.Sigmoid,
    )
}


def instantiate(call: Call) -> nn.Module:
    """Build the module a call describes (nested calls first)."""
    factory: Any = REGISTRY.get(call.target) or TORCH_LAYERS.get(call.target)
    if factory is None:  # the lowering only emits known targets
        raise KeyError(f"internal error: unknown build target {call.target!r}")

    def value(v: Any) -> Any:
        return instantiate(v) if isinstance(v, Call) else v

    return factory(*(value(a) for a in call.args), **{k: value(v) for k, v in call.kwargs})


class SkipgenNetwork(nn.Module):
    """A network built from a lowered graph; ``forward`` follows its stages in order."""

    def __init__(self, graph: Graph) -> None:
        super().__init__()
        self._graph = graph
        for stage in graph.stages:
            modules = [instantiate(node.call) for node in stage.nodes]
            module = nn.Sequential(*modules) if stage.sequential else modules[0]
            self.add_module(stage.attr, module)
            skip = stage.long_skip
            if skip is not None and skip.projection is not None and skip.attr is not None:
                self.add_module(skip.attr, instantiate(skip.projection))

    def forward(self, x: Tensor) -> Tensor:
        saved: dict[str, Tensor] = {}
        for stage in self._graph.stages:
            x = self.get_submodule(stage.attr)(x)
            skip = stage.long_skip
            if skip is not None and skip.note != "dropped":
                shortcut = saved[skip.source]
                if skip.attr is not None:
                    shortcut = self.get_submodule(skip.attr)(shortcut)
                x = x + shortcut if skip.mode == "add" else torch.cat([shortcut, x], dim=1)
            if stage.save_as is not None:
                saved[stage.save_as] = x
        return x

    def extra_repr(self) -> str:
        return f"name={self._graph.name!r}"


def physical_memory() -> int | None:
    """This machine's memory in bytes, or None where the system does not say (not POSIX)."""
    try:
        pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None
    return pages * page_size if pages > 0 and page_size > 0 else None


def check_memory(graph: Graph) -> None:
    """Refuse, before allocating anything, parameters that this machine cannot hold."""
    memory = physical_memory()
    need = graph.params * torch.get_default_dtype().itemsize
    if memory is None or need <= memory:
        return
    largest = max((node for stage in graph.stages for node in stage.nodes), key=lambda n: n.params)
    message = (
        f"the network's {graph.params:,} parameters need {format_bytes(need)}, "
        f"more than this machine's {format_bytes(memory)} of memory"
    )
    hint = f"the largest block, here, has {largest.params:,}; lower channels, repeat or scaling"
    raise SpecError([Diagnostic(graph.file, largest.line, largest.col, message, hint)])


def build(graph: Graph) -> nn.Module:
    """The module for ``graph``; a :class:`SpecError` when its parameters cannot fit in memory."""
    check_memory(graph)
    return SkipgenNetwork(graph)
