"""``skipgen summary``: a table of what each block outputs and costs (without torch)."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from math import prod
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from skipgen.api import lower_spec
from skipgen.commands.common import SET_HELP, console, count, report
from skipgen.commands.cost import node_macs, skip_macs
from skipgen.errors import SpecError
from skipgen.ir.graph import (
    INPUT_LOCAL,
    Block,
    Graph,
    Group,
    LongSkip,
    Member,
    ModulePath,
    Node,
    Read,
    Stage,
    format_bytes,
    out_channels,
)
from skipgen.ir.memory import activation_bytes
from skipgen.kinds.macs import arguments

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

Shape = tuple[int | str, ...]


@dataclass(frozen=True)
class Row:
    """One line of the table: a block, a long skip's projection, or a collapsed group."""

    path: tuple[str, ...]
    kind: str
    shape: Shape  # one sample's output: (channels, *size), or (features,) once flat
    params: int
    macs: int | None  # None: unknown (no input size, or a block class without a formula)
    elements: int | None  # of the output, for the activation memory
    skip: str | None = None  # the long skip the layer takes: ``shape`` is after it
    group_end: bool = False  # the end of a group that takes a long skip, not a block
    reads: tuple[str, ...] = ()  # what it runs on, where not the previous row's output


def spoken(local: str) -> str:
    """A saved output as a spec names it in `from`: ``input`` for the input of the network
    (or of the composite block whose body reads it)."""
    return "input" if local == INPUT_LOCAL else local


def in_channels(member: Member) -> int:
    """The channels a member takes."""
    if isinstance(member, Stage):
        return member.nodes[0].in_channels
    return member.block.in_channels if member.block else in_channels(member.members[0])


def entry_reads(graph: Graph) -> dict[ModulePath, tuple[Read, ...]]:
    """What each member runs on where that is not the previous member's output: what its
    `from` names (a merge's several), what a head branches off, or, for a group's first
    member that names nothing, what the group runs on. Members that read the previous
    member's output are left out."""
    found: dict[ModulePath, tuple[Read, ...]] = {}

    def visit(members: tuple[Member, ...], path: ModulePath, inherited: tuple[Read, ...]) -> None:
        for i, member in enumerate(members):
            here = (*path, member.attr)
            reads = member.reads or (inherited if i == 0 else ())
            if reads:
                found[here] = reads
            if isinstance(member, Group):
                visit(member.members, here, reads)

    visit(graph.stages, (), ())
    for head in graph.heads:
        visit((head.group,), (), ((head.source, in_channels(head.group)),))
    return found


def read_names(reads: tuple[Read, ...]) -> tuple[str, ...]:
    return tuple(spoken(name) for name, _ in reads)


def node_shape(node: Node, dims: int) -> Shape:
    if node.flat:
        return (node.out_channels,)
    size = node.out_size or ("?",) * dims
    if node.channels_last:  # between a permute to channels_last and back
        return (*size, node.out_channels)
    return (node.out_channels, *size)


def _node_row(path: tuple[str, ...], node: Node, dims: int, reads: tuple[str, ...] = ()) -> Row:
    shape = node_shape(node, dims)
    sizes = [s for s in shape if isinstance(s, int)]
    elements = prod(sizes) if len(sizes) == len(shape) else None
    macs = node_macs(node, dims)
    return Row(path, node.kind, shape, node.params, macs, elements, reads=reads)


