"""One class for every use of a composite block: its arguments, found and then checked.

Every instance of a block was lowered with numbers of its own. To write one class that
builds them all, each number in its layers' calls is matched with what the class knows:
``in_channels``, the channels of the saved outputs its ``forward`` reads, the block's
parameters and the body's own arithmetic (``round(channels * expansion)``). A number is
written as the first of these that gives, in *every* instance, exactly the value (and the
type) that instance was lowered with; one that none gives but every instance shares stays a
literal. Where no choice fits every instance, :func:`parametrize` answers None and the
instances get classes of their own, with their numbers written out: the emitted class never
computes anything that was not checked against the lowering.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from skipgen.backends.layout import ClassCall, Code
from skipgen.composite.expr import ExprError, evaluate, parse
from skipgen.ir import graph as g

_TYPES = {int: "int", float: "float", str: "str", bool: "bool"}


class _NoFit(Exception):
    """A number that no argument of the class gives in every instance."""


@dataclass(frozen=True)
class Argument:
    """A candidate for a number: Python source, and its value in each instance."""

    text: str
    values: tuple[Any, ...]
    params: tuple[str, ...]  # the block's parameters it reads


@dataclass(frozen=True)
class Parametrized:
    """The calls of one class's layers, written in its arguments, and its signature."""

    calls: list[g.Call]  # in the order of :func:`calls_of`
    signature: list[tuple[str, str, Any]]  # (name, annotation, default or ...)
    inputs: dict[str, str]  # a saved output the first instance reads -> its argument
    args: list[ClassCall]  # the call of the class, per instance (the target set later)


def calls_of(group: g.Group, call_of: Any) -> list[g.Call]:
    """Every call in a block's class, in order: its layers', their long skips' projections,
    its nested blocks' classes' (``call_of``), then its own shortcut's projection."""

    def visit(members: tuple[g.Member, ...]) -> Iterator[g.Call]:
        for member in members:
            if isinstance(member, g.Group) and member.block is not None:
                yield call_of(member)
            elif isinstance(member, g.Group):
                yield from visit(member.members)
            else:
                yield from (node.call for node in member.nodes)
            skip = member.long_skip
            if skip is not None and skip.projection is not None:
                yield skip.projection

    found = list(visit(group.members))
    assert group.block is not None
    if group.block.projection is not None:
        found.append(group.block.projection)
    return found


def with_calls(group: g.Group, calls: Sequence[g.Call], nested: dict[int, g.Call]) -> g.Group:
    """``group`` with its calls replaced, in the order of :func:`calls_of`; the calls of its
    nested blocks go into ``nested``, by the id of their group."""
    todo = iter(calls)

    def rebuilt(members: tuple[g.Member, ...]) -> tuple[g.Member, ...]:
        out: list[g.Member] = []
        for member in members:
            new: g.Member
            if isinstance(member, g.Group) and member.block is not None:
                nested[id(member)] = next(todo)
                new = member
            elif isinstance(member, g.Group):
                new = replace(member, members=rebuilt(member.members))
            else:
                new = replace(
                    member, nodes=tuple(replace(n, call=next(todo)) for n in member.nodes)
                )
            skip = member.long_skip
            if skip is not None and skip.projection is not None:
                new = replace(new, long_skip=replace(skip, projection=next(todo)))
            out.append(new)
        return tuple(out)

    members = rebuilt(group.members)
    block = group.block
    assert block is not None
    if block.projection is not None:
        block = replace(block, projection=next(todo))
    return replace(group, members=members, block=block)


def _input_names(blocks: list[g.Block]) -> list[str] | None:
    """The forward's argument for each input: the str parameter that names it in every
    instance, or ``skip``, ``skip2``, ..."""
    counts = {len(b.inputs) for b in blocks}
    if len(counts) != 1:
        return None
    names = []
    for i in range(counts.pop()):
        named = [
            name
            for name, value in blocks[0].values
            if all(dict(b.values).get(name) == b.inputs[i] for b in blocks)
        ]
        names.append(named[0] if named else ("skip" if i == 0 else f"skip{i + 1}"))
    taken = {name for name, _ in blocks[0].values} - set(names)
    if len(set(names)) < len(names) or taken & {f"{n}_channels" for n in names}:
        return None
    return names


