"""Names in a spec: module attribute names, reference handles and skip references."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from skipgen.spec import models as m
from skipgen.spec.load import Path, Positions
from skipgen.spec.locate import did_you_mean

Report = Callable[[Path, str, str | None], None]


@dataclass(frozen=True)
class Names:
    attrs: list[str]  # the attribute name of every layer
    sources: dict[int, int]  # layer index -> index of the earlier layer its skip comes from
    locals: dict[int, str]  # layer index -> the local variable holding its output
    taken: frozenset[str]  # every attribute name and handle in use


def resolve(spec: m.Spec, positions: Positions, report: Report) -> Names:
    """Check names and ids for clashes and skip references for existence and order."""
    handles: dict[str, int] = {}
    taken: set[str] = set()
    for i, block in enumerate(spec.layers):
        for field in ("name", "id"):
            value = getattr(block, field)
            if value is None:
                continue
            other = handles.get(value)
            if other is not None and other != i:
                line = positions.of(("layers", other))[0]
                report(
                    ("layers", i, field),
                    f"{value!r} is already used by layers[{other}] (line {line})",
                    "names and ids must be unique",
                )
                continue
            handles[value] = i
            if field == "name":
                taken.add(value)

    attrs = []
    counters: dict[str, int] = {}
    for block in spec.layers:
        if block.name is not None:
            attrs.append(block.name)
            continue
        prefix = block.attr_prefix
        while True:
            counters[prefix] = counters.get(prefix, 0) + 1
            attr = f"{prefix}{counters[prefix]}"
            if attr not in taken and attr not in handles:
                break
        taken.add(attr)
        attrs.append(attr)

    sources: dict[int, int] = {}
    local_names: dict[int, str] = {}
    for i, block in enumerate(spec.layers):
        source = block.skip.from_ if block.skip else None
        if source is None:
            continue
        path = ("layers", i, "skip", "from")
        j = handles.get(source)
        if j is None:
            hint = did_you_mean(source, list(handles)) or (
                "give the earlier layer an `id` and refer to it here"
            )
            report(path, f"no layer is named {source!r}", hint)
        elif j >= i:
            where = "this layer itself" if j == i else f"layers[{j}], which comes later"
            report(path, f"{source!r} is {where}", "a skip can only come from an earlier layer")
        else:
            sources[i] = j
            earlier = spec.layers[j]
            local_names[j] = earlier.id or earlier.name or source
    return Names(attrs, sources, local_names, frozenset(taken | set(handles)))
