"""The size ops of the pool options and the new kinds: a pool's ceil mode, an adaptive pool's
fixed size, a flatten's need of size 1 and a pixel unshuffle's of a size its factor divides.
The size rule stays exact with them: the sizes it accepts are the sizes whose program runs."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from skipgen.ir.sizes import Program, apply, describe, working_sizes

OPS = st.one_of(
    st.tuples(
        st.just("conv"),
        st.integers(1, 5),  # kernel
        st.integers(1, 4),  # stride
        st.integers(0, 2),  # padding
        st.integers(1, 2),  # dilation
        st.booleans(),  # ceil mode
    ),
    st.tuples(st.just("up"), st.integers(2, 3)),
    st.just(("global",)),
    st.tuples(st.just("fixed"), st.integers(1, 7)),
    st.tuples(st.just("divide"), st.integers(2, 4)),
    st.just(("flat",)),
)


@st.composite
def programs(draw: st.DrawFn) -> Program:
    program = Program()
    for _ in range(draw(st.integers(0, 6))):
        src = draw(st.integers(0, len(program.ops)))
        slot = program.op(src, draw(OPS), 0)
        if draw(st.integers(0, 3)) == 0:
            program.minimum(slot, draw(st.integers(2, 9)), 0)
    slots = len(program.ops) + 1
    for _ in range(draw(st.integers(0, 2))):
        program.check(draw(st.integers(0, slots - 1)), draw(st.integers(0, slots - 1)), 0)
    return program


@settings(max_examples=500, deadline=None, derandomize=True)
@given(program=programs())
def test_the_working_sizes_are_exactly_those_that_run(program: Program) -> None:
    sizes = working_sizes(program)
    if sizes.checked_up_to is not None:  # a period too long to solve: scanned instead
        return
    for n in range(1, 400):
        assert (n in sizes) == (program.run(n)[1] is None), n


def test_ceil_mode_steps_by_one_per_stride() -> None:
    """``v(n + s) = v(n) + 1``, as the size rule's period assumes, for every pool."""
    for k in range(1, 6):
        for s in range(1, 5):
            for p in range(k // 2 + 1):
                op = ("conv", k, s, p, 1, True)
                for n in range(1, 60):
                    assert apply(op, n + s) == apply(op, n) + 1


def test_a_flatten_takes_the_sizes_a_network_reduces_to_1() -> None:
    program = Program()
    pooled = program.op(0, ("conv", 2, 2, 0, 1), 0)
    pooled = program.op(pooled, ("conv", 2, 2, 0, 1), 1)
    program.op(pooled, ("flat",), 2)
    assert describe(working_sizes(program)) == "one of 4, 5, 6, 7"
    values, failure = program.run(8)
    assert failure is not None and failure.reason == "need"
    assert program.explain(failure, values) == " needs a spatial size of 1, got 2"


def test_a_pixel_unshuffle_takes_the_sizes_its_factor_divides() -> None:
    program = Program()
    program.op(program.op(0, ("up", 3), 0), ("divide", 2), 1)
    assert describe(working_sizes(program)) == "a multiple of 2"
    values, failure = program.run(5)
    assert failure is not None
    assert program.explain(failure, values) == " needs a spatial size that 2 divides, got 15"
