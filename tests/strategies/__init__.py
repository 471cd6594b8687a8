"""Hypothesis strategies for random valid specs: small networks mixing every block kind.

The strategy tracks channels and spatial size as it draws layers, so it only draws specs
that the lowering accepts: every channel count is even (group norm uses 2 groups),
sizes stay at 2 or more until a final global pool, and a long skip only reads an earlier
output of the same size. Channels and sizes stay tiny so that a network runs in
milliseconds.
"""

from __future__ import annotations

import keyword
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from math import prod
from pathlib import Path
from typing import Any, get_args

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

import skipgen
from skipgen.errors import SpecError
from skipgen.ir.graph import Graph
from skipgen.language.models import RESERVED_NAMES
from skipgen.language.vocabulary import ActName
from skipgen.library.nn import library_names

# The most values one block's output may hold, per sample, in a network a test runs.
LARGEST_OUTPUT = 2**22


def small_enough_to_run(graph: Graph) -> bool:
    """Whether a test may run ``graph``: upsampling layers (inside composite blocks, nested
    and repeated) can grow a small input past what a test machine holds, and such a
    network is checked statically only."""
    sizes = [n.out_channels * prod(n.out_size or ()) for n in graph.nodes()]
    return max(sizes, default=0) <= LARGEST_OUTPUT


def graph_to_run(spec: str | Path, changes: Sequence[str] = ()) -> Graph | None:
    """The lowered graph of a spec (with ``--set`` ``changes``) that a test may run; None
    for an invalid one, whose errors are tested elsewhere, or one too large to run."""
    try:
        graph = skipgen.lower_spec(spec, set=list(changes))
    except SpecError:
        return None
    return graph if small_enough_to_run(graph) else None


def fuzz_settings(examples: int, *also: HealthCheck) -> settings:
    """The settings of a test on random specs: ``examples`` of them, the same on every run
    (``SKIPGEN_FUZZ_EXAMPLES`` draws more, and ``SKIPGEN_FUZZ_RANDOM`` new ones each time);
    ``also``: health checks to leave out beyond the slow and large draws."""
    return settings(
        max_examples=int(os.environ.get("SKIPGEN_FUZZ_EXAMPLES", str(examples))),
        deadline=None,
        derandomize=not os.environ.get("SKIPGEN_FUZZ_RANDOM"),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, *also],
    )


ACTS: list[Any] = list(get_args(ActName))  # every activation the language names
ACTS += [{"type": "leaky_relu", "slope": 0.2}]
# valid on the layers whose activations see one channel count, an error on the others
ANY_ACTS = [*ACTS, {"type": "prelu", "per_channel": True}]
NORMS: list[Any] = ["batch", {"type": "group", "groups": 2}, "instance", "none", "layer"]
NORMS += [{"type": "batch", "eps": 0.001}, {"type": "instance", "eps": 1e-6, "affine": True}]
INPUT_SIZE = {1: 16, 2: 8, 3: 4}  # per spatial dimension


# ruff's E741/E742 flag these names; the language accepts them (see the report).
AMBIGUOUS = {"I", "O", "l"}


def _rarely(one_in: int) -> st.SearchStrategy[bool]:
    """True once in ``one_in`` draws (``integers(0, n) == 0`` would be true far more often:
    hypothesis favours bounds)."""
    return st.sampled_from([False] * (one_in - 1) + [True])


def _maybe(draw: st.DrawFn, layer: dict[str, Any], key: str, values: st.SearchStrategy) -> None:
    if draw(st.booleans()):
        layer[key] = draw(values)


def _class_name_ok(name: str) -> bool:
    taken = RESERVED_NAMES | library_names() | AMBIGUOUS
    return not keyword.iskeyword(name) and name not in taken


class_names = st.from_regex(r"[A-Z][A-Za-z0-9]{0,24}", fullmatch=True).filter(_class_name_ok)
# A prefix keeps clear of nn.Module's own attributes and of the reserved names.
handles = st.builds(
    lambda prefix, rest: f"{prefix}_{rest}",
    st.sampled_from(["enc", "dec", "blk", "stage"]),
    st.from_regex(r"[a-z0-9]{1,28}", fullmatch=True),
)


