"""``skipgen weights``: load pretrained weights into a spec's model and save its state_dict.

torch is imported only when the command runs, so the CLI starts without it.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from skipgen.api import build_model, load_spec, lower_spec
from skipgen.checkpoints import is_weights_file, read_weights, require_format, write_weights
from skipgen.commands.common import count, fail, report, spec_inputs
from skipgen.errors import SpecError
from skipgen.output import OutputRefused, file_argument, output_target

if TYPE_CHECKING:
    from skipgen.transfer_report import TransferReport

__all__ = ["is_weights_file", "weights"]


def _output(output: str, force: bool, inputs: Iterable[Path]) -> Path:
    try:
        target = output_target(
            file_argument(output), force=force, is_ours=is_weights_file, inputs=inputs
        )
    except OutputRefused as refusal:
        fail(str(refusal))
    if not target.parent.is_dir():
        fail(f"cannot write {output}: the folder {target.parent} does not exist")
    return target


FORMATS = "Read by extension: .safetensors with safetensors, anything else with torch.load."


def weights(
    spec: Annotated[Path, typer.Argument(metavar="SPEC", help="Spec file (YAML).", dir_okay=False)],
    weights_file: Annotated[
        Path,
        typer.Argument(
            metavar="WEIGHTS",
            help="Weights: a state_dict, or a checkpoint dict with one under 'state_dict' "
            "or 'model'; a 'module.' prefix on every key (DistributedDataParallel) is "
            f"dropped. {FORMATS}",
            dir_okay=False,
        ),
    ],
    output: Annotated[
        str,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Where to save the model's state_dict: .safetensors with safetensors, any "
            "other name with torch.save. A symbolic link is written through (the file it "
            "points to is replaced, the link kept).",
        ),
    ],
    skip_mismatched: Annotated[
        bool,
        typer.Option(
            "--skip-mismatched",
            help="Load every tensor that fits and leave the others as initialised (a new "
            "classifier, for fine-tuning), and list what was skipped, missing and unused. "
            "Without it, every tensor must fit.",
        ),
    ] = False,
    adapt_input: Annotated[
        bool,
        typer.Option(
            "--adapt-input",
            help="Load the first convolution even if its input channels differ, as timm "
            "does: for 1 channel the sum over the weights' channels; for k, their "
            "channels repeated and scaled by 3/k (RGB weights).",
        ),
    ] = False,
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
    is named; with --skip-mismatched those are left as initialised and listed.

    A torch.save file is read with torch.load(weights_only=True): a file holding any other
    pickled Python object is refused, never run. .safetensors files need the safetensors
    package (pip install 'skipgen[safetensors]'). The output is written to a temporary file
    in the same folder and renamed into place. Only a regular file is written, and an
    existing one only if skipgen saved it (its metadata says so) or --force is given.

    \b
    Example:
      skipgen weights configs/resnet50.yaml resnet50_imagenet.pth -o resnet50.pt
    and then, in Python:
      model = skipgen.build_model("configs/resnet50.yaml")
      model.load_state_dict(torch.load("resnet50.pt", weights_only=True))
    \b
    Fine-tuning (a spec with another classifier and input channels):
      skipgen weights gray10.yaml resnet50_imagenet.pth -o gray10.safetensors \\
          --skip-mismatched --adapt-input

    Exit codes: 0 written; 1 an invalid spec, an unreadable or refused weights file,
    weights that do not fit, or a refused or failed write; 2 usage errors.
    """
    try:
        valid = load_spec(spec)
        graph = lower_spec(valid)
    except SpecError as error:
        report(error)
        raise typer.Exit(1) from None
    target = _output(output, force, inputs=chain([weights_file], spec_inputs([(spec, valid)])))
    try:
        require_format(target, "write")
        state_dict = read_weights(weights_file)
    except ValueError as exc:
        fail(str(exc))

    from skipgen.weights import WeightsMismatchError, first_conv_weight, match_weights

    model = build_model(graph)
    mismatched: Literal["error", "skip"] = "skip" if skip_mismatched else "error"
    try:
        plan = match_weights(
            model.state_dict(),
            state_dict,
            mismatched=mismatched,
            first_conv=first_conv_weight(model) if adapt_input else None,
        )
    except WeightsMismatchError as exc:
        fail(f"{weights_file}: {exc}{_hint(exc, skip_mismatched)}")
    model.load_state_dict(plan.state, strict=True)
    try:
        write_weights(model.state_dict(), target)
    except (OSError, ValueError) as exc:
        fail(f"cannot write {output}: {getattr(exc, 'strerror', None) or exc}")
    loaded = count(len(plan.report.loaded))
    summary = f"{output}: {loaded} tensors of {graph.name} from {weights_file}"
    typer.echo(f"{summary} ({_how(plan.report)})")
    for line in plan.report.lines():
        typer.echo(line)


def _hint(error: Exception, skipping: bool) -> str:
    """For a tensor that does not fit: the options that would load the rest."""
    if skipping or "ambiguous" in str(error):
        return ""
    return (
        "\n  hint: to load every tensor that fits and leave the others as initialised "
        "(a new classifier), pass --skip-mismatched; for a first convolution with other "
        "input channels, add --adapt-input"
    )


def _how(report: TransferReport) -> str:
    """How the tensors were matched: "matched by key", "116 matched by key, 6 by order"
    (and ", 1 adapted")."""
    if report.by == "key and order":
        by_key, by_order = count(len(report.by_key)), count(len(report.by_order))
        how = f"{by_key} matched by key, {by_order} by order"
    else:
        how = f"matched by {report.by}"
    if report.adapted:
        how += f", {count(len(report.adapted))} adapted"
    return how