def block_rows(graph: Graph) -> list[Row]:
    """One row per block, and one per long skip with a projection, in network order."""
    rows: list[Row] = []
    pending: list[tuple[tuple[str, ...], Group]] = []  # their skips follow their members
    reads = entry_reads(graph)

    def projection_row(path: tuple[str, ...], skip: LongSkip | Block) -> Row:
        """A projection's row: its output has the size of the output it joins, and its own
        channels (a concatenation's shortcut keeps its channels)."""
        last = rows[-1]
        size = tuple(s for s in last.shape[1:] if isinstance(s, int)) or None
        macs = skip_macs(skip, size if size and len(size) == graph.dims else None, graph.dims)
        assert skip.projection is not None
        channels = arguments(skip.projection, ("in_channels", "out_channels"))["out_channels"]
        return Row(path, "projection", (channels, *last.shape[1:]), skip.params, macs, None)

    def own_skip(path: tuple[str, ...], block: Block) -> None:
        rows.append(projection_row((*path, "shortcut"), block))

    def group_end(path: tuple[str, ...], group: Group) -> None:
        """After a group's members: its own shortcut's row, then the row of the long skip it
        takes (its output joined with the skip's source) and its projection's."""
        if group.block and group.block.projection:
            own_skip(path, group.block)
        skip = group.long_skip
        if skip is None:
            return
        last = rows[-1]
        channels = group.block.channels if group.block else out_channels(group.members[-1])
        kind = group.block.name if group.block else "sequence"
        shape = (skip.channels_after(channels), *last.shape[1:])
        rows.append(Row(path, kind, shape, 0, 0, 0, _skip_text(skip), group_end=True))
        if skip.attr is not None:
            rows.append(projection_row((*path[:-1], skip.attr), skip))

    for path, member in graph.members():
        while pending and path[: len(pending[-1][0])] != pending[-1][0]:
            group_end(*pending.pop())
        if isinstance(member, Group):
            if member.long_skip or (member.block and member.block.projection):
                pending.append((path, member))
            continue
        for i, node in enumerate(member.nodes):
            where = (*path, str(i)) if member.sequential else path
            names = read_names(reads.get(path, ())) if i == 0 else ()
            rows.append(_node_row(where, node, graph.dims, names))
        skip = member.long_skip
        if skip is not None:
            last = rows[-1]
            shape = (skip.channels_after(last.shape[0]), *last.shape[1:])  # type: ignore[arg-type]
            rows[-1] = replace(last, shape=shape, skip=_skip_text(skip))
            if skip.attr is not None:
                rows.append(projection_row((*path[:-1], skip.attr), skip))
    while pending:
        group_end(*pending.pop())
    return rows


def _skip_text(skip: LongSkip) -> str:
    return skip.described()


def collapse(
    rows: list[Row], depth: int, reads: dict[ModulePath, tuple[Read, ...]] | None = None
) -> list[Row]:
    """Rows deeper than ``depth`` module levels merged into their ancestor at that depth;
    each with what its member runs on (``reads``, from :func:`entry_reads`)."""
    merged: list[list[Row]] = []
    for row in rows:
        key = row.path[:depth]
        inside = len(row.path) > depth or row.group_end
        if merged and merged[-1][0].path[:depth] == key and inside:
            merged[-1].append(row)
        else:
            merged.append([row])
    result: list[Row] = []
    for group in merged:
        if len(group) == 1 and len(group[0].path) <= depth:
            result.append(group[0])
            continue
        blocks = [r for r in group if not r.group_end] or group
        kinds = {r.kind for r in blocks}
        kind = f"{kinds.pop()} x{len(blocks)}" if len(kinds) == 1 else f"{len(blocks)} blocks"
        macs = [r.macs for r in group]
        elements = [r.elements for r in group]
        result.append(
            Row(
                group[0].path[:depth],
                kind,
                next((r.shape for r in reversed(group) if r.kind != "projection"), group[-1].shape),
                sum(r.params for r in group),
                None if None in macs else sum(m or 0 for m in macs),
                None if None in elements else sum(e or 0 for e in elements),
                next((r.skip for r in group if r.group_end), None),
                reads=read_names((reads or {}).get(group[0].path[:depth], ())),
            )
        )
    return result


def totals(graph: Graph, rows: list[Row]) -> dict[str, Any]:
    macs = [r.macs for r in rows]
    return {
        "params": graph.params,
        "param_bytes": graph.param_bytes,
        "macs": None if None in macs else sum(m or 0 for m in macs),
        "activation_bytes": activation_bytes(graph),
    }


def summary_data(graph: Graph, depth: int | None = None) -> dict[str, Any]:
    """What ``skipgen summary --json`` prints."""
    rows = block_rows(graph)
    shown = rows if depth is None else collapse(rows, depth, entry_reads(graph))
    return {
        "name": graph.name,
        "file": graph.file,
        "input_shape": list(graph.input_shape(batch=1))[1:],
        "output_shape": list(graph.output_shape(batch=1))[1:],
        "layers": [_row_data(r) for r in shown],
        "totals": totals(graph, rows),
    }


def _row_data(row: Row) -> dict[str, Any]:
    """A row as JSON; ``skip`` only for a layer that takes a long skip, ``from`` only for
    one that runs on other outputs than the previous row's (as its spec names them)."""
    data = {
        "module": ".".join(row.path),
        "kind": row.kind,
        "output_shape": list(row.shape),
        "params": row.params,
        "macs": row.macs,
    }
    if row.skip is not None:
        data["skip"] = row.skip
    if row.reads:
        data["from"] = list(row.reads)
    return data


def _shape_text(shape: list[Any]) -> str:
    return "(" + ", ".join(map(str, shape)) + ")"


def giga(macs: int) -> str:
    """``4.09 G``, ``300.8 M``: a count of MACs for people."""
    for unit, scale in (("G", 10**9), ("M", 10**6), ("K", 10**3)):
        if macs >= scale:
            return f"{macs / scale:,.2f} {unit}"
    return str(macs)


