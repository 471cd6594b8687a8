"""Hypothesis strategies for any spec, valid or not: small values on both sides of every
rule (groups that do not divide, even kernels, strides that shrink a map to nothing, skips
across size changes), so that the lowering either locates a mistake or promises a network
that runs."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tests.strategies import ANY_ACTS, _grouped, _maybe, _rarely, specs

SMALL_CHANNELS = st.sampled_from([1, 2, 3, 4, 6, 8])
ANY_NORMS: list[Any] = ["batch", "instance", "none", {"type": "group", "groups": 2}]
ANY_NORMS += ["batch", "instance", {"type": "group", "groups": 1}, {"type": "group", "groups": 3}]
ANY_NORMS += ["layer", {"type": "instance", "affine": True}, {"type": "batch", "affine": False}]
KINDS = [
    "conv",
    "basic",
    "bottleneck",
    "inverted_residual",
    "dense",
    "transition",
    "maxpool",
    "avgpool",
    "global_pool",
    "upsample",
    "norm",
    "act",
    "identity",
    "dropout",
    "adaptive_pool",
    "pixel_shuffle",
    "pixel_unshuffle",
    "shuffle",
    "chunk",
    "slice",
    "flatten",
]


# The kinds that only move values around: no norm, no activation.
SHAPE_ONLY = ("adaptive_pool", "pixel_shuffle", "pixel_unshuffle", "shuffle", "chunk", "slice")
SHAPE_ONLY += ("flatten",)


def _any_fields(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    """The fields of one layer of ``kind``, each left out (its default) or drawn small."""
    layer: dict[str, Any] = {"type": kind}
    maybe = lambda key, values: _maybe(draw, layer, key, values)  # noqa: E731
    if kind in ("conv", "basic", "bottleneck", "inverted_residual"):
        layer["channels"] = draw(SMALL_CHANNELS)
    if kind == "upsample":
        maybe("channels", SMALL_CHANNELS)  # without: interpolation alone
    if kind in ("conv", "basic", "bottleneck", "inverted_residual"):
        maybe("stride", st.integers(1, 3))
    if kind in ("conv", "basic", "bottleneck"):
        maybe("groups", st.sampled_from([1, 2, 3]))
        maybe("dilation", st.integers(1, 2))
        maybe("preact", st.booleans())
    if kind in ("conv", "inverted_residual", "maxpool", "avgpool", "upsample"):
        maybe("kernel", st.integers(1, 5))
    if kind in ("conv", "maxpool", "avgpool"):
        maybe("padding", st.integers(0, 2))
    if kind in ("conv", "upsample"):
        maybe("bias", st.booleans())
    if kind == "bottleneck":
        maybe("expansion", st.sampled_from([1, 2, 4]))
        maybe("base_width", st.sampled_from([16, 64, 128]))
        maybe("inner_channels", st.sampled_from([2, 3, 4]))
        maybe("group_width", st.sampled_from([1, 2, 4]))
        maybe("se_ratio", st.sampled_from([0.0, 0.25, 1.0]))
        maybe("layout", st.sampled_from(["resnet", "regnet"]))
    if kind == "inverted_residual":
        maybe("expansion", st.sampled_from([1.0, 1.5, 2.0]))
        maybe("se_ratio", st.sampled_from([0.0, 0.25, 1.0]))
        maybe("se_base", st.sampled_from(["input", "expanded"]))
        maybe("se_divisor", st.sampled_from([1, 3, 8]))
        maybe("se_act", st.sampled_from(ANY_ACTS))
        maybe("se_gate", st.sampled_from(["sigmoid", "hardsigmoid"]))
        maybe("fused", st.booleans())
        maybe("layout", st.sampled_from(["mobilenet_v2", "efficientnet"]))
    if kind in ("basic", "bottleneck", "inverted_residual", "conv", "norm"):
        maybe("stochastic_depth", st.sampled_from([0.0, 0.5]))
    if kind == "dropout":
        maybe("p", st.sampled_from([0.0, 0.5]))
        maybe("channelwise", st.booleans())
    if kind == "dense":
        layer.update(layers=draw(st.integers(1, 2)), growth=draw(st.integers(1, 3)))
        maybe("bn_size", st.integers(1, 2))
        maybe("dropout", st.sampled_from([0.0, 0.5]))
    if kind == "transition":
        maybe("compression", st.sampled_from([0.1, 0.5, 1.0]))
        maybe("channels", SMALL_CHANNELS)
        maybe("pool", st.sampled_from(["avg", "max"]))
    if kind in ("maxpool", "avgpool"):
        maybe("stride", st.integers(1, 3))
        maybe("ceil_mode", st.booleans())
    if kind == "adaptive_pool":
        layer["size"] = draw(st.sampled_from([1, 2, 3, [2, 2], [1, 2]]))
        maybe("mode", st.sampled_from(["avg", "max"]))
    if kind in ("pixel_shuffle", "pixel_unshuffle"):
        maybe("factor", st.integers(1, 3))
    if kind == "shuffle":
        maybe("groups", st.sampled_from([1, 2, 3]))
    if kind == "chunk":
        maybe("chunks", st.integers(1, 3))
        layer["index"] = draw(st.integers(0, 2))
    if kind == "slice":
        maybe("start", st.integers(0, 3))
        layer["stop"] = draw(st.integers(1, 6))
    if kind == "global_pool":
        maybe("mode", st.sampled_from(["avg", "max"]))
    if kind == "upsample":
        maybe("mode", st.sampled_from(["transposed", "nearest", "bilinear"]))
        maybe("scale", st.integers(1, 3))
        maybe("align_corners", st.booleans())
    if kind == "act":
        layer["act"] = draw(st.sampled_from(ANY_ACTS))
    if kind == "classifier":
        layer["classes"] = draw(st.integers(1, 4))
        maybe("dropout", st.sampled_from([0.0, 0.5]))
        maybe("pool", st.sampled_from(["avg", "max"]))
        maybe("hidden", st.integers(1, 4))
        maybe("act", st.sampled_from(ANY_ACTS))
    if kind not in ("maxpool", "avgpool", "global_pool", "act", "classifier", *SHAPE_ONLY):
        maybe("norm", st.sampled_from(ANY_NORMS))
        if kind != "act":
            maybe("act", st.sampled_from(ANY_ACTS))
    return layer


@st.composite
def _any_layer(draw: st.DrawFn, index: int, handles_so_far: list[str]) -> dict[str, Any]:
    head = draw(_rarely(10))  # mostly at the end, where it belongs
    layer = _any_fields(draw, "classifier" if head else draw(st.sampled_from(KINDS)))
    mode = draw(st.sampled_from(["default", "add", "concat", "none", "from", "from"]))
    if mode == "from" and handles_so_far:
        source = draw(st.sampled_from([*handles_so_far, *handles_so_far, "nowhere"]))
        layer["skip"] = {"mode": draw(st.sampled_from(["add", "concat"])), "from": source}
        _maybe(draw, layer["skip"], "order", st.sampled_from(["shortcut_first", "shortcut_last"]))
    elif mode in ("add", "concat", "none"):
        layer["skip"] = mode
    if draw(_rarely(4)) and (mode != "from" or draw(_rarely(4))):
        layer["repeat"] = draw(st.integers(1, 3))
    _maybe(draw, layer, "on_mismatch", st.sampled_from(["project", "drop", "error"]))
    if draw(st.booleans()):
        layer["id"] = f"node_{index}"
        handles_so_far.append(layer["id"])
    return layer


MUTATIONS: dict[str, st.SearchStrategy[Any]] = {
    "norm": st.sampled_from(ANY_NORMS),
    "act": st.sampled_from(ANY_ACTS),
    "stride": st.integers(1, 3),
    "kernel": st.integers(1, 5),
    "channels": SMALL_CHANNELS,
    "groups": st.sampled_from([1, 2, 3]),
    "on_mismatch": st.sampled_from(["project", "drop", "error"]),
    "repeat": st.integers(1, 3),
    "scale": st.integers(1, 3),
}


@st.composite
def _mutated_specs(draw: st.DrawFn) -> dict[str, Any]:
    """A valid spec from :func:`specs`, often without its size, with one field changed."""
    spec = draw(specs())
    if draw(st.booleans()):
        del spec["input"]["size"]
    layer = draw(st.sampled_from(spec["layers"]))
    key = draw(st.sampled_from(sorted(MUTATIONS)))
    if key in layer or key in ("norm", "act", "on_mismatch", "repeat"):
        layer[key] = draw(MUTATIONS[key])
    return spec


def any_specs() -> st.SearchStrategy[dict[str, Any]]:
    """A small spec over every kind, skip mode, norm, act and dimension; it may be invalid."""
    return st.one_of(_raw_specs(), _mutated_specs())


@st.composite
def _raw_specs(draw: st.DrawFn) -> dict[str, Any]:
    """Layers drawn one by one, each field left out or small: mostly invalid."""
    dims = draw(st.sampled_from([1, 2, 3]))
    spec: dict[str, Any] = {"name": "Net", "input": {"channels": draw(SMALL_CHANNELS)}}
    spec["input"]["dims"] = dims
    if draw(st.booleans()):
        spec["input"]["size"] = draw(st.integers(1, {1: 24, 2: 12, 3: 6}[dims]))
    defaults: dict[str, Any] = {}
    _maybe(draw, defaults, "norm", st.sampled_from(ANY_NORMS))
    _maybe(draw, defaults, "act", st.sampled_from(ANY_ACTS))
    _maybe(draw, defaults, "bias", st.booleans())
    if defaults:
        spec["defaults"] = defaults
    if draw(_rarely(5)):
        spec["scaling"] = {"width": draw(st.sampled_from([0.5, 1.5])), "divisor": 2}
    handles_so_far: list[str] = []
    count = draw(st.integers(1, 6))
    spec["layers"] = [draw(_any_layer(i, handles_so_far)) for i in range(count)]
    if draw(_rarely(3)):
        spec["layers"].append(_any_fields(draw, "classifier"))
    spec["layers"] = _grouped(draw, spec["layers"], free=True)
    return spec
