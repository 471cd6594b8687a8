"""Spatial size inference along one dimension.

Every layer in skipgen treats each spatial dimension the same way, so the lowering records a
small program over one dimension — the layers that change a size, and the pairs of sizes
that an add or a concat needs equal — and runs it for the input size given, or for every
candidate size to tell the user which input sizes work.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# ("conv", kernel, stride, padding, dilation) | ("up", scale) | ("global",)
Op = tuple


def apply(op: Op, n: int) -> int:
    if op[0] == "conv":
        _, k, s, p, d = op
        return (n + 2 * p - d * (k - 1) - 1) // s + 1
    if op[0] == "up":
        return n * op[1]
    return 1  # global pool


def keeps_size(op: Op) -> bool:
    """True when ``op`` maps every size to itself (a 'same' conv at stride 1)."""
    return op[0] == "conv" and op[2] == 1 and 2 * op[3] == op[4] * (op[1] - 1)


@dataclass(frozen=True)
class Check:
    """Sizes ``a`` and ``b`` must be equal; ``where`` indexes the caller's own records."""

    a: int
    b: int
    where: int


@dataclass
class Program:
    ops: list[tuple[int, Op, int]] = field(default_factory=list)  # (source slot, op, where)
    checks: list[Check] = field(default_factory=list)
    check_after: dict[int, list[Check]] = field(default_factory=dict)  # slot -> checks
    minimums: dict[int, list[tuple[int, int]]] = field(default_factory=dict)  # slot -> (n, where)

    def op(self, src: int, op: Op, where: int) -> int:
        """A new slot holding ``op`` applied to slot ``src``; identity ops reuse ``src``."""
        if keeps_size(op):
            return src
        self.ops.append((src, op, where))
        return len(self.ops)

    def minimum(self, slot: int, least: int, where: int) -> None:
        """The size in ``slot`` must be at least ``least``."""
        self.minimums.setdefault(slot, []).append((least, where))

    def check(self, a: int, b: int, where: int) -> None:
        if a == b:
            return
        check = Check(a, b, where)
        self.checks.append(check)
        self.check_after.setdefault(max(a, b), []).append(check)

    def run(self, n: int) -> tuple[list[int], Failure | None]:
        """All slot values for input size ``n``, stopping at the first failure."""
        values = [n]
        for least, at in self.minimums.get(0, ()):
            if n < least:
                return values, Failure("small", at, 0)
        for slot, (src, op, where) in enumerate(self.ops, start=1):
            value = apply(op, values[src])
            values.append(value)
            if value < 1:
                return values, Failure("zero", where, slot)
            for least, at in self.minimums.get(slot, ()):
                if value < least:
                    return values, Failure("small", at, slot)
            for check in self.check_after.get(slot, ()):
                if values[check.a] != values[check.b]:
                    return values, Failure("mismatch", check.where, slot, check)
        for check in self.check_after.get(0, ()):
            if values[check.a] != values[check.b]:
                return values, Failure("mismatch", check.where, 0, check)
        return values, None


@dataclass(frozen=True)
class Failure:
    reason: str  # "zero" | "mismatch" | "small"
    where: int
    slot: int
    check: Check | None = None


SCAN = 512  # candidate sizes tried when the spec gives none


def valid_sizes(program: Program, limit: int = SCAN) -> list[int]:
    return [n for n in range(1, limit + 1) if program.run(n)[1] is None]


def describe(valid: list[int], limit: int = SCAN) -> str:
    """Put the set of working sizes into words, e.g. 'a multiple of 16'."""
    if not valid:
        return f"no size from 1 to {limit}"
    low = valid[0]
    if valid == list(range(low, limit + 1)):
        return "any size" if low == 1 else f"at least {low}"
    for period in range(2, limit // 2 + 1):
        if valid == list(range(low, limit + 1, period)):
            if low % period == 0:
                more = f" (at least {low})" if low > period else ""
                return f"a multiple of {period}{more}"
            return f"{low} plus a multiple of {period}"
    shown = ", ".join(str(v) for v in valid[:6])
    return f"one of {shown}, ..." if len(valid) > 6 else f"one of {shown}"


AXES = {1: "length", 2: "height and width", 3: "depth, height and width"}


def size_rule(program: Program, dims: int) -> str:
    text = describe(valid_sizes(program))
    return f"{AXES[dims]}: {text}"