# box.SIMPLE_HEAD drawn in ASCII, for piped output
_PLAIN_HEAD = "    \n    \n -- \n    \n    \n    \n    \n    \n"


def _table(data: dict[str, Any], plain: bool) -> Table:
    from rich import box  # Rich only where a table is drawn: the other commands start faster
    from rich.table import Table

    table = Table(
        box=box.Box(_PLAIN_HEAD, ascii=True) if plain else box.SIMPLE_HEAD,
        title=f"{data['name']} ({data['file']})",
        title_justify="left",
    )
    table.add_column("module", style="cyan", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("output", no_wrap=True)
    table.add_column("params", justify="right", no_wrap=True)
    table.add_column("MACs", justify="right", no_wrap=True)
    reads = any("from" in layer for layer in data["layers"])
    if reads:  # a column of its own, last: it folds on a narrow terminal, the figures do not
        table.add_column("from", overflow="fold")
    for layer in data["layers"]:
        macs = "?" if layer["macs"] is None else count(layer["macs"])
        cells = [
            layer["module"],
            layer["kind"] + (f", {layer['skip']}" if "skip" in layer else ""),
            _shape_text(layer["output_shape"]),
            count(layer["params"]),
            macs,
        ]
        table.add_row(*cells, *([", ".join(layer.get("from", []))] if reads else []))
    return table


def _total_lines(data: dict[str, Any]) -> list[str]:
    t = data["totals"]
    size = "x".join(map(str, data["input_shape"]))
    lines = [f"parameters: {count(t['params'])} ({format_bytes(t['param_bytes'])} in float32)"]
    if t["macs"] is not None:
        lines.append(f"multiply-accumulates: {giga(t['macs'])} ({count(t['macs'])}) at {size}")
    if t["activation_bytes"] is not None:
        memory = format_bytes(t["activation_bytes"])
        lines.append(f"activations: {memory} per sample (every block's output, float32)")
    if not all(isinstance(s, int) for s in data["input_shape"]):
        lines.append("no input size: give one for shapes and MACs (--set input.size=256)")
    elif t["macs"] is None:
        lines.append("MACs: '?' marks blocks whose cost skipgen cannot count (plugin kinds)")
    return lines


def show(out: Console, table: Table, lines: list[str]) -> None:
    """The table and the lines under it; piped, as plain text without trailing blanks."""
    if out.is_terminal:
        out.print(table)
        for line in lines:
            out.print(line)
        return
    with out.capture() as captured:
        out.print(table)
    text = "\n".join(line.rstrip() for line in captured.get().splitlines())
    typer.echo(text.strip("\n") + "\n\n" + "\n".join(lines))


def summary(
    specs: Annotated[
        list[Path],
        typer.Argument(
            metavar="SPEC", help="Spec files (YAML).", exists=True, dir_okay=False, readable=True
        ),
    ],
    set_values: Annotated[
        list[str] | None, typer.Option("--set", metavar="KEY=VALUE", help=SET_HELP)
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (one object per spec, in a list).")
    ] = False,
    depth: Annotated[
        int | None,
        typer.Option(
            "--depth",
            min=1,
            metavar="N",
            help="Show module paths at most N levels deep, each deeper block "
            "counted in its ancestor's row (1: one row per top-level layer).",
        ),
    ] = None,
) -> None:
    """Show each block's output shape, parameters and multiply-accumulates, and the totals.

    Computed from the spec alone (torch is not imported). MACs follow torchinfo's
    convention: convolutions cost their weights times output positions, every other
    parameter (linear, norm) one MAC each; activations, pooling and skips cost nothing.
    Shapes and MACs are for one sample at the spec's input size (--set input.size=N to
    try another). Activation memory is the sum of every block's output, in float32. A
    block that runs on other outputs than the row above it (a `from`, a merge's sources
    in order, a head's source) names them in a last column, from.

    \b
    Examples:
      skipgen summary configs/resnet50.yaml
      skipgen summary configs/mobilenet_v2.yaml --depth 2
      skipgen summary configs/unet.yaml --set input.size=256 --json

    Exit codes: 0 done, 1 an invalid spec, 2 usage errors.
    """
    failed = False
    results: list[dict[str, Any]] = []
    out = console()
    for path in specs:
        try:
            graph = lower_spec(path, set=set_values or ())
        except SpecError as error:
            report(error)
            failed = True
            continue
        data = summary_data(graph, depth)
        if as_json:
            results.append(data)
            continue
        show(out, _table(data, plain=not out.is_terminal), _total_lines(data))
    if as_json:
        typer.echo(json.dumps(results, indent=2))
    if failed:
        raise typer.Exit(1)
