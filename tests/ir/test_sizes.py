"""The size rule is exact: the sizes it accepts are the sizes whose program runs."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import skipgen
from skipgen.ir.sizes import (
    MAX_PERIOD,
    Program,
    describe,
    exact_scale,
    failure_hint,
    working_sizes,
)

OPS = st.one_of(
    st.tuples(
        st.just("conv"),
        st.integers(1, 5),  # kernel
        st.integers(1, 4),  # stride
        st.integers(0, 2),  # padding
        st.integers(1, 2),  # dilation
    ),
    st.tuples(st.just("up"), st.integers(2, 3)),
    st.just(("global",)),
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


@settings(max_examples=300, deadline=None, derandomize=True)
@given(program=programs())
def test_the_working_sizes_are_exactly_those_that_run(program: Program) -> None:
    sizes = working_sizes(program)
    assert sizes.checked_up_to is None  # small programs are solved exactly
    for n in range(1, 400):
        assert (n in sizes) == (program.run(n)[1] is None), n


@settings(max_examples=200, deadline=None, derandomize=True)
@given(program=programs())
def test_the_words_say_the_same_as_the_set(program: Program) -> None:
    """Read back the common phrasings and compare them with the set, size by size."""
    sizes = working_sizes(program)
    words = describe(sizes)
    if words == "no size":
        assert not sizes.smallest(1)
    elif words == "any size":
        assert all(n in sizes for n in range(1, 400))
    elif words.startswith("at least ") and words[9:].isdigit():
        least = int(words[9:])
        assert all((n in sizes) == (n >= least) for n in range(1, 400))
    elif words.startswith("a multiple of ") and words[14:].isdigit():
        period = int(words[14:])
        assert all((n in sizes) == (n % period == 0) for n in range(1, 400))
    elif match := re.fullmatch(r"at least (\d+), leaving ([\d, or]+) when divided by (\d+)", words):
        least, period = int(match[1]), int(match[3])
        rests = {int(r) for r in re.findall(r"\d+", match[2])}
        assert all((n in sizes) == (n >= least and n % period in rests) for n in range(1, 400))


def test_several_remainders_are_named() -> None:
    """A strided conv, a pool and an upsample concatenated with the conv's output."""
    spec = {
        "name": "Net",
        "input": {"channels": 3},
        "layers": [
            {"type": "conv", "channels": 4, "stride": 2, "id": "enc"},
            {"type": "maxpool", "kernel": 2},
            {"type": "upsample", "channels": 4, "skip": {"mode": "concat", "from": "enc"}},
        ],
    }
    words = skipgen.lower_spec(spec).size_rule
    assert words == "height and width: at least 3, leaving 0 or 3 when divided by 4"
    for n in range(1, 20):
        sized = {**spec, "input": {"channels": 3, "size": n}}
        works = n >= 3 and n % 4 in (0, 3)
        try:
            skipgen.lower_spec(sized)
        except skipgen.SpecError:
            assert not works, n
        else:
            assert works, n


def test_an_exact_ratio_holds_for_every_working_size() -> None:
    program = Program()
    down = program.op(0, ("conv", 2, 2, 0, 1), 0)
    up = program.op(down, ("up", 2), 0)
    program.check(0, up, 0)  # only even sizes come back to the same size
    sizes = working_sizes(program)
    assert describe(sizes) == "a multiple of 2"
    assert exact_scale(program, down, sizes) == pytest.approx(0.5)
    odd = Program()
    down = odd.op(0, ("conv", 2, 2, 0, 1), 0)  # floor(n / 2): not n / 2 for odd n
    assert exact_scale(odd, down, working_sizes(odd)) is None


