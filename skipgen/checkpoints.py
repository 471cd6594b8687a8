"""Reading and writing weights files: ``torch.save`` files and ``.safetensors``.

The format is chosen by the file's extension: ``.safetensors`` is read and written with
the ``safetensors`` package (an optional extra: ``pip install 'skipgen[safetensors]'``),
any other name with ``torch.load(weights_only=True)`` and ``torch.save``. torch and
safetensors are imported only when a file is read or written.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from skipgen.output import replace_atomic
from skipgen.version import __version__

if TYPE_CHECKING:
    from torch import Tensor

SAFETENSORS = ".safetensors"
CONTAINER_KEYS = ("state_dict", "model")
DDP_PREFIX = "module."
# The key under which a weights file's metadata records that skipgen wrote it: in a
# torch.save file, the state dict's root ``_metadata`` (``load_state_dict`` reads only
# "version" from it, so the mark is harmless); in a safetensors file, its ``__metadata__``.
MARK = "skipgen"
INSTALL = "pip install 'skipgen[safetensors]'"
HEADER_LIMIT = 100 * 2**20  # safetensors' own limit on the JSON header


def is_safetensors(path: Path) -> bool:
    return path.suffix.lower() == SAFETENSORS


def require_format(path: Path, doing: str) -> None:
    """Raise ``ValueError`` when ``path``'s format needs a package that is not installed."""
    if is_safetensors(path):
        _safetensors_torch(path, doing)


def _safetensors_torch(path: Path, doing: str) -> Any:
    try:
        import safetensors.torch
    except ImportError:
        raise ValueError(
            f"cannot {doing} {path}: .safetensors files need the safetensors package; "
            f"install it with `{INSTALL}`, or use a torch.save file (.pt, .pth)"
        ) from None
    return safetensors.torch


def _check_file(path: Path) -> None:
    """Refuse what cannot be loaded, before opening anything (a FIFO would block)."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"cannot read {path}: not a regular file")
    if info.st_size == 0:
        raise ValueError(f"cannot load {path}: the file is empty (0 bytes)")


def _load_torch(path: Path) -> Any:
    import torch

    try:
        return torch.load(path, weights_only=True, map_location="cpu")
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL (\S+)", str(exc))
        if found:
            raise ValueError(
                f"refusing to load {path}: it holds a pickled Python object "
                f"({found.group(1)}); only tensors and plain containers are loaded, "
                "never objects that could run code"
            ) from None
        raise ValueError(
            f"cannot load {path}: not a weights file saved by torch.save, or it holds "
            "pickled Python objects, which are never loaded"
        ) from None
    except Exception as exc:  # a damaged archive and the like
        raise ValueError(f"cannot load {path}: {exc}") from None


def _load_safetensors(path: Path) -> Any:
    library = _safetensors_torch(path, "read")
    try:
        return library.load_file(path, device="cpu")
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    except Exception as exc:  # SafetensorError: a damaged file, or not safetensors at all
        raise ValueError(f"cannot load {path}: not a valid safetensors file ({exc})") from None


def state_dict_in(data: Any, path: Path | str) -> dict[str, Tensor]:
    """The state dict in what a weights file held.

    ``data`` itself, or the one under ``"state_dict"`` or ``"model"``; keys all prefixed
    with ``"module."`` (a model saved from DistributedDataParallel) lose the prefix.
    """
    import torch

    def is_state_dict(value: Any) -> bool:
        return isinstance(value, dict) and all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in value.items()
        )

    found = data if is_state_dict(data) else None
    if found is None and isinstance(data, dict):
        found = next((data[k] for k in CONTAINER_KEYS if is_state_dict(data.get(k))), None)
    if found is None:
        raise ValueError(
            f"{path} holds no state dict: expected a mapping of names to tensors, or a "
            f"checkpoint with one under {' or '.join(map(repr, CONTAINER_KEYS))}"
        )
    if not found:
        raise ValueError(f"cannot load {path}: it holds no tensors (an empty state dict)")
    if all(key.startswith(DDP_PREFIX) for key in found):
        found = {key.removeprefix(DDP_PREFIX): value for key, value in found.items()}
    return found


def read_weights(path: str | os.PathLike[str]) -> dict[str, Tensor]:
    """The state dict in a weights file, loaded without running any code.

    ``.safetensors`` files are read with safetensors, any other with
    ``torch.load(weights_only=True)`` (a file holding pickled Python objects is refused).
    See :func:`state_dict_in` for where the state dict may stand. Raises ``ValueError``
    with a message that names the file.
    """
    path = Path(path)
    _check_file(path)
    data = _load_safetensors(path) if is_safetensors(path) else _load_torch(path)
    return state_dict_in(data, path)


def _safetensors_metadata(path: Path) -> dict[str, Any] | None:
    """The ``__metadata__`` of a safetensors file (read without the package), or None."""
    try:
        with open(path, "rb") as file:
            size = int.from_bytes(file.read(8), "little")
            if not 2 <= size <= HEADER_LIMIT or size > os.fstat(file.fileno()).st_size - 8:
                return None
            header = json.loads(file.read(size))
    except (OSError, ValueError):
        return None
    if not isinstance(header, dict):
        return None
    metadata = header.get("__metadata__", {})
    return metadata if isinstance(metadata, dict) else None


def is_weights_file(path: Path) -> bool:
    """True when ``path`` holds weights that ``skipgen weights`` saved (see MARK)."""
    metadata = _safetensors_metadata(path)
    if metadata is not None:
        return MARK in metadata
    import torch

    try:  # mmap: the tensors are not read
        data = torch.load(path, weights_only=True, map_location="cpu", mmap=True)
    except Exception:  # not a weights file at all
        return False
    root = getattr(data, "_metadata", {}).get("", {})
    return isinstance(root, dict) and MARK in root


def _unshared(state: dict[str, Tensor]) -> dict[str, Tensor]:
    """Contiguous tensors, each with storage of its own (safetensors refuses sharing)."""
    seen: set[int] = set()
    out = {}
    for key, value in state.items():
        tensor = value.detach().contiguous()
        pointer = tensor.untyped_storage().data_ptr()
        if pointer in seen and tensor.numel():
            tensor = tensor.clone()
        seen.add(pointer)
        out[key] = tensor
    return out


def write_weights(state: dict[str, Tensor], output: Path) -> None:
    """Save ``state`` to ``output`` atomically, marked as skipgen's own (see MARK).

    ``.safetensors``: with safetensors (the mark in its metadata); any other name:
    ``torch.save`` (the mark in the state dict's ``_metadata``, which
    ``torch.load(weights_only=True)`` restores and ``load_state_dict`` ignores). See
    :func:`skipgen.output.replace_atomic`; check ``output`` with
    :func:`skipgen.output.output_target` first.
    """
    if is_safetensors(output):
        library = _safetensors_torch(output, "write")
        data = library.save(_unshared(state), metadata={MARK: __version__})
        replace_atomic(output, lambda file: file.write(data))
        return
    import torch

    metadata = getattr(state, "_metadata", None)
    if metadata is not None:
        metadata[""] = {**metadata.get("", {}), MARK: __version__}
    replace_atomic(output, lambda file: torch.save(state, file))