def _joined_last(group: g.Group) -> set[str]:
    """The saved outputs that the body of ``group`` concatenates only after its running
    value (``order: shortcut_last``), never before it."""
    first: set[str] = set()
    last: set[str] = set()

    def visit(members: tuple[g.Member, ...]) -> None:
        for member in members:
            skip = member.long_skip
            if skip is not None and skip.mode == "concat":
                (first if skip.shortcut_first else last).add(skip.source)
            if isinstance(member, g.Group) and member.block is None:
                visit(member.members)

    visit(group.members)
    return last - first


def _arguments(
    blocks: list[g.Block], inputs: list[str], joined_last: set[str]
) -> tuple[list[Argument], list[Argument]]:
    """The candidates: for the first positional argument of a layer (its input channels),
    and for any other number. A sum of channels is written in the order of the
    concatenation it counts: the saved output first, unless it is joined last."""
    first = Argument("in_channels", tuple(b.in_channels for b in blocks), ())
    channels = [
        Argument(f"{name}_channels", tuple(b.input_channels[i] for b in blocks), ())
        for i, name in enumerate(inputs)
    ]
    pairs = [
        (first, c) if local in joined_last else (c, first)
        for local, c in zip(blocks[0].inputs, channels, strict=True)
    ]
    pairs += [(b, a) for a, b in pairs]
    sums = [
        Argument(
            f"{a.text} + {b.text}",
            tuple(x + y for x, y in zip(a.values, b.values, strict=True)),
            (),
        )
        for a, b in pairs
    ]
    own = []
    values = [dict(b.values) for b in blocks]
    for text in blocks[0].expressions:
        try:
            results = tuple(evaluate(parse(text, v), v) for v in values)
            reads = tuple(sorted(parse(text, values[0]).names))
        except (ExprError, KeyError):
            continue
        own.append(Argument(text, results, reads))
    params = [
        Argument(name, tuple(v[name] for v in values), (name,)) for name, _ in blocks[0].values
    ]
    return [first, *sums, *own, *params, *channels], [*own, *params, first, *sums, *channels]


def _leaf(values: list[Any], candidates: list[Argument], where: str, used: set[Argument]) -> Any:
    """A number (or a string, a flag) as an argument of the class, or as a literal. A value
    that every instance shares is written as an argument only where that is what it most
    likely is: a layer's channels, or a keyword named like the parameter (``stride``)."""
    kind = type(values[0])
    if any(type(v) is not kind for v in values):
        raise _NoFit
    shared = all(v == values[0] for v in values)
    if kind in (int, float, str, bool):
        for arg in candidates:
            if shared and where not in ("in", "out") and not any(p in where for p in arg.params):
                continue
            if all(type(a) is kind and a == v for a, v in zip(arg.values, values, strict=True)):
                used.add(arg)
                return Code(arg.text)
    if shared:
        return values[0]
    raise _NoFit


