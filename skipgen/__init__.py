"""skipgen: a declarative compiler from YAML network specs to PyTorch.

``load_spec`` validates a spec, ``build_model`` instantiates it as a ``torch.nn.Module``,
``generate_source`` writes it as standalone PyTorch source. Importing skipgen does not
import torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from skipgen.api import build_model, generate_source, load_spec, lower_spec
from skipgen.errors import Diagnostic, SpecError

if TYPE_CHECKING:
    from torch import Tensor, nn

__version__ = "0.1.0"


def transfer_weights(model: nn.Module, state_dict: Mapping[str, Tensor]) -> nn.Module:
    """Copy a state_dict into ``model`` by key, else by order and shape (see skipgen.weights).

    Imported lazily, so that ``import skipgen`` does not import torch.
    """
    from skipgen.weights import transfer_weights as _transfer

    return _transfer(model, state_dict)


__all__ = [
    "Diagnostic",
    "SpecError",
    "__version__",
    "build_model",
    "generate_source",
    "load_spec",
    "lower_spec",
    "transfer_weights",
]
