"""Activation checkpointing: a module's activations recomputed in the backward pass.

``torch.utils.checkpoint`` alone runs a module's forward twice per training step, so a
batch norm inside updates its running statistics twice. :func:`checkpointed` runs the
second pass on scratch copies of the module's buffers, so that a checkpointed network
keeps exactly the statistics (and gradients) of the plain one.
"""

from collections.abc import Callable
from functools import partial
from typing import Any

import torch
import torch.utils.checkpoint as cp
from torch import Tensor, nn


class Recompute:
    """``run`` on its inputs (by default ``module`` on them, concatenated along channels
    when there are several), as ``checkpoint`` calls it: once in the forward pass, then
    again in the backward pass. ``run`` uses only ``module``'s submodules.

    The second run updates scratch copies of the module's buffers, not the buffers. Both
    runs copy them, as selective checkpointing wants the same operations in both.
    """

    def __init__(
        self,
        module: nn.Module,
        run: Callable[..., Tensor] | None = None,
    ) -> None:
        self.module = module
        self.run = run
        self.runs = 0

    def forward(self, *inputs: Tensor) -> Tensor:
        """One run, without checkpointing."""
        if self.run is not None:
            return self.run(*inputs)
        x = inputs[0] if len(inputs) == 1 else torch.cat(inputs, 1)
        out: Tensor = self.module(x)
        return out

    def __call__(self, *inputs: Tensor) -> Tensor:
        self.runs += 1
        held = [
            (owner, name, buffer)
            for owner in self.module.modules()
            for name, buffer in owner.named_buffers(recurse=False)
        ]
        scratch = [buffer.clone() for _, _, buffer in held]
        if self.runs == 1:
            return self.forward(*inputs)
        for (owner, name, _), spare in zip(held, scratch, strict=True):
            setattr(owner, name, spare)
        try:
            out = self.forward(*inputs)
        finally:  # also when checkpoint stops the run once it has what it needs
            for owner, name, buffer in held:
                setattr(owner, name, buffer)
        return out


def keep_convolutions(
    ctx: Any,
    op: Any,
    *args: Any,
    **kwargs: Any,
) -> "cp.CheckpointPolicy":  # quoted: the file imports with torch before 2.4 too
    """Keep what convolutions compute (costly to redo) and recompute the rest:
    concatenations, norms and activations cost little to redo and are wide to store
    (selective checkpointing: torch 2.4 and later)."""
    if op == torch.ops.aten.convolution.default:
        return cp.CheckpointPolicy.MUST_SAVE
    return cp.CheckpointPolicy.PREFER_RECOMPUTE


def checkpointed(
    module: nn.Module,
    *inputs: Tensor,
    run: Callable[..., Tensor] | None = None,
    keep_convs: bool = False,
) -> Tensor:
    """``run(*inputs)``, by default ``module(x)`` with ``x`` the input (or the inputs
    concatenated along channels), keeping none of the module's activations for the
    backward pass, which recomputes them (``torch.utils.checkpoint``, non-reentrant);
    with ``keep_convs``, the outputs of its convolutions are kept and only the rest is
    recomputed. ``run`` may take more than one input and use only ``module``'s
    submodules.

    Only while the module trains with gradients enabled; otherwise it simply runs.
    """
    recompute = Recompute(module, run)
    if not (module.training and torch.is_grad_enabled()):
        return recompute.forward(*inputs)
    # Selective checkpointing came with torch 2.4; before it, everything is recomputed.
    if keep_convs and hasattr(cp, "create_selective_checkpoint_contexts"):
        policy = partial(cp.create_selective_checkpoint_contexts, keep_convolutions)
        kept: Tensor = cp.checkpoint(
            recompute,
            *inputs,
            use_reentrant=False,
            context_fn=policy,
        )
        return kept
    out: Tensor = cp.checkpoint(recompute, *inputs, use_reentrant=False)
    return out
