"""skipgen: a declarative compiler from YAML network specs to PyTorch.

``load_spec`` validates a spec, ``build_model`` instantiates it as a ``torch.nn.Module``,
``generate_source`` writes it as standalone PyTorch source. Importing skipgen does not
import torch.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from skipgen.api import build_model, generate_source, load_spec, lower_spec
from skipgen.errors import Diagnostic, SpecError
from skipgen.transfer_report import TransferReport
from skipgen.version import __version__

if TYPE_CHECKING:
    from torch import Tensor, nn


def transfer_weights(
    model: nn.Module,
    state_dict: Mapping[str, Tensor],
    *,
    mismatched: Literal["error", "skip"] = "error",
    adapt_input: bool = False,
) -> TransferReport:
    """Copy a state_dict into ``model`` by key, else by order and shape; report what was done.

    ``mismatched="skip"`` loads what fits and leaves the rest as initialised;
    ``adapt_input=True`` adapts a first convolution with other input channels. See
    :func:`skipgen.weights.transfer_weights`. Imported lazily, so that ``import skipgen``
    does not import torch.
    """
    from skipgen.weights import transfer_weights as _transfer

    return _transfer(model, state_dict, mismatched=mismatched, adapt_input=adapt_input)


def read_weights(path: str | os.PathLike[str]) -> dict[str, Tensor]:
    """The state dict in a weights file: ``.safetensors``, or a ``torch.save`` file.

    See :func:`skipgen.checkpoints.read_weights`.
    """
    from skipgen.checkpoints import read_weights as _read

    return _read(path)


__all__ = [
    "Diagnostic",
    "SpecError",
    "TransferReport",
    "__version__",
    "build_model",
    "generate_source",
    "load_spec",
    "lower_spec",
    "read_weights",
    "transfer_weights",
]
