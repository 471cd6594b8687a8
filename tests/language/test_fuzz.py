"""Any input is either a valid spec or a SpecError with located diagnostics, never a crash."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import skipgen
from skipgen.language.models import KINDS

KEYS = sorted(
    {
        "type",
        "channels",
        "kernel",
        "stride",
        "padding",
        "groups",
        "repeat",
        "skip",
        "from",
        "mode",
        "on_mismatch",
        "name",
        "id",
        "norm",
        "act",
        "expansion",
        "se_ratio",
        "layers",
        "growth",
        "classes",
        "scale",
        "dims",
        "size",
        "preact",
        "bias",
        "stochastic_depth",
        "base_width",
        "compression",
        "dropout",
        "eps",
        "momentum",
        "chanels",
    }
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 300),
    st.floats(-2, 8),
    st.just(float("nan")),
    st.sampled_from(
        [
            *KINDS,
            "add",
            "concat",
            "none",
            "project",
            "drop",
            "batch",
            "group",
            "relu",
            "a",
            "b",
            "x",
            "class",
            "",
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)
    ),
    max_leaves=8,
)
layers = st.lists(
    st.fixed_dictionaries(
        {"type": st.sampled_from([*KINDS, "nope"])},
        optional={k: values for k in KEYS if k != "type"},
    ),
    max_size=6,
)
specs = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["Net", "for", "9x", 3]),
        "input": st.fixed_dictionaries(
            {"channels": st.integers(-1, 8)},
            optional={"dims": st.integers(0, 4), "size": st.one_of(values, st.integers(1, 64))},
        ),
        "layers": layers,
    },
    optional={"defaults": values, "scaling": values},
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=specs)
def test_lowering_never_crashes(spec: dict[str, Any]) -> None:
    try:
        graph = skipgen.lower_spec(spec)
    except skipgen.SpecError as error:
        assert error.diagnostics
        assert all(d.line >= 1 and d.col >= 1 and d.message for d in error.diagnostics)
    else:
        assert graph.params >= 0


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_one_wrong_value_in_a_valid_spec_never_crashes(data: st.DataObject) -> None:
    from tests.strategies import specs as valid_specs

    spec = data.draw(valid_specs())
    layer = data.draw(st.sampled_from(spec["layers"]))
    layer[data.draw(st.sampled_from(KEYS))] = data.draw(values)
    test_lowering_never_crashes.hypothesis.inner_test(spec)


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list("ab: -[]{},&*!<>|'\"\n\t#%@`?1"))))
def test_any_text_is_a_spec_or_a_located_error(text: str) -> None:
    try:
        skipgen.lower_spec(text + "\n")
    except skipgen.SpecError as error:
        assert all(d.line >= 1 and d.col >= 1 for d in error.diagnostics)
