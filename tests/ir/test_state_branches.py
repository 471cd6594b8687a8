"""``state_shapes`` on graph specs: a layer that reads an earlier output (`from`), the merges
(``skipgen.nn.merge``: no tensors) and composite blocks with branches give the built
module's ``state_dict`` keys and shapes, in its order; so does a random graph spec."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

import skipgen
from skipgen.commands.changes import compatibility
from skipgen.errors import SpecError
from skipgen.ir.block_state import call_state
from skipgen.ir.graph import Call
from skipgen.ir.state import state_shapes
from tests.ir.test_state import assert_state_is_torchs
from tests.strategies import fuzz_settings
from tests.test_cli_graph_branches import ADD_MUL, FIRE, INCEPTION

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.mark.parametrize("target", ["Concat", "Add", "Mul"])
def test_a_merge_holds_no_tensors(target: str) -> None:
    assert call_state(Call(target)) == []


@pytest.mark.parametrize("text", [FIRE, INCEPTION, ADD_MUL], ids=["fire", "inception", "add_mul"])
def test_branches_and_merges_have_the_built_modules_state(text: str, tmp_path: Path) -> None:
    spec = tmp_path / "net.yaml"
    spec.write_text(text)
    assert_state_is_torchs(skipgen.lower_spec(spec))  # the merges: known, no tensors


def test_a_rewired_branch_loads_what_keeps_its_shape(tmp_path: Path) -> None:
    spec = tmp_path / "net.yaml"
    spec.write_text(ADD_MUL)
    old = state_shapes(skipgen.lower_spec(spec))
    new = state_shapes(skipgen.lower_spec(spec, set=["layers.2.from=input"]))
    report = compatibility(old, new)
    assert report["reshaped"] == [
        {"key": "right.0.weight", "old_shape": [8, 8, 1, 1], "new_shape": [8, 3, 1, 1]}
    ]
    assert report["unknown"] == {"old": [], "new": []}


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


@fuzz_settings(40, HealthCheck.function_scoped_fixture)
@given(spec=graph_specs())
def test_a_random_graph_spec_has_the_built_modules_state(
    spec: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "net.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    try:
        graph = skipgen.lower_spec(path)
    except SpecError:
        return  # an invalid spec (a rule this strategy does not follow): tested elsewhere
    assert_state_is_torchs(graph)
