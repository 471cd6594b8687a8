"""Graph specs for the tests of the commands that read a network (graph, summary,
validate, diff, state_shapes): a Fire module, an Inception-like block, add and mul merges,
and a strategy for random specs whose layers read any earlier output."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

# SqueezeNet's Fire module: a squeeze, then two expands reading it side by side, concatenated.
FIRE = """\
name: FireNet
input: {channels: 3, size: 32}
defaults: {norm: none, act: relu, bias: true}
blocks:
  fire:
    params: {squeeze: int, expand: int}
    layers:
      - {type: conv, kernel: 1, channels: "${squeeze}", act: none, name: squeeze}
      - {type: act, act: relu, name: squeeze_activation}
      - {type: conv, kernel: 1, channels: "${expand}", act: none, name: expand1x1}
      - {type: act, act: relu, name: expand1x1_activation}
      - {type: conv, kernel: 3, channels: "${expand}", act: none, name: expand3x3,
         from: squeeze_activation}
      - {type: act, act: relu, name: expand3x3_activation}
      - {type: concat, from: [expand1x1_activation, expand3x3_activation], name: cat}
layers:
  - {type: conv, channels: 64, stride: 2, name: stem}
  - {type: fire, squeeze: 16, expand: 64, name: fire1}
  - {type: fire, squeeze: 16, expand: 64, name: fire2}
  - {type: conv, channels: 10, kernel: 1, name: classifier}
"""

# Four branches, each reading the block's input, concatenated in order.
INCEPTION = """\
name: Incept
input: {channels: 8, size: 16}
blocks:
  inception:
    params: {width: int}
    layers:
      - {type: conv, kernel: 1, channels: "${width}", name: b1}
      - {type: conv, kernel: 1, channels: "${width}", name: b2a, from: input}
      - {type: conv, kernel: 3, channels: "${width}", name: b2b}
      - {type: conv, kernel: 1, channels: "${width}", name: b3a, from: input}
      - {type: conv, kernel: 5, channels: "${width}", name: b3b}
      - {type: maxpool, kernel: 3, stride: 1, padding: 1, name: b4a, from: input}
      - {type: conv, kernel: 1, channels: "${width}", name: b4b}
      - {type: concat, from: [b1, b2b, b3b, b4b], name: cat}
layers:
  - {type: conv, channels: 16, name: stem}
  - {type: inception, width: 4, name: mix}
  - {type: conv, channels: 8, name: head}
"""

# Two branches added, then a one-channel gate multiplied in; a sequence reading far back,
# and the network input concatenated at the end.
ADD_MUL = """\
name: Branches
input: {channels: 3, size: 8}
layers:
  - {type: conv, channels: 8, name: stem}
  - {type: conv, channels: 8, name: left}
  - {type: conv, channels: 8, kernel: 1, name: right, from: stem}
  - {type: add, from: [left, right], name: joined}
  - {type: conv, channels: 1, kernel: 1, act: sigmoid, norm: none, name: gate}
  - {type: mul, from: [joined, gate], name: gated}
  - type: sequence
    name: tail
    from: stem
    layers:
      - {type: conv, channels: 8, name: first}
      - {type: conv, channels: 8, name: second, skip: {mode: add, from: gated}}
  - {type: concat, from: [tail, input], name: out}
"""


# A block whose body branches from its input and adds the branches: every kind of read.
BRANCHY = {
    "params": {"width": "int"},
    "layers": [
        {"type": "conv", "kernel": 1, "channels": "${width}", "name": "a"},
        {"type": "conv", "kernel": 3, "channels": "${width}", "name": "b", "from": "input"},
        {"type": "act", "act": "relu", "name": "b_act"},
        {"type": "add", "from": ["a", "b_act"], "name": "both"},
    ],
}


@st.composite
def graph_specs(draw: st.DrawFn) -> dict[str, Any]:
    """A network of size-keeping layers, each reading the previous output, the input, or
    any earlier layer by name; merges of earlier outputs (a concat of any, an add of equal
    channels, a mul by a one-channel gate); uses of a block that branches inside. The
    outputs nothing reads are concatenated at the end, so that none is left dead."""
    channels = {"input": draw(st.sampled_from([2, 3]))}  # each output's, by name
    read: set[str] = set()
    layers: list[dict[str, Any]] = []
    previous = "input"
    for i in range(draw(st.integers(2, 7))):
        name = f"l{i}"
        earlier = list(channels)
        choice = draw(st.sampled_from(["conv", "conv", "pool", "block", "concat", "add", "mul"]))
        source = draw(st.sampled_from([previous, *earlier]))
        layer: dict[str, Any] = {"name": name}
        picked = _merged(draw, choice, channels) if len(earlier) >= 2 else []
        if picked:
            layer |= {"type": choice, "from": picked}
            out = (
                sum(channels[p] for p in picked)
                if choice == "concat"
                else max(channels[p] for p in picked)
            )
            read.update(picked)
        else:
            if choice == "pool":
                layer |= {"type": "maxpool", "kernel": 3, "stride": 1, "padding": 1}
                out = channels[source]
            elif choice == "block":
                out = draw(st.sampled_from([2, 4]))
                layer |= {"type": "branchy", "width": out}
            else:
                out = draw(st.sampled_from([1, 2, 4]))
                norm = draw(st.sampled_from(["batch", "none", {"type": "group", "groups": 1}]))
                layer |= {"type": "conv", "channels": out, "norm": norm}
                layer["kernel"] = draw(st.sampled_from([1, 3]))
                if draw(st.booleans()):
                    layer["repeat"] = 2
            if source != previous:
                layer["from"] = source
            read.add(source)
        layers.append(layer)
        channels[name] = out
        previous = name
    dead = [n for n in channels if n not in read and n not in ("input", previous)]
    if dead:
        layers.append({"type": "concat", "from": [*dead, previous], "name": "tail"})
    return {
        "name": "Graph",
        "input": {"channels": channels["input"], "size": 6},
        "blocks": {"branchy": BRANCHY},
        "layers": layers,
    }


def _merged(draw: st.DrawFn, choice: str, channels: dict[str, int]) -> list[str]:
    """The outputs a merge of kind ``choice`` reads, or none where it is not a merge or
    none fits: a concat's any two or three; an add's, two or three of equal channels; a
    mul's, an output and a one-channel gate (or, without a gate, as an add's)."""
    if choice not in ("concat", "add", "mul"):
        return []
    names = list(channels)
    gates = [n for n in names if channels[n] == 1]
    wide = [n for n in names if channels[n] > 1]
    if choice == "mul" and gates and wide:
        return [draw(st.sampled_from(wide)), draw(st.sampled_from(gates))]
    alike = [[n for n in names if channels[n] == c] for c in set(channels.values())]
    alike = [group for group in alike if len(group) >= 2]
    if choice != "concat":
        if not alike:
            return []
        group = draw(st.sampled_from(sorted(alike)))
        return draw(st.lists(st.sampled_from(group), min_size=2, max_size=3, unique=True))
    return draw(st.lists(st.sampled_from(names), min_size=2, max_size=3, unique=True))