def _value(
    values: list[Any],
    candidates: tuple[list[Argument], list[Argument]],
    where: str,
    used: set[Argument],
) -> Any:
    """``values`` (one per instance) written once; ``where``: "top" for a layer's call,
    "in" and "out" for its first two arguments (its channels), a keyword's name, or ""."""
    head = values[0]
    if isinstance(head, g.Call | g.Partial):
        if any(
            type(v) is not type(head)
            or v.target != head.target
            or len(v.args) != len(head.args)
            or [k for k, _ in v.kwargs] != [k for k, _ in head.kwargs]
            for v in values
        ):
            raise _NoFit
        places = ("in", "out") if where == "top" else ()
        args = tuple(
            _value(
                [v.args[i] for v in values], candidates, places[i] if i < len(places) else "", used
            )
            for i in range(len(head.args))
        )
        kwargs = tuple(
            (key, _value([dict(v.kwargs)[key] for v in values], candidates, key, used))
            for key, _ in head.kwargs
        )
        return replace(head, args=args, kwargs=kwargs)
    if isinstance(head, tuple):
        if any(not isinstance(v, tuple) or len(v) != len(head) for v in values):
            raise _NoFit
        return tuple(_value([v[i] for v in values], candidates, "", used) for i in range(len(head)))
    return _leaf(values, candidates[0] if where == "in" else candidates[1], where, used)


def _output_link(call: g.Call, values: list[g.Call], used: set[Argument]) -> list[Argument]:
    """How ``call`` (as written) gives its output channels, so that the next layer's input
    channels are written the same where they are the same: its second positional argument
    (``out_channels``), or the only one of a torch layer that keeps them (a norm's)."""
    if len(call.args) >= 2:
        i = 1
    elif len(call.args) == 1 and call.target.startswith("nn."):
        i = 0
    else:
        return []  # a block of the library or of the spec: its output is not one argument
    written = call.args[i]
    if not isinstance(written, Code):
        return []
    found = [arg for arg in used if arg.text == written.text]
    if not found:
        return []
    arg = found[0]
    return [Argument(arg.text, tuple(v.args[i] for v in values), arg.params)]


def parametrize(groups: list[g.Group], calls: list[list[g.Call]]) -> Parametrized | None:
    """One class for the instances ``groups`` of a block (``calls``: each one's, from
    :func:`calls_of`), or None where no arguments give every instance its numbers."""
    blocks = [group.block for group in groups]
    assert all(b is not None for b in blocks)
    checked: list[g.Block] = blocks  # type: ignore[assignment]
    if len({len(c) for c in calls}) != 1 or len({b.skip for b in checked}) != 1:
        return None
    names = _input_names(checked)
    if names is None:
        return None
    candidates = _arguments(checked, names, _joined_last(groups[0]))
    used: set[Argument] = set()
    written: list[g.Call] = []
    link: list[Argument] = []  # how the last layer's output channels were written
    try:
        for k in range(len(calls[0])):
            values = [c[k] for c in calls]
            if values[0].target == "projection":  # a shortcut's: from the input, not x
                written.append(_value(values, candidates, "top", used))
                continue
            first = ([*link, *candidates[0]], candidates[1])
            written.append(_value(values, first, "top", used))
            link = _output_link(written[-1], values, used)
    except _NoFit:
        return None
    reads = {p for arg in used for p in arg.params}
    texts = {arg.text for arg in used}
    head = checked[0]
    defaults = dict(head.defaults)
    signature: list[tuple[str, str, Any]] = []
    if "in_channels" in texts or any("in_channels" in t for t in texts):
        signature.append(("in_channels", "int", ...))
    optional: list[tuple[str, str, Any]] = []
    for name, value in head.values:
        if name in reads:
            entry = (name, _TYPES[type(value)], defaults.get(name, ...))
            (signature if entry[2] is ... else optional).append(entry)
    for name in names:
        if any(f"{name}_channels" in t for t in texts):
            signature.append((f"{name}_channels", "int", ...))
    signature += optional
    args = []
    for block in checked:
        env = {"in_channels": block.in_channels, **dict(block.values)}
        env.update({f"{n}_channels": c for n, c in zip(names, block.input_channels, strict=True)})
        positional = tuple(env[n] for n, _, d in signature if n == "in_channels")
        keywords = tuple((n, env[n]) for n, _, d in signature if n != "in_channels" and env[n] != d)
        args.append(ClassCall("", positional, keywords))
    return Parametrized(written, signature, dict(zip(head.inputs, names, strict=True)), args)
