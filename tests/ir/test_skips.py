"""One skip decision for local and long skips, errors as data, and a re-entrant list walk."""

from __future__ import annotations

from fractions import Fraction

import pytest

from skipgen.api import load_spec
from skipgen.errors import LayerError
from skipgen.ir.common import Resolved
from skipgen.ir.layers import DropPathSchedule, LayerList, LayerLowering
from skipgen.ir.lower import lower
from skipgen.ir.names import resolve
from skipgen.ir.record import Record
from skipgen.ir.sizes import Program
from skipgen.ir.skips import SkipRequest, decide_skip, local_mismatch, long_mismatch
from skipgen.language.load import Positions
from skipgen.language.models import Spec
from skipgen.language.vocabulary import Norm

BATCH = Resolved(2, Norm(type="batch"), "relu", None)
NO_NORM = Resolved(2, Norm(type="none"), "relu", None)


def request(**changes: object) -> SkipRequest:
    fields: dict = {
        "mode": "add",
        "on_mismatch": "project",
        "mismatch": "8 input channels with 16 output channels",
        "layer_kind": "conv",
        "projectable": True,
        "shortcut_channels": 8,
        "projected_channels": 16,
    }
    return SkipRequest(**(fields | changes))


def test_no_skip_and_a_fitting_skip_need_no_decision_about_the_mismatch() -> None:
    none = decide_skip(request(mode="none", on_mismatch="error"), BATCH)
    assert (none.mode, none.note, none.projection, none.error) == ("none", "none", None, None)
    fits = decide_skip(request(mismatch="", on_mismatch="error"), BATCH)
    assert (fits.mode, fits.note, fits.params, fits.error) == ("add", "identity", 0, None)


def test_a_mismatch_is_refused_at_the_skip_with_the_ways_out() -> None:
    decision = decide_skip(request(on_mismatch="error"), BATCH)
    assert decision.error == LayerError(
        field="skip",
        message="add cannot combine 8 input channels with 16 output channels",
        hint="set `on_mismatch: project` or `drop`, or `skip: none`",
    )
    assert decision.projection is None


def test_a_dropped_skip_combines_nothing() -> None:
    decision = decide_skip(request(on_mismatch="drop"), BATCH)
    assert (decision.mode, decision.note, decision.params) == ("none", "dropped", 0)


def test_a_layer_no_conv_can_cross_is_refused_at_on_mismatch() -> None:
    decision = decide_skip(request(projectable=False, layer_kind="max_pool"), BATCH)
    assert decision.error is not None
    assert decision.error.field == "on_mismatch"
    assert "across this max_pool layer (8 input channels" in decision.error.message


@pytest.mark.parametrize(
    ("inherited", "bare", "params"),
    [
        (BATCH, False, 8 * 16 + 2 * 16),  # conv weights, then the norm's weight and bias
        (NO_NORM, False, 8 * 16 + 16),  # without a norm, the conv has a bias
        (BATCH, True, 8 * 16),  # a pre-activated block's projection is a bare conv
    ],
)
def test_a_projection_counts_its_conv_and_norm(
    inherited: Resolved, bare: bool, params: int
) -> None:
    decision = decide_skip(request(bare=bare, stride=2), inherited)
    assert (decision.mode, decision.note, decision.params) == ("add", "projected", params)
    assert decision.projection is not None
    assert (decision.projection.stride, decision.projection.out_channels) == (2, 16)


def test_mismatch_words_for_local_and_long_skips() -> None:
    same_conv = ("conv", 3, 1, 1, 1)
    strided = ("conv", 3, 2, 1, 1)
    assert local_mismatch(8, 8, same_conv, "add") == ""
    assert local_mismatch(8, 16, same_conv, "concat") == ""
    assert local_mismatch(8, 16, strided, "add") == (
        "8 input channels with 16 output channels and "
        "an input and an output of different spatial size"
    )
    one = Fraction(1)  # the same spatial size
    assert long_mismatch("enc", 8, 16, "add", one) == (
        "8 channels from 'enc' with 16 output channels"
    )
    assert long_mismatch("enc", 8, 16, "concat", one) == ""  # concat takes any channels
    assert long_mismatch("enc", 8, 8, "concat", Fraction(2)) == (
        "a shortcut from 'enc' at 2 times the output's spatial size"
    )
    assert long_mismatch("enc", 8, 16, "add", Fraction(1, 2)) == (
        "8 channels from 'enc' with 16 output channels and a shortcut at 1/2 the output's "
        "spatial size"
    )


NETWORK = {
    "name": "Net",
    "input": {"channels": 3, "size": 32},
    "defaults": {"stochastic_depth": 0.1},
    "layers": [
        {"type": "conv", "channels": 8, "stride": 2, "id": "stem"},
        {"type": "basic", "channels": 8, "repeat": 2},
        {
            "type": "conv",
            "channels": 16,
            "skip": {"mode": "add", "from": "stem"},
            "on_mismatch": "project",
        },
    ],
}


def walker(spec: Spec, record: Record) -> LayerLowering:
    return LayerLowering(spec, record, DropPathSchedule(0.1, 2))  # two residual blocks


def test_a_list_walk_takes_its_inputs_and_returns_its_outputs() -> None:
    spec = load_spec(NETWORK)
    positions = Positions("<dict>")
    record = Record(positions)
    names = resolve(spec, positions, record.error)
    layers = walker(spec, record)
    outputs: dict = {}
    first = layers.lower_list(
        LayerList(
            layers=spec.layers, path=("layers",), names=names, channels=3, slot=0, outputs=outputs
        )
    )
    assert record.diagnostics == []
    assert first.channels == 16
    assert outputs[("layers", 0)] == (8, first.stages[0].nodes[0].out_slot)
    # the walk matches the whole network's lowering, stage by stage
    graph = lower(spec, positions)
    assert [s.attr for s in first.stages] == [s.attr for s in graph.stages]
    assert [[n.call for n in s.nodes] for s in first.stages] == [  # type: ignore[union-attr]
        [n.call for n in s.nodes]
        for s in graph.stages  # type: ignore[union-attr]
    ]
    assert first.stages[2].long_skip == graph.stages[2].long_skip
    assert first.stages[2].long_skip is not None
    assert first.stages[2].long_skip.note == "projected"


def test_a_list_inside_a_sequence_reports_at_its_own_place_in_the_spec() -> None:
    data = {
        **NETWORK,
        "layers": [
            {"type": "conv", "channels": 8},
            {
                "type": "sequence",
                "layers": [{"type": "classifier", "classes": 10}, {"type": "conv", "channels": 4}],
            },
        ],
    }
    spec = load_spec(data)
    record = Record(Positions("<dict>"))
    names = resolve(spec, record.positions, record.error)
    walker(spec, record).lower_list(
        LayerList(layers=spec.layers, path=("layers",), names=names, channels=3, slot=0, outputs={})
    )
    [diagnostic] = record.diagnostics
    assert diagnostic.message.startswith(
        "layers[1].layers[1]: nothing but linear, act, dropout and drop_path can follow "
        "a classifier"
    )
    assert diagnostic.hint == "move it (layers[1].layers[0]) to the end"


def test_the_record_numbers_size_steps_for_the_program() -> None:
    record = Record(Positions("<dict>"), program=Program())
    assert record.step(("layers", 0), "conv") == 0
    assert record.step(("layers", 1), "pool") == 1
    assert record.steps[1].what == "pool"
