"""What a change of spec changes (for ``skipgen diff``), without torch: per module path its
output shape, parameters and MACs before and after; the totals; and which tensors of the
old network's ``state_dict`` the new one loads as they are."""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

from skipgen.commands.summary import summary_data
from skipgen.ir.block_state import BLOCKS
from skipgen.ir.graph import Call, Graph, Group, Member
from skipgen.ir.state import StateShapes, state_shapes
from skipgen.weights_order import leaf, order_problem

ROW_FIELDS = ("kind", "output_shape", "params", "macs", "skip", "from")  # `from`: a rewiring
TOTALS = ("params", "param_bytes", "macs", "activation_bytes")
COUNTER = "num_batches_tracked"  # a batch norm's counter (skipgen.weights keeps its own)


@dataclass(frozen=True)
class Side:
    """One side of the comparison: a spec file, the ``--set`` values it was read with, and
    the network it gives."""

    file: str
    changes: tuple[str, ...]
    graph: Graph


def diff_data(old: Side, new: Side, depth: int | None = None) -> dict[str, Any]:
    """What ``skipgen diff --json`` prints; ``changed``: whether anything differs."""
    before, after = summary_data(old.graph, depth), summary_data(new.graph, depth)
    calls = (module_calls(old.graph), module_calls(new.graph))
    modules = module_changes(before["layers"], after["layers"], *calls)
    totals = {key: _change(before["totals"][key], after["totals"][key]) for key in TOTALS}
    checkpoint = compatibility(state_shapes(old.graph), state_shapes(new.graph))
    old_side, new_side = _side_data(old, before), _side_data(new, after)
    changed = bool(modules) or _differs(checkpoint) or _facts(old_side) != _facts(new_side)
    changed = changed or any(t["change"] not in (0, None) for t in totals.values())
    return {
        "old": old_side,
        "new": new_side,
        "changed": changed,
        "modules": modules,
        "totals": totals,
        "checkpoint": checkpoint,
    }


def _side_data(side: Side, summary: dict[str, Any]) -> dict[str, Any]:
    return {
        "file": side.file,
        "set": list(side.changes),
        "name": summary["name"],
        "input_shape": summary["input_shape"],
        "output_shape": summary["output_shape"],
    }


def _facts(side: dict[str, Any]) -> tuple[Any, ...]:
    """What a side says of the network itself (not where it was read from)."""
    return side["name"], side["input_shape"], side["output_shape"]


def _change(before: int | None, after: int | None) -> dict[str, int | None]:
    change = None if before is None or after is None else after - before
    return {"old": before, "new": after, "change": change}


def _row(layer: dict[str, Any]) -> dict[str, Any]:
    return {key: layer[key] for key in ROW_FIELDS if key in layer}


def module_changes(
    before: list[dict[str, Any]],
    after: list[dict[str, Any]],
    old_calls: dict[str, Call],
    new_calls: dict[str, Call],
) -> list[dict[str, Any]]:
    """The rows that differ, in the networks' order: ``changed`` (in both: other figures,
    or blocks called with other ``arguments``), ``added`` (only in the new network) and
    ``removed`` (only in the old one)."""
    old = {layer["module"]: _row(layer) for layer in before}
    new = {layer["module"]: _row(layer) for layer in after}
    arguments = _arguments_by_row(old.keys() & new.keys(), old_calls, new_calls)
    found: list[dict[str, Any]] = []
    for path in merged_order(list(old), list(new)):
        a, b = old.get(path), new.get(path)
        names = arguments.get(path, [])
        if a == b and not names:
            continue
        change = "removed" if b is None else "added" if a is None else "changed"
        found.append({"module": path, "change": change, "old": a, "new": b, "arguments": names})
    return found


def merged_order(old: list[str], new: list[str]) -> list[str]:
    """Every path of either list once, each where it stands: the new order, with the paths
    only the old one has where they stood in it."""
    merged: list[str] = []
    matcher = SequenceMatcher(a=old, b=new, autojunk=False)
    for _, i1, i2, j1, j2 in matcher.get_opcodes():
        merged += [path for path in old[i1:i2] if path not in new]
        merged += new[j1:j2]
    return merged


