"""``skipgen weights``: load pretrained weights into a spec's model and save its state_dict.

torch is imported only when the command runs, so the CLI starts without it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from skipgen.api import build_model, lower_spec
from skipgen.commands.common import count, fail, report
from skipgen.errors import SpecError
from skipgen.output import replace_atomic

if TYPE_CHECKING:
    from torch import Tensor

CONTAINER_KEYS = ("state_dict", "model")


def read_weights(path: Path) -> dict[str, Tensor]:
    """The state dict in a file saved by ``torch.save``, loaded without running any code.

    Accepts a plain state dict, or a checkpoint dict holding one under ``"state_dict"`` or
    ``"model"``. Raises ``ValueError`` with a message that names the file.
    """
    import pickle

    import torch

    try:
        data: Any = torch.load(path, weights_only=True, map_location="cpu")
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

    def is_state_dict(value: Any) -> bool:
        return isinstance(value, dict) and all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in value.items()
        )

    if is_state_dict(data) and data:
        return data
    if isinstance(data, dict):
        for key in CONTAINER_KEYS:
            if is_state_dict(data.get(key)):
                return data[key]
    raise ValueError(
        f"{path} holds no state dict: expected a mapping of names to tensors, or a "
        f"checkpoint with one under {' or '.join(map(repr, CONTAINER_KEYS))}"
    )


def save_atomically(state: dict[str, Tensor], output: Path) -> None:
    """``torch.save`` to ``output`` atomically (see :func:`skipgen.output.replace_atomic`)."""
    import torch

    replace_atomic(output, lambda file: torch.save(state, file))


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
        Path,
        typer.Option(
            "--output",
            "-o",
            help="Where to save the model's state_dict (torch.save).",
            dir_okay=False,
        ),
    ],
) -> None:
    """Load pretrained weights into a spec's model and save the model's state_dict.

    Tensors are matched by key when the weights use the model's own names, otherwise by
    order and shape: a torchvision checkpoint fits the matching config even where the names
    differ (torchvision's features.0.0.weight is the MobileNetV2 config's stem.0.weight).
    Every tensor must fit, or nothing is written and the first tensor that does not fit is
    named.

    The weights file is read with torch.load(weights_only=True): a file holding any other
    pickled Python object is refused, never run. The output is written to a temporary file
    in the same folder and renamed into place.

    \b
    Example:
      skipgen weights configs/resnet50.yaml resnet50_imagenet.pth -o resnet50.pt
    and then, in Python:
      model = skipgen.build_model("configs/resnet50.yaml")
      model.load_state_dict(torch.load("resnet50.pt", weights_only=True))

    Exit codes: 0 written; 1 an invalid spec, an unreadable or refused weights file, or
    weights that do not fit; 2 usage errors.
    """
    try:
        graph = lower_spec(spec)
    except SpecError as error:
        report(error)
        raise typer.Exit(1) from None

    from skipgen.weights import WeightsMismatchError, match_weights

    try:
        state_dict = read_weights(weights_file)
    except ValueError as exc:
        fail(str(exc))
        return
    model = build_model(graph)
    try:
        plan = match_weights(model.state_dict(), state_dict)
    except WeightsMismatchError as exc:
        fail(f"{weights_file}: {exc}")
        return
    model.load_state_dict(plan.state, strict=True)
    if not output.parent.is_dir():
        fail(f"cannot write {output}: the folder {output.parent} does not exist")
    try:
        save_atomically(model.state_dict(), output)
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}")
    n = len(plan.state) - len(plan.kept)
    typer.echo(
        f"{output}: {count(n)} tensors of {graph.name} from {weights_file}, matched by {plan.by}"
    )
