"""Spatial size inference along one dimension.

Every layer in skipgen treats each spatial dimension the same way, so the lowering records a
small program over one dimension — the layers that change a size, the pairs of sizes that an
add or a concat needs equal, and the least size some layers accept — and runs it for the
input size given.

With no size given, the set of input sizes that work is found exactly, for every size. Each
layer maps a size ``n`` to ``(n + c) // stride`` (or a pool's ceil mode, which also steps by
one when ``n`` grows by the stride), ``n * scale`` or a fixed size, so the size in a
slot grows by a fixed step when the input grows by the product ``P`` of the strides on its
path: ``v(n + P) = v(n) + P * rate``. Two layers also need something of the size they
read: a flatten that it be 1, a pixel unshuffle that its factor divide it; each such need is
a condition on the slot it reads, solved as the checks are (a remainder modulo ``m`` on a
slot of stride product ``P`` repeats every ``m * P`` sizes). With ``L`` the least common
multiple of those products over the slots that a condition reads, running the program once for
``n = 1 .. L`` tells, for each residue of ``n`` modulo ``L``, from which multiple of ``L``
on every condition holds (or the one size where two sizes that grow at different rates
are equal). Every layer maps a larger size to a size at least as large, so a slot's least
size that input size 1 already meets is met by every size, and is no condition.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

# ("conv", kernel, stride, padding, dilation[, ceil]) | ("up", scale) | ("global",)
# | ("fixed", size): an adaptive pool's output size, whatever the input
# | ("flat",): a flatten, which needs size 1 | ("divide", factor): a pixel unshuffle
Op = tuple

SCAN = 512  # sizes tried, one by one, when the exact rule would cost too much
MAX_PERIOD = 1 << 16  # the largest period solved exactly
BUDGET = 1 << 21  # slot values computed at most to solve the rule (period * slots)


def apply(op: Op, n: int) -> int:
    """The size after ``op`` from size ``n``, as if ``n`` met what ``op`` needs of it
    (:func:`needs`; :meth:`Program.run` checks that it does)."""
    if op[0] == "conv":
        return _window(n, *op[1:])
    if op[0] == "up":
        return n * op[1]
    if op[0] == "fixed":
        return op[1]
    if op[0] == "divide":
        return n // op[1]
    return 1  # global pool, flatten


def _window(n: int, k: int, s: int, p: int, d: int, ceil: bool = False) -> int:
    """Windows of ``k`` (dilated by ``d``) at stride ``s`` over ``n`` padded by ``p``; in
    ceil mode the last partial window counts, if it starts inside the input or the left
    padding (torch's ``pooling_output_shape``). Either way, ``n + s`` gives one more."""
    if not ceil:
        return (n + 2 * p - d * (k - 1) - 1) // s + 1
    out = (n + 2 * p - d * (k - 1) - 1 + s - 1) // s + 1
    return out - 1 if (out - 1) * s >= n + p else out


def needs(op: Op) -> tuple[int, int] | None:
    """What ``op`` needs of the size it reads, as ``(modulus, value)``: a flatten that it
    equal 1, ``(0, 1)``; a pixel unshuffle by ``r`` that ``r`` divide it, ``(r, 0)``.
    None for the ops that take any size."""
    if op[0] == "flat":
        return 0, 1
    if op[0] == "divide":
        return op[1], 0
    return None


def meets(op: Op, n: int) -> bool:
    """Whether size ``n`` meets what ``op`` needs of it."""
    need = needs(op)
    if need is None:
        return True
    modulus, value = need
    return n == value if modulus == 0 else n % modulus == value


def keeps_size(op: Op) -> bool:
    """True when ``op`` maps every size to itself (a 'same' conv at stride 1)."""
    return op[0] == "conv" and op[2] == 1 and 2 * op[3] == op[4] * (op[1] - 1)


@dataclass(frozen=True)
class Check:
    """Sizes ``a`` and ``b`` must be equal; ``where`` indexes the caller's own records."""

    a: int
    b: int
    where: int


@dataclass(frozen=True)
class Failure:
    reason: str  # "zero" | "mismatch" | "small" | "need" (a flatten's, an unshuffle's)
    where: int
    slot: int
    check: Check | None = None


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

    def evaluate(self, n: int) -> list[int]:
        """Every slot's value for input size ``n``, failing or not."""
        values = [n]
        for src, op, _ in self.ops:
            values.append(apply(op, values[src]))
        return values

    def explain(self, failure: Failure, values: list[int]) -> str:
        """What went wrong in a run that stopped at ``failure``, in words that follow the
        failing layer's description (``values`` are the run's slot values)."""
        got = values[failure.slot]
        if failure.reason == "small":
            least = max(k for k, w in self.minimums[failure.slot] if w == failure.where)
            return f" needs a size of at least {least}, got {got}"
        if failure.reason == "need":
            source, op, _ = self.ops[failure.slot - 1]
            if op[0] == "flat":
                return f" needs a spatial size of 1, got {values[source]}"
            return f" needs a spatial size that {op[1]} divides, got {values[source]}"
        if failure.reason == "zero":
            source = self.ops[failure.slot - 1][0]
            return f" shrinks the spatial size from {values[source]} to {got}"
        check = failure.check
        assert check is not None, "a mismatch failure names its check"
        return f": sizes {values[check.a]} and {values[check.b]} differ"

    def run(self, n: int) -> tuple[list[int], Failure | None]:
        """All slot values for input size ``n``, stopping at the first failure."""
        values = [n]
        for least, at in self.minimums.get(0, ()):
            if n < least:
                return values, Failure("small", at, 0)
        for slot, (src, op, where) in enumerate(self.ops, start=1):
            value = apply(op, values[src])
            values.append(value)
            if not meets(op, values[src]):
                return values, Failure("need", where, slot)
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

    def growth(self) -> tuple[list[int], list[Fraction]]:
        """Every slot's stride product ``P`` and rate: ``v(n + P) = v(n) + P * rate``."""
        strides, rates = [1], [Fraction(1)]
        for src, op, _ in self.ops:
            if op[0] in ("conv", "divide"):
                stride = op[2] if op[0] == "conv" else op[1]
                strides.append(strides[src] * stride)
                rates.append(rates[src] / stride)
            elif op[0] == "up":
                strides.append(strides[src])
                rates.append(rates[src] * op[1])
            else:
                strides.append(1)
                rates.append(Fraction(0))
        return strides, rates

    def scale_between(self, a: int, b: int) -> Fraction | None:
        """How many times larger slot ``a`` is than slot ``b`` for large inputs (their rates'
        ratio); None when ``b`` is size 1 whatever the input (after a global pool) and ``a``
        is not. Sizes that grow at different rates are equal for one input size at most."""
        _, rates = self.growth()
        if rates[b] == 0:
            return Fraction(1) if rates[a] == 0 else None
        return rates[a] / rates[b]

    def least_sizes(self) -> dict[int, int]:
        """The least size of every slot that input size 1 does not already give.

        Every layer maps a larger size to a size at least as large, so a slot that is big
        enough for input size 1 is big enough for all (a layer with a need is read as if
        its need were met: its :meth:`conditions` are solved apart).
        """
        least = {slot: 1 for slot in range(len(self.ops) + 1)}
        for slot, pairs in self.minimums.items():
            least[slot] = max([least[slot], *(n for n, _ in pairs)])
        smallest = self.evaluate(1)
        return {slot: n for slot, n in least.items() if smallest[slot] < n}

    def conditions(self) -> list[tuple[int, int, int]]:
        """What the layers with a need ask of the slots they read: ``(slot, modulus,
        value)``, the slot's size equal to ``value`` (modulus 0) or ``value`` modulo
        ``modulus``."""
        found = []
        for src, op, _ in self.ops:
            need = needs(op)
            if need is not None:
                found.append((src, *need))
        return found


@dataclass(frozen=True)
class SizeSet:
    """The input sizes (along one dimension) that work.

    ``n`` works when it is one of ``points``, or when ``n >= tails[r]`` where ``r`` is ``n``
    modulo ``period``. With ``checked_up_to`` set, the sizes above it were not checked and
    ``points`` lists every working size up to it.
    """

    period: int
    tails: dict[int, int]  # residue modulo period -> the least working size of that residue
    points: frozenset[int]
    checked_up_to: int | None = None

    def __contains__(self, n: object) -> bool:
        if not isinstance(n, int) or n < 1:
            return False
        tail = self.tails.get(n % self.period)
        return n in self.points or (tail is not None and n >= tail)

    def smallest(self, count: int, limit: int = 1 << 20) -> list[int]:
        """The ``count`` smallest working sizes (those below ``limit``)."""
        found: list[int] = []
        candidates = sorted({*self.points, *self.tails.values()})
        n = candidates[0] if candidates else limit
        while len(found) < count and n < limit:
            if n in self:
                found.append(n)
            n += 1
        return found


def _residue_tail(
    program: Program, r: int, period: int, rates: list[Fraction], least: dict[int, int]
) -> tuple[int | None, bool]:
    """For sizes ``r + q * period``: the least ``q`` from which all work, or the only ``q``
    that works (then ``True``); ``None`` when none works."""
    values = program.evaluate(r)
    low, only = 0, None
    # A size that must leave a remainder: the period makes its step a multiple of the
    # modulus, so every size of the residue leaves the same one.
    equal = []  # (difference at r, its step): the sizes of the residue where it is 0
    for slot, modulus, value in program.conditions():
        if modulus and values[slot] % modulus != value:
            return None, False
        if not modulus:
            equal.append((values[slot] - value, int(period * rates[slot])))
    for slot, need in least.items():
        step = int(period * rates[slot])
        if step == 0:
            if values[slot] < need:
                return None, False
        else:
            low = max(low, -((values[slot] - need) // step))
    for check in program.checks:
        diff = values[check.a] - values[check.b]
        equal.append((diff, int(period * (rates[check.a] - rates[check.b]))))
    for diff, step in equal:
        if step == 0:
            if diff != 0:
                return None, False
            continue
        q, rest = divmod(-diff, step)
        if rest or q < 0 or (only is not None and q != only):
            return None, False
        only = q
    if only is not None:
        return (only, True) if only >= low else (None, False)
    return low, False


def working_sizes(program: Program) -> SizeSet:
    """Exactly the input sizes that work, or those up to :data:`SCAN` when too costly."""
    strides, rates = program.growth()
    least = program.least_sizes()
    checked = {slot for check in program.checks for slot in (check.a, check.b)}
    # a condition modulo m on a slot of stride product P holds alike every m * P sizes
    steps = [strides[slot] * max(modulus, 1) for slot, modulus, _ in program.conditions()]
    period = math.lcm(*(strides[slot] for slot in {*least, *checked}), *steps)
    if period > MAX_PERIOD or period * (len(program.ops) + 1) > BUDGET:
        limit = max(16, min(SCAN, BUDGET // (len(program.ops) + 1)))
        found = frozenset(n for n in range(1, limit + 1) if program.run(n)[1] is None)
        return SizeSet(1, {}, found, checked_up_to=limit)
    tails: dict[int, int] = {}
    points = set()
    for r in range(1, period + 1):
        q, single = _residue_tail(program, r, period, rates, least)
        if q is None:
            continue
        if single:
            points.add(r + q * period)
        else:
            tails[r % period] = r + q * period
    return SizeSet(period, tails, frozenset(points))


def exact_scale(program: Program, slot: int, sizes: SizeSet) -> Fraction | None:
    """The fixed ratio ``v(n) / n`` of ``slot`` over every working size ``n``, if there is one."""
    if sizes.checked_up_to is not None or not (sizes.tails or sizes.points):
        return None
    strides, rates = program.growth()
    # v(n) - rate * n repeats with the slot's stride product: one working size per residue
    period = math.lcm(sizes.period, strides[slot])
    if period * (len(program.ops) + 1) > BUDGET:
        return None
    samples = set(sizes.points)
    for r in range(period):
        tail = sizes.tails.get(r % sizes.period)
        if tail is not None:
            samples.add(tail + (r - tail) % period)
    rate = rates[slot]
    return rate if all(program.evaluate(n)[slot] == rate * n for n in samples) else None


# -- the rule in words ------------------------------------------------------------------------


def _listed(sizes: list[int]) -> str:
    if len(sizes) <= 6:
        return ", ".join(map(str, sizes))
    return ", ".join(map(str, sizes[:5])) + f", ... ({len(sizes)} sizes, up to {sizes[-1]})"


def _least_period(period: int, residues: set[int]) -> int:
    for p in range(1, period + 1):
        if period % p == 0 and all((r + p) % period in residues for r in residues):
            return p
    return period


def _pattern(period: int, classes: list[int], first: int) -> str:
    """Words for ``{n >= first : n % period in classes}``; ``first`` is in that set."""
    if period == 1:
        return "any size" if first == 1 else f"at least {first}"
    if classes == [0]:
        return f"a multiple of {period}" + (f" (at least {first})" if first > period else "")
    if len(classes) == 1:
        return f"{first} plus a multiple of {period}"
    named = ", ".join(map(str, classes[:-1])) + f" or {classes[-1]}"
    return f"at least {first}, leaving {named} when divided by {period}"


def _scanned(sizes: SizeSet) -> str:
    found, limit = sorted(sizes.points), sizes.checked_up_to
    assert limit is not None  # a scanned set says how far it was checked
    unchecked = f" (sizes above {limit} not checked)"
    if not found:
        return f"no size up to {limit}{unchecked}"
    low = found[0]
    if found == list(range(low, limit + 1)):
        return f"from {low} to {limit}{unchecked}"
    return f"one of {_listed(found)}{unchecked}"


def describe(sizes: SizeSet) -> str:
    """Put the set of working sizes into words, e.g. 'a multiple of 16'."""
    if sizes.checked_up_to is not None:
        return _scanned(sizes)
    if not sizes.tails:
        return f"one of {_listed(sorted(sizes.points))}" if sizes.points else "no size"
    period = _least_period(sizes.period, set(sizes.tails))
    classes = sorted({r % period for r in sizes.tails})
    # Below the last size that breaks the pattern, list the working sizes one by one.
    breaks = [tail - sizes.period for tail in sizes.tails.values() if tail > sizes.period]
    start = max([*breaks, *sizes.points, 0]) + 1
    first = next(n for n in range(start, start + period) if n % period in classes)
    pattern = _pattern(period, classes, first)
    early = [n for n in range(1, min(start, 1 << 16)) if n in sizes]
    if not early:
        return pattern
    if start > 1 << 16:
        return f"from {start}: {pattern}; below that, some sizes (not listed)"
    return f"{_listed(early)}, or {pattern}"


AXES = {1: "length", 2: "height and width", 3: "depth, height and width"}


def failure_hint(rule: str, dims: int) -> str:
    """What to do about a size failure, given which input sizes work (``describe``'s words)."""
    if rule == "no size":
        return "no input size works: change this layer or the layers before it"
    if rule.startswith("no size"):
        return f"input {AXES[dims]}: {rule}"
    return f"input {AXES[dims]} must be {rule}"