def module_calls(graph: Graph) -> dict[str, Call]:
    """The call of every module that a summary row stands for, by module path."""
    calls: dict[str, Call] = {}

    def visit(members: tuple[Member, ...], prefix: str) -> None:
        for member in members:
            path = prefix + member.attr
            if isinstance(member, Group):
                visit(member.members, path + ".")
                if member.block is not None and member.block.projection is not None:
                    calls[path + ".shortcut"] = member.block.projection
            else:
                for i, node in enumerate(member.nodes):
                    calls[f"{path}.{i}" if member.sequential else path] = node.call
            skip = member.long_skip
            if skip is not None and skip.projection is not None and skip.attr is not None:
                calls[prefix + skip.attr] = skip.projection

    visit(graph.stages, "")
    visit(tuple(head.group for head in graph.heads), "")
    return calls


def _arguments_by_row(
    rows: set[str], old: dict[str, Call], new: dict[str, Call]
) -> dict[str, list[str]]:
    """The arguments that differ between the calls of one module path, on the row it is
    counted in (itself, or its ancestor under ``--depth``)."""
    found: dict[str, list[str]] = {}
    for path, call in old.items():
        other = new.get(path)
        row = _row_of(path, rows)
        if other is None or other == call or row is None:
            continue
        names = found.setdefault(row, [])
        names += [name for name in changed_arguments(call, other) if name not in names]
    return found


def _row_of(path: str, rows: set[str]) -> str | None:
    """The row a module's path is counted in: itself, or its nearest ancestor."""
    parts = path.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in rows:
            return ".".join(parts[:end])
    return None


def changed_arguments(old: Call, new: Call) -> list[str]:
    """The names of the arguments that differ between two calls: ``class`` for another
    block class, or an argument's name (a positional one's place, ``#1``, where the block
    class is not skipgen's)."""
    if old.target != new.target:
        return ["class"]
    known = BLOCKS[old.target][0] if old.target in BLOCKS else ()
    positional = range(max(len(old.args), len(new.args)))
    names = [
        known[i] if i < len(known) else f"#{i}"
        for i in positional
        if _at(old.args, i) != _at(new.args, i)
    ]
    a, b = dict(old.kwargs), dict(new.kwargs)
    return names + [k for k in sorted(a.keys() | b.keys()) if a.get(k) != b.get(k)]


def _at(values: tuple[Any, ...], i: int) -> Any:
    return values[i] if i < len(values) else None


def compatibility(old: StateShapes, new: StateShapes) -> dict[str, Any]:
    """How the old network's ``state_dict`` loads into the new one by key, as torch's
    ``load_state_dict(strict=False)`` pairs them: ``unchanged`` (same key and shape),
    ``reshaped`` (same key, another shape: torch refuses it), ``removed`` (the old key has no
    place in the new network: torch's unexpected keys) and ``new`` (left as initialised:
    torch's missing keys), each in its network's order."""
    before, after = old.shapes(), new.shapes()
    return {
        "unchanged": [key for key, shape in new.entries if before.get(key) == shape],
        "reshaped": [
            {"key": key, "old_shape": list(before[key]), "new_shape": list(shape)}
            for key, shape in new.entries
            if key in before and before[key] != shape
        ],
        "removed": [{"key": k, "shape": list(s)} for k, s in old.entries if k not in after],
        "new": [{"key": k, "shape": list(s)} for k, s in new.entries if k not in before],
        "unknown": {"old": list(old.unknown), "new": list(new.unknown)},
        "by_order": by_order(old, new),
    }


def by_order(old: StateShapes, new: StateShapes) -> dict[str, Any]:
    """What ``skipgen weights`` (``transfer_weights``) does beyond the keys: the new keys
    and the removed ones paired position by position (a renamed layer's tensors), each pair
    loaded where the shapes agree; or why it refuses to pair them (``refused``). As it
    does, a network whose old weights hold no batch norm counters keeps its own."""
    before, after = old.shapes(), new.shapes()
    counters = any(leaf(key) == COUNTER for key in before)
    model_left = [k for k in after if k not in before and (counters or leaf(k) != COUNTER)]
    weights_left = [k for k in before if k not in after]
    if not model_left or not weights_left:
        return {"pairs": [], "refused": None}
    position = {key: i for i, key in enumerate(after)}
    named = [key for key in before if key in after]
    reason = order_problem(named, position, model_left, weights_left)
    if reason is not None:
        return {"pairs": [], "refused": reason}
    pairs = [
        {"key": m, "from": w, "old_shape": list(before[w]), "new_shape": list(after[m])}
        for m, w in zip(model_left, weights_left, strict=False)
    ]
    return {"pairs": pairs, "refused": None}


def _differs(checkpoint: dict[str, Any]) -> bool:
    parts = ("reshaped", "removed", "new")
    unknown = checkpoint["unknown"]
    return any(checkpoint[part] for part in parts) or unknown["old"] != unknown["new"]
