"""``skipgen weights``: load pretrained weights into a spec's model and save its state_dict.

torch is imported only when the command runs, so the CLI starts without it.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from skipgen import __version__
from skipgen.api import build_model, lower_spec
from skipgen.commands.common import count, fail, report
from skipgen.errors import SpecError
from skipgen.output import OutputRefused, file_argument, output_target, replace_atomic

if TYPE_CHECKING:
    from torch import Tensor

    from skipgen.weights import Transfer

CONTAINER_KEYS = ("state_dict", "model")
# The key under which a saved state dict's root metadata records that skipgen wrote it.
# ``load_state_dict`` reads only "version" from that metadata, so the mark is harmless.
MARK = "skipgen"


def _check_file(path: Path) -> None:
    """Refuse what torch.load cannot read, before it opens anything (a FIFO would block)."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"cannot read {path}: not a regular file")
    if info.st_size == 0:
        raise ValueError(f"cannot load {path}: the file is empty (0 bytes)")


def _load(path: Path) -> Any:
    import pickle

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


def _state_dict_in(data: Any, path: Path) -> dict[str, Tensor]:
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
    return found


def read_weights(path: Path) -> dict[str, Tensor]:
    """The state dict in a file saved by ``torch.save``, loaded without running any code.

    Accepts a plain state dict, or a checkpoint dict holding one under ``"state_dict"`` or
    ``"model"``. Raises ``ValueError`` with a message that names the file.
    """
    _check_file(path)
    return _state_dict_in(_load(path), path)


def is_weights_file(path: Path) -> bool:
    """True when ``path`` holds a state dict that ``skipgen weights`` saved (see MARK)."""
    import torch

    try:  # mmap: the tensors are not read
        data = torch.load(path, weights_only=True, map_location="cpu", mmap=True)
    except Exception:  # not a weights file at all
        return False
    root = getattr(data, "_metadata", {}).get("", {})
    return isinstance(root, dict) and MARK in root


def save_atomically(state: dict[str, Tensor], output: Path) -> None:
    """``torch.save`` to ``output`` atomically, marked as skipgen's own (see MARK).

    See :func:`skipgen.output.replace_atomic`. The mark lives in the state dict's
    ``_metadata``, which ``torch.load(weights_only=True)`` restores and
    ``load_state_dict`` ignores.
    """
    import torch

    metadata = getattr(state, "_metadata", None)
    if metadata is not None:
        metadata[""] = {**metadata.get("", {}), MARK: __version__}
    replace_atomic(output, lambda file: torch.save(state, file))


def _output(output: str, force: bool, inputs: list[Path]) -> Path:
    try:
        target = output_target(
            file_argument(output), force=force, is_ours=is_weights_file, inputs=inputs
        )
    except OutputRefused as refusal:
        fail(str(refusal))
    if not target.parent.is_dir():
        fail(f"cannot write {output}: the folder {target.parent} does not exist")
    return target


def weights(
    spec: Annotated[Path, typer.Argument(metavar="SPEC", help="Spec file (YAML).", dir_okay=False)],
    weights_file: Annotated[
        Path,
        typer.Argument(
            metavar="WEIGHTS",
            help="Weights saved by torch.save: a state_dict, or a checkpoint dict with one "
            "under 'state_dict' or 'model'.",
            dir_okay=False,
        ),
    ],
    output: Annotated[
        str,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Where to save the model's state_dict (torch.save). A symbolic link is "
            "written through (the file it points to is replaced, the link kept).",
        ),
    ],
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Overwrite the -o file even if skipgen did not write it (never SPEC, "
            "WEIGHTS, a folder, a FIFO or a device).",
        ),
    ] = False,
) -> None:
    """Load pretrained weights into a spec's model and save the model's state_dict.

    Tensors whose keys are the model's own names are matched by key, wherever they stand.
    The rest are paired by order and shape: a torchvision checkpoint fits the matching
    config even where the names differ (torchvision's features.0.0.weight is the
    MobileNetV2 config's stem.0.weight). Pairing by order is refused as ambiguous when the
    file is visibly not in the model's order: the tensors matched by key come in another
    order, a pair joins different leaf names (weight with bias), or numbered modules come
    out of order (features.10 before features.2), as in a file whose keys were sorted.
    Every tensor must fit, or nothing is written and the first tensor that does not fit
    is named.

    The weights file is read with torch.load(weights_only=True): a file holding any other
    pickled Python object is refused, never run. The output is written to a temporary file
    in the same folder and renamed into place. Only a regular file is written, and an
    existing one only if skipgen saved it (its state_dict metadata says so) or --force is
    given.

    \b
    Example:
      skipgen weights configs/resnet50.yaml resnet50_imagenet.pth -o resnet50.pt
    and then, in Python:
      model = skipgen.build_model("configs/resnet50.yaml")
      model.load_state_dict(torch.load("resnet50.pt", weights_only=True))

    Exit codes: 0 written; 1 an invalid spec, an unreadable or refused weights file,
    weights that do not fit, or a refused or failed write; 2 usage errors.
    """
    try:
        graph = lower_spec(spec)
    except SpecError as error:
        report(error)
        raise typer.Exit(1) from None
    target = _output(output, force, inputs=[spec, weights_file])

    from skipgen.weights import WeightsMismatchError, match_weights

    try:
        state_dict = read_weights(weights_file)
    except ValueError as exc:
        fail(str(exc))
    model = build_model(graph)
    try:
        plan = match_weights(model.state_dict(), state_dict)
    except WeightsMismatchError as exc:
        fail(f"{weights_file}: {exc}")
    model.load_state_dict(plan.state, strict=True)
    try:
        save_atomically(model.state_dict(), target)
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}")
    copied = count(len(plan.by_key) + len(plan.by_order))
    typer.echo(f"{output}: {copied} tensors of {graph.name} from {weights_file} ({_how(plan)})")


def _how(plan: Transfer) -> str:
    """How the tensors were matched: "matched by key", "116 matched by key, 6 by order"."""
    if plan.by == "key and order":
        return f"{count(len(plan.by_key))} matched by key, {count(len(plan.by_order))} by order"
    return f"matched by {plan.by}"