@dataclass
class _State:
    dims: int
    channels: int
    size: int
    used: set[str] = field(default_factory=set)
    saved: list[tuple[str, int, int]] = field(default_factory=list)  # handle, channels, size

    @property
    def can_shrink(self) -> bool:
        return self.size >= 4


def _down(size: int, stride: int) -> int:
    return (size - 1) // stride + 1


def _norm_act(draw: st.DrawFn, layer: dict[str, Any]) -> None:
    if draw(st.integers(0, 3)) == 0:
        layer["norm"] = draw(st.sampled_from(NORMS))
    if draw(st.integers(0, 3)) == 0:
        layer["act"] = draw(st.sampled_from(ACTS))


def _shortcut_form(draw: st.DrawFn, layer: dict[str, Any], own: bool) -> None:
    """Maybe shape a layer's projection (``own``: of its own skip, which may also say where
    the projection is registered)."""
    if not draw(_rarely(3)):
        return
    if draw(st.booleans()):
        layer["shortcut"] = draw(st.sampled_from(["conv", "avgpool"]))
        return
    form: dict[str, Any] = {}
    _maybe(draw, form, "type", st.sampled_from(["conv", "avgpool"]))
    _maybe(draw, form, "kernel", st.sampled_from([1, 3]))
    _maybe(draw, form, "norm", st.sampled_from(["none", "batch", "layer", NORMS[1]]))
    _maybe(draw, form, "bias", st.booleans())
    if own:
        _maybe(draw, form, "registered", st.sampled_from(["first", "last"]))
    layer["shortcut"] = form


def _local_skip(
    draw: st.DrawFn, layer: dict[str, Any], state: _State, cout: int, shrinks: bool
) -> int:
    """Maybe give a layer a local skip (and shape its projection); returns its output
    channels."""
    mode = draw(st.sampled_from(["default", "add", "concat", "none"]))
    if mode != "default":
        layer["skip"] = mode
    mismatch = shrinks or (mode in ("add", "default") and cout != state.channels)
    choice = draw(st.sampled_from(["default", "project", "drop"]))
    if mismatch and choice == "default" and layer["type"] == "conv":
        choice = "project"  # a conv's default is to refuse
    if choice != "default":
        layer["on_mismatch"] = choice
    if mode == "none" or (mode == "default" and layer["type"] == "conv"):
        return cout
    projects = choice == "project" or (choice == "default" and layer["type"] in RESIDUAL)
    if mismatch and projects:
        _shortcut_form(draw, layer, own=True)
    dropped = mismatch and (
        choice == "drop" or (choice == "default" and layer["type"] == "inverted_residual")
    )
    return cout + state.channels if mode == "concat" and not dropped else cout


RESIDUAL = ("basic", "bottleneck")  # the kinds that project by default


def _repeat_channels(layer: dict[str, Any], cin: int, cout: int) -> int:
    """Output channels of a later repeat (stride 1, same skip) of a layer."""
    default = "none" if layer["type"] == "conv" else "add"
    return cout + cin if layer.get("skip", default) == "concat" else cout


def _se_and_regnet(draw: st.DrawFn, layer: dict[str, Any]) -> None:
    """Maybe squeeze-and-excitation, RegNet's layout, and an inner width given directly."""
    if draw(st.booleans()):
        layer["se_ratio"] = draw(st.sampled_from([0.25, 0.5]))
    if draw(st.booleans()):
        layer["layout"] = "regnet"
    if draw(st.booleans()):
        layer.pop("groups", None)
        layer["inner_channels"] = draw(st.sampled_from([4, 6]))
        layer["group_width"] = 2