def test_a_finite_set_is_listed_and_a_larger_size_is_refused() -> None:
    """A size rule once said 'at least 512' where 513 failed: every size counts now.

    Two sizes that grow at different rates meet at a few sizes at most. A long skip across
    them is refused before the size rule is asked (its shortcut could not fit a real input),
    so the rule's finite sets are seen on the program alone."""
    program = Program()
    pooled = program.op(0, ("conv", 3, 2, 0, 1), 0)
    upsampled = program.op(pooled, ("up", 3), 0)
    program.check(0, upsampled, 0)
    sizes = working_sizes(program)
    assert describe(sizes) == "one of 3, 6"
    assert [n for n in range(1, 600) if program.run(n)[1] is None] == [3, 6]
    data = {
        "name": "Net",
        "input": {"channels": 3},
        "layers": [
            {"type": "conv", "channels": 4, "id": "a"},
            {"type": "maxpool", "kernel": 3, "stride": 2, "padding": 0},
            {"type": "upsample", "channels": 4, "scale": 3, "skip": {"mode": "add", "from": "a"}},
        ],
    }
    with pytest.raises(skipgen.SpecError, match="at 2/3 the output's spatial size"):
        skipgen.lower_spec(data)


def test_periodic_beyond_any_scan() -> None:
    """Sizes far beyond the old scan of 512 are decided by the rule, not guessed."""
    layers = [{"type": "conv", "channels": 4, "id": "a"}]
    layers += [{"type": "maxpool"}] * 10
    layers.append({"type": "upsample", "channels": 4, "scale": 32})
    layers.append({"type": "upsample", "channels": 4, "scale": 32})
    layers[-1]["skip"] = {"mode": "concat", "from": "a"}
    data = {"name": "Net", "input": {"channels": 3, "dims": 1}, "layers": layers}
    assert skipgen.lower_spec(data).size_rule == "length: a multiple of 1024"
    data["input"]["size"] = 1024 * 1000
    assert skipgen.lower_spec(data).out_size == (1024 * 1000,)


def test_too_long_a_period_is_said_to_be_unchecked() -> None:
    program = Program()
    slot = 0
    for _ in range(MAX_PERIOD.bit_length()):
        slot = program.op(slot, ("conv", 1, 2, 0, 1), 0)
    program.check(0, program.op(slot, ("up", 1 << MAX_PERIOD.bit_length()), 0), 0)
    sizes = working_sizes(program)
    assert sizes.checked_up_to is not None
    limit = sizes.checked_up_to
    assert describe(sizes) == f"no size up to {limit} (sizes above {limit} not checked)"


def test_instance_norm_needs_two_positions() -> None:
    """torch refuses instance norm over one position ('Expected more than 1 spatial element')."""
    layers = [{"type": "conv", "channels": 4, "stride": 2, "norm": "instance"}] * 2
    graph = skipgen.lower_spec({"name": "Net", "input": {"channels": 3}, "layers": layers})
    assert graph.size_rule == "height and width: at least 5"  # 5 -> 3 -> 2


@pytest.mark.parametrize("scale", [1, 2, 3, 4])
def test_every_transposed_kernel_the_lowering_accepts_upsamples_exactly(scale: int) -> None:
    """The size program models an upsample as ``n * scale``: so must the built module."""
    import torch

    for kernel in range(1, scale + 6):
        layer = {"type": "upsample", "channels": 2, "scale": scale, "kernel": kernel}
        data = {"name": "Net", "input": {"channels": 2, "dims": 1}, "layers": [layer]}
        try:
            skipgen.lower_spec(data)
        except skipgen.SpecError:
            assert kernel < scale or (scale == 1 and kernel % 2 == 0)
            continue
        model = skipgen.build_model(data)
        for n in (1, 2, 5):
            assert model(torch.randn(1, 2, n)).shape[-1] == n * scale, (kernel, n)


def test_a_failure_hint_says_which_sizes_work_or_that_none_does() -> None:
    assert failure_hint("a multiple of 16", 2) == "input height and width must be a multiple of 16"
    assert failure_hint("no size", 1).startswith("no input size works")
    assert (
        failure_hint("no size up to 512", 3) == "input depth, height and width: no size up to 512"
    )
