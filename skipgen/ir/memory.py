"""The memory one sample's activations need, against the memory this machine has.

A network's activations are every block's output, in float32: the figure `summary` prints,
and the one that `validate` warns about and `build_model` refuses when a single sample at
the spec's input size needs more than the machine's physical memory (before torch
allocates anything). Nothing here imports torch.
"""

from __future__ import annotations

import os
from math import prod

from skipgen.errors import Diagnostic
from skipgen.ir.graph import FLOAT32_BYTES, Graph, Node, format_bytes


def physical_memory() -> int | None:
    """This machine's memory in bytes, or None where the system does not say (not POSIX)."""
    try:
        pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None
    return pages * page_size if pages > 0 and page_size > 0 else None


def output_elements(node: Node) -> int | None:
    """The values of one sample's output of a block; None when its size is not known."""
    if node.flat:
        return node.out_channels
    if node.out_size is None:
        return None
    return node.out_channels * prod(node.out_size)


def activation_bytes(graph: Graph) -> int | None:
    """One sample's activations (every block's output, float32); None without a size."""
    elements = [output_elements(node) for node in graph.nodes()]
    if any(n is None for n in elements):
        return None
    return sum(n or 0 for n in elements) * FLOAT32_BYTES


def activations_too_large(graph: Graph) -> Diagnostic | None:
    """A diagnostic at the block with the largest output when one sample's activations
    need more than this machine's memory; None when they fit or cannot be told."""
    need = activation_bytes(graph)
    memory = physical_memory()
    if need is None or memory is None or need <= memory:
        return None
    largest = max(graph.nodes(), key=lambda node: output_elements(node) or 0)
    shape = ", ".join(map(str, (largest.out_channels, *(largest.out_size or ()))))
    size = format_bytes((output_elements(largest) or 0) * FLOAT32_BYTES)
    message = (
        f"one sample's activations (every block's output, float32) need {format_bytes(need)} "
        f"at the input size given, more than this machine's {format_bytes(memory)} of memory"
    )
    hint = (
        f"the largest output, here, is ({shape}): {size}; lower input.size, the channels "
        "or the upsampling"
    )
    return largest.diagnostic(graph.file, message, hint)