@st.composite
def _layer(draw: st.DrawFn, state: _State) -> dict[str, Any]:
    kinds = ["conv", "basic", "bottleneck", "inverted_residual", "dense", "norm", "upsample"]
    kinds.append("act")
    kinds.append("maxpool")
    if state.dims < 3 or state.size >= 3:
        kinds.append("avgpool")  # PyTorch's avg_pool3d wants an input at least the kernel
    if state.can_shrink:
        kinds.append("transition")
    kinds += _channel_kinds(state)
    kind = draw(st.sampled_from(kinds))
    layer: dict[str, Any] = {"type": kind}
    # A long skip from an earlier output of the size this layer will have.
    source = None
    if kind in ("conv", "basic", "norm", "act", "upsample"):
        out_size = state.size * 2 if kind == "upsample" else state.size
        sources = [s for s in state.saved if s[2] == out_size]
        if sources and draw(st.booleans()):
            source = draw(st.sampled_from(sources))
    stride = 1
    if source is None and kind in ("conv", "basic", "bottleneck", "inverted_residual"):
        stride = draw(st.sampled_from([1, 2])) if state.can_shrink else 1
        if stride != 1:
            layer["stride"] = stride
    if kind in ("maxpool", "avgpool"):
        if state.can_shrink and draw(st.booleans()):
            stride = 2  # kernel 2, stride 2: halves
        else:
            layer.update(kernel=3, stride=1)
        _maybe(draw, layer, "ceil_mode", st.booleans())  # the same sizes: they are even
    repeat = 1
    once = ("transition", "upsample", *CHANNEL_KINDS)
    if source is None and kind not in once and draw(st.booleans()):
        shrinking_pool = kind in ("maxpool", "avgpool") and stride == 2
        repeat = 1 if shrinking_pool else draw(st.integers(1, 2))
        layer["repeat"] = repeat

    cin, size = state.channels, state.size
    if kind in ("conv", "basic", "bottleneck", "inverted_residual"):
        cout = layer["channels"] = draw(st.sampled_from([4, 8]))
        if kind == "conv":
            layer["kernel"] = draw(st.sampled_from([1, 3]))
            if layer["kernel"] == 3 and draw(st.booleans()):
                layer["dilation"] = 2
        elif kind == "inverted_residual":
            layer["expansion"] = draw(st.sampled_from([1.0, 2.0]))
            layer["kernel"] = draw(st.sampled_from([3, 5]))
            _maybe(draw, layer, "fused", st.booleans())
            _maybe(draw, layer, "layout", st.sampled_from(["mobilenet_v2", "efficientnet"]))
            single_conv = layer.get("fused") and layer["expansion"] == 1.0
            if not single_conv and draw(st.booleans()):
                layer["se_ratio"] = 0.5
                _maybe(draw, layer, "se_base", st.sampled_from(["input", "expanded"]))
                _maybe(draw, layer, "se_divisor", st.sampled_from([1, 4]))
                _maybe(draw, layer, "se_act", st.sampled_from(ACTS))
                _maybe(draw, layer, "se_gate", st.sampled_from(["sigmoid", "hardsigmoid"]))
        elif draw(st.integers(0, 3)) == 0:
            layer["dilation"] = 2
        if kind == "bottleneck":
            layer["expansion"] = 2
        if kind != "inverted_residual":
            if draw(st.booleans()):
                layer["groups"] = 2
            if draw(st.booleans()):
                layer["preact"] = True
        if kind == "bottleneck" and not layer.get("preact"):
            _se_and_regnet(draw, layer)
        if kind == "conv" and draw(st.integers(0, 3)) == 0:
            layer["bias"] = draw(st.booleans())
        if kind != "conv" and draw(st.integers(0, 3)) == 0:
            layer["stochastic_depth"] = 0.25
        _norm_act(draw, layer)
        if source is not None:
            channels = cout
        elif kind != "conv" or draw(st.booleans()):
            channels = _local_skip(draw, layer, state, cout, stride != 1)
        else:
            channels = cout
        size = _down(size, stride)
        for _ in range(repeat - 1):
            channels = _repeat_channels(layer, channels, cout)
    elif kind == "dense":
        layer.update(layers=draw(st.integers(1, 2)), growth=2, bn_size=2)
        if draw(st.booleans()):
            layer["dropout"] = 0.2
        _norm_act(draw, layer)
        channels = cin + repeat * 2 * layer["layers"]
    elif kind == "norm":
        _norm_act(draw, layer)
        channels = cin
    elif kind == "act":
        layer["act"] = draw(st.sampled_from(ACTS))
        channels = cin
    elif kind in ("maxpool", "avgpool"):
        channels = cin
        size = _down(size, stride)
    elif kind == "transition":
        if cin % 4 == 0 and draw(st.booleans()):
            channels = cin // 2
        else:
            channels = layer["channels"] = draw(st.sampled_from([4, 8]))
        layer["pool"] = draw(st.sampled_from(["avg", "max"]))
        _norm_act(draw, layer)
        size //= 2
    elif kind in CHANNEL_KINDS:
        channels, size = _channel_layer(draw, layer, state)
    else:  # upsample
        layer["mode"] = draw(st.sampled_from(["transposed", "nearest", "bilinear"]))
        if layer["mode"] == "bilinear":
            _maybe(draw, layer, "align_corners", st.booleans())
        if layer["mode"] != "transposed" and draw(st.booleans()):
            channels = cin  # interpolation alone
        else:
            channels = layer["channels"] = draw(st.sampled_from([4, 8]))
            if layer["mode"] == "transposed" and draw(st.booleans()):
                layer["kernel"] = draw(st.sampled_from([3, 4]))
            _norm_act(draw, layer)
        size *= 2
    if source is not None:
        handle, src_channels, _ = source
        mode = draw(st.sampled_from(["add", "concat"]))
        layer["skip"] = {"mode": mode, "from": handle}
        if mode == "concat":
            channels += src_channels
            if draw(st.booleans()):
                layer["skip"]["order"] = draw(st.sampled_from(["shortcut_first", "shortcut_last"]))
        elif src_channels != channels:
            layer["on_mismatch"] = draw(st.sampled_from(["project", "drop"]))
            if layer["on_mismatch"] == "project" and kind in ("conv", "basic"):
                _shortcut_form(draw, layer, own=False)
    if draw(st.integers(0, 3)) == 0:
        layer["name"] = draw(handles.filter(lambda h: h not in state.used))
        state.used.add(layer["name"])
    if draw(st.booleans()):
        layer["id"] = draw(handles.filter(lambda h: h not in state.used))
        state.used.add(layer["id"])
    names = [layer[key] for key in ("id", "name") if key in layer]
    if names:  # a later skip may name this layer by its id or by its name
        state.saved.append((draw(st.sampled_from(names)), channels, size))
    state.channels, state.size = channels, size
    return layer


