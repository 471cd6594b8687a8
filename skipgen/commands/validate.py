"""``skipgen validate``: check specs without building anything (and without torch)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from skipgen.api import lower_spec
from skipgen.commands.common import SET_HELP, SPECS_HELP, count, report
from skipgen.commands.summary import entry_reads, in_channels, read_names
from skipgen.errors import SpecError
from skipgen.ir.graph import Graph, Group, LongSkip, Stage, format_bytes, out_channels
from skipgen.ir.memory import activations_too_large


def _shape(shape: tuple[int | str, ...]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


def _explain(graph: Graph) -> None:
    """One row per block, then per composite block's use and long skip; the last column,
    ``from``, only where a layer runs on other outputs than the previous one."""
    rows: list[tuple[str, ...]] = [("module", "kind", "channels", "size", "skip", "params", "from")]
    pending: list[tuple[tuple[str, ...], Group]] = []  # groups whose rows follow their members
    reads = entry_reads(graph)
    for path, member in graph.members():
        while pending and path[: len(pending[-1][0])] != pending[-1][0]:
            rows.extend((*row, "") for row in _group_rows(*pending.pop()))
        if isinstance(member, Group):
            if member.block is not None or member.long_skip is not None:
                pending.append((path, member))
            continue
        names = ", ".join(read_names(reads.get(path, ())))
        for i in range(len(member.nodes)):
            rows.append((*_node_row(path, member, i), names if i == 0 else ""))
        if member.long_skip is not None and member.long_skip.attr:
            rows.append((*_long_skip_row(path, member.long_skip), ""))
    while pending:
        rows.extend((*row, "") for row in _group_rows(*pending.pop()))
    if not any(row[-1] for row in rows[1:]):
        rows = [row[:-1] for row in rows]
    _table(rows)


def _node_row(path: tuple[str, ...], stage: Stage, i: int) -> Row:
    """The row of the stage's block ``i``: a merge's channels are each source's, ``64+64``."""
    node = stage.nodes[i]
    attr = ".".join(path) + (f".{i}" if stage.sequential else "")
    size = "x".join(map(str, node.out_size)) if node.out_size else "-"
    skip: str = node.skip_note if node.skip_note != "none" else "-"
    if node.skip != "none" and node.skip_note != "dropped":
        skip = f"{node.skip} ({node.skip_note})"
    cin, out = str(node.in_channels), node.out_channels
    if stage.merges:
        cin = "+".join(str(channels) for _, channels in stage.reads)
    if stage.long_skip is not None and i == len(stage.nodes) - 1:
        skip, out = _long_skip_text(stage.long_skip), stage.long_skip.channels_after(out)
    return (attr, node.kind, f"{cin}->{out}", size, skip, count(node.params))


def _group_rows(path: tuple[str, ...], group: Group) -> list[Row]:
    """After a group's members: the row of a composite block's instance (its own skip, its
    shortcut's keys, or the use's long skip that replaced it), or of a sequence that takes
    a long skip; then the long skip's projection, if it has one."""
    block, skip = group.block, group.long_skip
    module = ".".join(path)
    if block is not None:
        text = f"{block.skip} ({block.note})" if block.skip != "none" else block.note
        kind, cin, out, params = block.name, block.in_channels, block.channels, block.params
        if block.projection:
            module += ".shortcut"
    else:
        text, kind, params = "none", "sequence", 0
        cin, out = in_channels(group), out_channels(group.members[-1])
    if skip is not None:
        text, out = (
            _long_skip_text(skip, block.replaced if block else "none"),
            skip.channels_after(out),
        )
    rows: list[Row] = [
        (module, kind, f"{cin}->{out}", "", text if text != "none" else "-", count(params))
    ]
    if skip is not None and skip.attr:
        rows.append(_long_skip_row(path, skip))
    return rows


def _long_skip_text(skip: LongSkip, replaced: str = "none") -> str:
    """``concat from enc1 (identity)``; with what it replaced, for a composite block's use."""
    text = skip.described()
    if replaced != "none":
        text += f", replacing the block's own {replaced}"
    return text


def _table(rows: Sequence[tuple[str, ...]]) -> None:
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        typer.echo("  " + "  ".join(cells).rstrip())


Row = tuple[str, str, str, str, str, str]


def _long_skip_row(path: tuple[str, ...], skip: LongSkip) -> Row:
    """The row of a long skip: its projection's module path, if it has one."""
    attr = ".".join((*path[:-1], skip.attr)) if skip.attr else ""
    return (
        attr,
        "long skip",
        f"from {skip.source}",
        "",
        f"{skip.mode} ({skip.note})",
        count(skip.params),
    )


def _returned(graph: Graph) -> str:
    """What the network returns: its output's shape, or its named outputs' in a list (a
    dict, ``{out: (N, 21, H, W)}``, when `outputs` gives them keys)."""
    if graph.keyed_outputs:
        shapes = (f"{o.name}: {_shape(o.shape(graph.axes))}" for o in graph.outputs)
        return "{" + ", ".join(shapes) + "}"
    if len(graph.outputs) < 2:
        return _shape(graph.output_shape())
    shapes = (f"{o.name} {_shape(o.shape(graph.axes))}" for o in graph.outputs)
    return "[" + ", ".join(shapes) + "]"


def _explain_outputs(graph: Graph) -> None:
    """The outputs `outputs` names, as timm's feature_info tells them, and what was left out."""
    if graph.outputs:
        rows: list[tuple[str, ...]] = [("output", "module", "channels", "shape", "reduction")]
        for o in graph.outputs:
            reduction = "-" if o.reduction is None else str(o.reduction)
            shape = _shape(o.shape(graph.axes))
            rows.append((o.name, o.module, str(o.channels), shape, reduction))
        _table(rows)
    for module, kind in graph.dropped:
        typer.echo(f"  {module} ({kind}): left out, no output needs it")


def validate(
    specs: Annotated[
        list[Path],
        typer.Argument(metavar="SPEC", help=SPECS_HELP, exists=True, dir_okay=False, readable=True),
    ],
    explain: Annotated[
        bool,
        typer.Option(
            "--explain",
            "-e",
            help="Also list every block: channels (a merge's per source, 64+64->128), "
            "size, whether its skip is identity, projected or dropped, and what it reads "
            "where not the previous layer's output (from).",
        ),
    ] = False,
    set_values: Annotated[
        list[str] | None, typer.Option("--set", metavar="KEY=VALUE", help=SET_HELP)
    ] = None,
) -> None:
    """Check specs and print, for each, its output shape, parameter count and memory.

    Every problem is reported as FILE:LINE:COL with a hint. Exit code 0 when all specs are
    valid, 1 when any is not, 2 for usage errors.
    """
    failed = False
    for path in specs:
        try:
            graph = lower_spec(path, set=set_values or ())
        except SpecError as error:
            report(error)
            failed = True
            continue
        line = f"{path}: {graph.name} {_shape(graph.input_shape())} -> "
        line += f"{_returned(graph)}, {count(graph.params)} parameters "
        line += f"({format_bytes(graph.param_bytes)})"
        if graph.input_size is None:
            line += f"; input {graph.size_rule}"
        typer.echo(line)
        too_large = activations_too_large(graph)
        if too_large is not None:  # a batch of one may not fit: worth saying, not an error
            typer.echo(too_large.format("warning"), err=True)
        if explain:
            _explain(graph)
            _explain_outputs(graph)
    if failed:
        raise typer.Exit(1)
