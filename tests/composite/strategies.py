"""Hypothesis strategies for specs with composite blocks, valid or not.

A spec defines one or two blocks over small parameters (channels, a kernel, a stride, a
float multiplier) whose bodies use them in expressions, the second block possibly using
the first, and uses them with random values, repeats, skips and mismatch rules, next to
plain layers. Many draws are invalid (an even kernel, a projection across an upsampling, a
size that shrinks to nothing): the lowering must then locate the mistake.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

SMALL = st.sampled_from([1, 2, 3, 4, 6, 8])
EXPRESSIONS = ["${channels}", "${channels * 2}", "${round(channels * mult)}", "${max(channels, 4)}"]


@st.composite
def _body_layer(draw: st.DrawFn, inner: str | None) -> dict[str, Any]:
    kind = draw(st.sampled_from(["conv", "conv", "act", "maxpool", "upsample", "block"]))
    if kind == "block" and inner is not None:
        return {"type": inner, "channels": draw(st.sampled_from(["${channels}", 2, 4]))}
    if kind == "act":
        return {"type": "act", "act": draw(st.sampled_from(["relu", "silu", "${act}"]))}
    if kind == "maxpool":
        return {"type": "maxpool", "kernel": 2}
    if kind == "upsample":
        return {"type": "upsample", "mode": "nearest"}
    layer: dict[str, Any] = {"type": "conv", "channels": draw(st.sampled_from(EXPRESSIONS))}
    if draw(st.booleans()):
        layer["kernel"] = "${kernel}"
    if draw(st.booleans()):
        layer["stride"] = "${stride}"
    if draw(st.integers(0, 3)) == 0:
        layer["norm"] = "none"
    return layer


@st.composite
def _definition(draw: st.DrawFn, inner: str | None) -> dict[str, Any]:
    layers = draw(st.lists(_body_layer(inner), min_size=1, max_size=3))
    names = draw(st.lists(st.sampled_from(["conv1", "conv2", "proj"]), unique=True, max_size=3))
    for layer, name in zip(layers, names, strict=False):
        layer["name"] = name
    definition: dict[str, Any] = {
        "params": {
            "channels": "int",
            "kernel": {"type": "int", "default": 3},
            "stride": {"type": "int", "default": 1},
            "mult": {"type": "float", "default": 1.0},
            "act": {"type": "str", "default": "relu"},
        },
        "layers": layers,
    }
    if draw(st.booleans()):
        definition["skip"] = draw(st.sampled_from(["add", "concat", "none"]))
    if draw(st.booleans()):
        definition["on_mismatch"] = draw(st.sampled_from(["project", "drop", "error"]))
    if draw(st.integers(0, 3)) == 0:
        definition["shortcut"] = draw(SHORTCUTS)
    return definition


# Shortcut forms for a block's own projection (often on a use that does not project).
SHORTCUTS = st.one_of(
    st.sampled_from(["conv", "avgpool"]),
    st.fixed_dictionaries(
        {},
        optional={
            "type": st.sampled_from(["conv", "avgpool"]),
            "kernel": st.sampled_from([1, 3]),
            "norm": st.sampled_from(["none", "batch"]),
            "bias": st.booleans(),
        },
    ),
)


@st.composite
def _use(draw: st.DrawFn, blocks: list[str], index: int) -> dict[str, Any]:
    layer: dict[str, Any] = {"type": draw(st.sampled_from(blocks)), "channels": draw(SMALL)}
    if draw(st.booleans()):
        layer["kernel"] = draw(st.sampled_from([1, 2, 3]))
    if draw(st.integers(0, 2)) == 0:
        layer["stride"] = 2
    if draw(st.booleans()):
        layer["mult"] = draw(st.sampled_from([0.5, 1.5, 2.0]))
    if draw(st.integers(0, 3)) == 0:
        layer["repeat"] = 2
    if draw(st.integers(0, 3)) == 0:
        layer["skip"] = draw(st.sampled_from(["add", "none"]))
    if draw(st.integers(0, 5)) == 0:
        layer["shortcut"] = draw(SHORTCUTS)
    if draw(st.booleans()):
        layer["name"] = f"use{index}"
    return layer


@st.composite
def composite_specs(draw: st.DrawFn) -> dict[str, Any]:
    """A spec with composite blocks, as a plain dict (often invalid)."""
    dims = draw(st.sampled_from([1, 2]))
    blocks = {"unit": draw(_definition(None))}
    if draw(st.booleans()):
        blocks["pair"] = draw(_definition("unit"))
    layers: list[dict[str, Any]] = [{"type": "conv", "channels": draw(SMALL)}]
    for i in range(draw(st.integers(1, 3))):
        layers.append(draw(_use(list(blocks), i)))
    if draw(st.booleans()):
        layers = [{"type": "sequence", "name": "body", "layers": layers}]
    return {
        "name": "Net",
        "input": {"channels": draw(st.sampled_from([1, 2])), "dims": dims, "size": 16},
        "blocks": blocks,
        "layers": layers,
    }