# The kinds that move channels around; each keeps the channel count even.
CHANNEL_KINDS = ("shuffle", "chunk", "slice", "pixel_shuffle", "pixel_unshuffle")


def _channel_kinds(state: _State) -> list[str]:
    """Those of :data:`CHANNEL_KINDS` that can follow ``state``."""
    kinds = ["shuffle", "slice"]
    if state.channels % 4 == 0:
        kinds.append("chunk")
    if state.dims == 2 and state.channels % 8 == 0:
        kinds.append("pixel_shuffle")
    if state.dims == 2 and state.can_shrink:
        kinds.append("pixel_unshuffle")
    return kinds


def _channel_layer(draw: st.DrawFn, layer: dict[str, Any], state: _State) -> tuple[int, int]:
    """The keys of a layer of :data:`CHANNEL_KINDS`; its output channels and size."""
    kind, channels, size = layer["type"], state.channels, state.size
    if kind == "shuffle":
        layer["groups"] = draw(st.sampled_from([g for g in (1, 2, 4) if channels % g == 0]))
        return channels, size
    if kind == "chunk":
        layer["index"] = draw(st.sampled_from([0, 1]))
        return channels // 2, size
    if kind == "slice":
        start = draw(st.sampled_from(range(0, channels - 1, 2)))
        layer.update(start=start, stop=draw(st.sampled_from(range(start + 2, channels + 1, 2))))
        return layer["stop"] - start, size
    if kind == "pixel_shuffle":
        return channels // 4, size * 2
    return channels * 4, size // 2  # pixel_unshuffle


