"""Measure reference facts from torchvision and write them to ``data/NAME.json``.

A script, not a test: from the repository root, with torchvision importable,

    python -m tests.reference.measure NAME [NAME ...]

measures the named references (see ``REFERENCES``; ``all`` for every one) by the
deterministic input and weights of ``fill.py`` and writes ``data/NAME.json`` in the format
of ``data/README.md``. Each model is built, filled and run twice from scratch; the file is
written only if the two measurements are identical.

torchvision is not a dependency of skipgen: ``pip install torchvision`` of the version
that matches the installed torch (the files here were measured with torchvision 0.29.1).
If torchvision's compiled ops do not match the installed torch, its models still import
when ``torchvision._meta_registrations`` is replaced by an empty module; ``--stub-meta``
does that before importing torchvision (the models measured here use no compiled op).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tests.reference.fill import fill, make_input

DATA = Path(__file__).resolve().parent / "data"
INPUT_SHAPE = [2, 3, 64, 64]
INPUT_SHAPE_224 = [1, 3, 224, 224]
SAMPLES = 1000  # about this many values of each output at 224


def _references(tv: Any) -> dict[str, Callable[[], nn.Module]]:
    """The constructors, by reference name (``tv`` is the torchvision package)."""
    from torchvision.models.detection.backbone_utils import resnet_fpn_backbone

    return {
        "googlenet": lambda: tv.models.googlenet(
            aux_logits=False, init_weights=False, transform_input=False
        ),
        "squeezenet1_1": lambda: tv.models.squeezenet1_1(),
        "shufflenet_v2_x1_0": lambda: tv.models.shufflenet_v2_x1_0(),
        "convnext_tiny": lambda: tv.models.convnext_tiny(),
        "deeplabv3_resnet50": lambda: tv.models.segmentation.deeplabv3_resnet50(
            weights=None, weights_backbone=None, aux_loss=False
        ),
        "resnet50_fpn": lambda: resnet_fpn_backbone(
            backbone_name="resnet50",
            weights=None,
            norm_layer=nn.BatchNorm2d,
            trainable_layers=5,
        ),
    }


REFERENCES = [
    "googlenet",
    "squeezenet1_1",
    "shufflenet_v2_x1_0",
    "convnext_tiny",
    "deeplabv3_resnet50",
    "resnet50_fpn",
]


def named_outputs(result: Any) -> tuple[list[tuple[str, torch.Tensor]], bool]:
    """A model's result as ``(name, tensor)`` pairs (a tensor is ``out``, a dict in its
    order) and whether it was a dict."""
    if isinstance(result, torch.Tensor):
        return [("out", result)], False
    if isinstance(result, Mapping):
        return [(str(name), tensor) for name, tensor in result.items()], True
    raise TypeError(f"cannot record a result of type {type(result).__name__}")


def summary(name: str, tensor: torch.Tensor) -> dict[str, Any]:
    """Sum, sum of magnitudes and every ``stride``-th flattened value of one output."""
    flat = tensor.detach().reshape(-1)
    stride = max(1, flat.numel() // SAMPLES)
    return {
        "name": name,
        "shape": list(tensor.shape),
        "sum": flat.sum().item(),
        "abs_sum": flat.abs().sum().item(),
        "sample": flat[::stride].tolist(),
        "stride": stride,
    }


def measure(name: str, build: Callable[[], nn.Module]) -> dict[str, Any]:
    """Build, fill and run one reference; its facts in the order of the JSON file."""
    model = fill(build())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    if trainable != total:
        raise ValueError(f"{name}: {total - trainable} parameters are frozen")
    with torch.no_grad():
        outputs, is_dict = named_outputs(model(make_input(INPUT_SHAPE)))
        outputs_224, _ = named_outputs(model(make_input(INPUT_SHAPE_224)))
    first = outputs[0][1]
    facts: dict[str, Any] = {
        "model": name,
        "parameters": total,
        "state_dict": [[key, list(t.shape)] for key, t in model.state_dict().items()],
        "input_shape": INPUT_SHAPE,
        "output_shape": list(first.shape),
        "output": first.reshape(-1).tolist(),
    }
    if is_dict:
        # The first output's values are ``output`` already: not written twice.
        facts["outputs"] = [
            {"name": key, "shape": list(t.shape)}
            | ({"output": t.reshape(-1).tolist()} if i else {})
            for i, (key, t) in enumerate(outputs)
        ]
    facts["at_224"] = {
        "input_shape": INPUT_SHAPE_224,
        "outputs": [summary(key, t) for key, t in outputs_224],
    }
    summaries = facts["at_224"]["outputs"]
    values = [*facts["output"], *(v for s in summaries for v in (s["sum"], *s["sample"]))]
    for entry in facts.get("outputs", [])[1:]:
        values += entry["output"]
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"{name}: the output is not finite")
    return facts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="+", metavar="NAME", help=f"{REFERENCES} or all")
    parser.add_argument(
        "--stub-meta",
        action="store_true",
        help="replace torchvision._meta_registrations by an empty module before importing",
    )
    parser.add_argument("--out", type=Path, default=DATA, help="folder to write (data/)")
    args = parser.parse_args(argv)
    if args.stub_meta:
        stub = types.ModuleType("torchvision._meta_registrations")
        sys.modules["torchvision._meta_registrations"] = stub
    import torchvision

    constructors = _references(torchvision)
    names = REFERENCES if args.names == ["all"] else args.names
    unknown = [name for name in names if name not in constructors]
    if unknown:
        parser.error(f"unknown reference(s) {unknown}; known: {REFERENCES}")
    for name in names:
        facts = measure(name, constructors[name])
        if measure(name, constructors[name]) != facts:
            raise SystemExit(f"{name}: two measurements from fresh builds differ")
        text = json.dumps(facts, separators=(",", ":")) + "\n"
        path = args.out / f"{name}.json"
        path.write_text(text, encoding="utf-8")
        print(f"{path.name}: {facts['parameters']} parameters, {len(text)} bytes")


if __name__ == "__main__":
    main()