def _has_handle_or_skip_from(layer: dict[str, Any]) -> bool:
    return "id" in layer or "name" in layer or isinstance(layer.get("skip"), dict)


def _grouped(
    draw: st.DrawFn, layers: list[dict[str, Any]], free: bool = False
) -> list[dict[str, Any]]:
    """Maybe wrap a run of the layers in a sequence, and a run inside it in another.

    Only layers that no long skip reaches go two deep (a long skip reaches one sequence
    in); ``free`` also draws what may be invalid: repeats, deeper skips, clashing names.
    """
    if not draw(st.booleans()):
        return layers
    i = draw(st.integers(0, len(layers) - 1))
    j = draw(st.integers(i + 1, len(layers)))
    run = list(layers[i:j])
    plain = [k for k, layer in enumerate(run) if free or not _has_handle_or_skip_from(layer)]
    if plain and draw(st.booleans()):
        k = draw(st.sampled_from(plain))
        inner: dict[str, Any] = {"type": "sequence", "layers": [run[k]]}
        if draw(st.booleans()):
            inner["name"] = "grp_inner"
        if free and draw(_rarely(3)):
            inner["repeat"] = draw(st.integers(1, 2))
        run[k] = inner
    group: dict[str, Any] = {"type": "sequence", "layers": run}
    if draw(st.booleans()):
        group["name"] = draw(
            st.sampled_from(["grp_outer", "grp_inner"]) if free else st.just("grp_outer")
        )
    if free and draw(_rarely(3)):
        group["repeat"] = draw(st.integers(1, 2))
    return [*layers[:i], group, *layers[j:]]


@st.composite
def specs(draw: st.DrawFn) -> dict[str, Any]:
    """A small valid spec as a plain dict."""
    dims = draw(st.sampled_from([1, 2, 3]))
    channels = draw(st.sampled_from([2, 4]))
    state = _State(dims, channels, INPUT_SIZE[dims])
    spec: dict[str, Any] = {
        "name": draw(class_names),
        "input": {"channels": channels, "dims": dims, "size": INPUT_SIZE[dims]},
        "layers": [],
    }
    defaults: dict[str, Any] = {}
    if draw(st.booleans()):
        defaults["norm"] = draw(st.sampled_from(NORMS))
    if draw(st.booleans()):
        defaults["act"] = draw(st.sampled_from(ACTS))
    if draw(st.integers(0, 3)) == 0:
        defaults["bias"] = draw(st.booleans())
    if defaults:
        spec["defaults"] = defaults
    for _ in range(draw(st.integers(1, 5))):
        spec["layers"].append(draw(_layer(state)))
    endings = ["none", "classifier", "pool", "pool+classifier", "pool+flatten"]
    ending = draw(st.sampled_from(endings))
    if "pool" in ending:
        pool: dict[str, Any] = {"type": "global_pool"}
        if draw(st.booleans()):
            pool = {"type": "adaptive_pool", "size": draw(st.sampled_from([1, [1] * dims]))}
        pool["mode"] = draw(st.sampled_from(["avg", "max"]))
        spec["layers"].append(pool)
    if "flatten" in ending:
        spec["layers"].append({"type": "flatten"})
    if "classifier" in ending:
        head: dict[str, Any] = {"type": "classifier", "classes": draw(st.integers(1, 5))}
        if draw(st.booleans()):
            head["dropout"] = 0.5
        if draw(st.booleans()):
            head["pool"] = "max"
        if draw(st.booleans()):
            head["hidden"] = draw(st.integers(1, 5))
            _maybe(draw, head, "act", st.sampled_from(ACTS))
        spec["layers"].append(head)
    spec["layers"] = _grouped(draw, spec["layers"])
    return spec
