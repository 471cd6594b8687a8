"""``skipgen diff``: what a change of spec changes, module by module, in cost and in the
checkpoint (without torch)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from skipgen.api import lower_spec
from skipgen.commands.changes import Side, diff_data
from skipgen.commands.common import SET_HELP, console, count, report
from skipgen.commands.summary import giga, show
from skipgen.errors import SpecError
from skipgen.ir.graph import format_bytes
from skipgen.transfer_report import shape_words

if TYPE_CHECKING:
    from rich.table import Table

LIMIT = 10  # tensors listed per part of the checkpoint report; --json lists them all
_STYLES = {"added": "green", "removed": "red", "changed": "yellow"}
# box.SIMPLE_HEAD drawn in ASCII, for piped output (as summary draws it)
_PLAIN_HEAD = "    \n    \n -- \n    \n    \n    \n    \n    \n"


def _read(path: Path, changes: Sequence[str]) -> Side | None:
    """The spec's side of the comparison; None, its diagnostics printed, when invalid."""
    try:
        graph = lower_spec(path, set=list(changes))
    except SpecError as error:
        report(error)
        return None
    return Side(str(path), tuple(changes), graph)


def _shape(shape: list[Any]) -> str:
    return "(" + ", ".join(map(str, shape)) + ")"


def _side_line(label: str, side: dict[str, Any]) -> str:
    given = "".join(f" --set {value}" for value in side["set"])
    shapes = f"(N, {_shape(side['input_shape'])[1:]} -> (N, {_shape(side['output_shape'])[1:]}"
    return f"{label}: {side['file']}{given} ({side['name']}, {shapes})"


def _pair(old: Any, new: Any, text: Callable[[Any], str]) -> str:
    """One value where it did not change, else ``old -> new``."""
    return text(old) if old == new else f"{text(old)} -> {text(new)}"


def _kind(row: dict[str, Any]) -> str:
    """``conv``, with the long skip it takes and what it reads where not the previous row."""
    text = row["kind"] + (f", {row['skip']}" if "skip" in row else "")
    return text + (f", from {', '.join(row['from'])}" if "from" in row else "")


def _table(modules: list[dict[str, Any]], plain: bool) -> Table:
    from rich import box  # Rich only where a table is drawn: the other commands start faster
    from rich.table import Table

    table = Table(box=box.Box(_PLAIN_HEAD, ascii=True) if plain else box.SIMPLE_HEAD)
    # On a narrow terminal the figures wrap at their arrows; the module and change stay whole.
    widest = max(len(module["module"]) for module in modules)
    table.add_column("module", style="cyan", no_wrap=True, min_width=widest)
    table.add_column("change", no_wrap=True, min_width=len("removed"))
    for name in ("kind", "output"):
        table.add_column(name, overflow="fold")
    table.add_column("params", justify="right", overflow="fold")
    table.add_column("MACs", justify="right", overflow="fold")
    arguments = any(module["arguments"] for module in modules)
    if arguments:
        table.add_column("arguments", overflow="fold")
    for module in modules:
        cells = _cells(module)
        table.add_row(*(cells if arguments else cells[:-1]))
    return table


def _cells(module: dict[str, Any]) -> tuple[str, ...]:
    """A row's cells: each figure once where it did not change, else ``old -> new``."""
    change = module["change"]
    old: dict[str, Any] = module["old"] or module["new"]  # added or removed: one side's
    new: dict[str, Any] = module["new"] or module["old"]
    return (
        module["module"],
        f"[{_STYLES[change]}]{change}[/]",
        _pair(_kind(old), _kind(new), str),
        _pair(old["output_shape"], new["output_shape"], _shape),
        _pair(old["params"], new["params"], count),
        _pair(old["macs"], new["macs"], lambda macs: "?" if macs is None else count(macs)),
        ", ".join(module["arguments"]),
    )


def _signed(change: int, text: Callable[[int], str], before: int) -> str:
    """``+1,024, +0.25%``: a change and, where there was something before, its share."""
    sign = "+" if change > 0 else "-"
    percent = f", {sign}{abs(change) / before:.2%}" if before else ""
    return f"{sign}{text(abs(change))}{percent}"


def _total_line(
    label: str, total: dict[str, Any], text: Callable[[int], str], exact: Callable[[int], str]
) -> str:
    """``label: old -> new (change)``; ``exact`` writes the change."""
    old: int | None = total["old"]
    new: int | None = total["new"]
    change: int | None = total["change"]
    if old is None and new is None:
        return f"{label}: unknown on both sides (no input size, or a block of unknown cost)"
    if old is None or new is None or change is None:
        return (
            f"{label}: {'?' if old is None else text(old)} -> {'?' if new is None else text(new)}"
        )
    if change == 0:
        return f"{label}: {text(old)} (unchanged)"
    return f"{label}: {text(old)} -> {text(new)} ({_signed(change, exact, old)})"


def _total_lines(totals: dict[str, Any]) -> list[str]:
    return [
        _total_line("parameters", totals["params"], count, count),
        _total_line("multiply-accumulates", totals["macs"], giga, count),
        _total_line(
            "activations per sample", totals["activation_bytes"], format_bytes, format_bytes
        ),
    ]


def _listed(title: str, items: list[str]) -> list[str]:
    if not items:
        return []
    more = [f"  ... and {count(len(items) - LIMIT)} more"] if len(items) > LIMIT else []
    return [f"{title}: {count(len(items))}", *(f"  {item}" for item in items[:LIMIT]), *more]


def _checkpoint_lines(checkpoint: dict[str, Any]) -> list[str]:
    unchanged, reshaped = checkpoint["unchanged"], checkpoint["reshaped"]
    removed, new = checkpoint["removed"], checkpoint["new"]
    total = len(unchanged) + len(reshaped) + len(new)
    if not (reshaped or removed or new):
        head = f"checkpoint: the old weights load as they are (all {count(total)} tensors)"
    else:
        head = (
            f"checkpoint: {count(len(unchanged))} of the new network's {count(total)} tensors "
            "load from the old weights as they are (same key and shape)"
        )
    lines = [head]
    lines += _listed(
        "reshaped (same key, another shape: load_state_dict refuses it, strict or not)",
        [
            f"{r['key']!r}: {shape_words(tuple(r['old_shape']))} -> "
            f"{shape_words(tuple(r['new_shape']))}"
            for r in reshaped
        ],
    )
    lines += _listed(
        "removed (old keys with no place in the new network: unexpected keys)",
        [f"{r['key']!r} {shape_words(tuple(r['shape']))}" for r in removed],
    )
    lines += _listed(
        "new (left as initialised: missing keys)",
        [f"{r['key']!r} {shape_words(tuple(r['shape']))}" for r in new],
    )
    lines += _order_lines(checkpoint["by_order"])
    for side in ("old", "new"):
        lines += _listed(
            f"not compared ({side}: blocks whose tensors skipgen cannot tell, a plugin's)",
            [repr(path) for path in checkpoint["unknown"][side]],
        )
    return lines


def _order_lines(order: dict[str, Any]) -> list[str]:
    """What ``skipgen weights --skip-mismatched`` adds to the keys: pairs by order."""
    if order["refused"] is not None:
        return [f"skipgen weights pairs none of them by order: {order['refused']}"]
    items = []
    for pair in order["pairs"]:
        old, new = tuple(pair["old_shape"]), tuple(pair["new_shape"])
        fit = "" if old == new else f": {shape_words(old)} -> {shape_words(new)}, skipped"
        items.append(f"{pair['key']!r} from {pair['from']!r}{fit}")
    title = "paired by order (skipgen weights loads each new key from a removed one)"
    return _listed(title, items)


def _render(data: dict[str, Any]) -> None:
    header = [_side_line("old", data["old"]), _side_line("new", data["new"])]
    if not data["changed"]:
        typer.echo("\n".join([*header, "no change: the same modules, shapes, costs and tensors"]))
        return
    if data["old"]["name"] != data["new"]["name"]:
        header.append(f"name: {data['old']['name']} -> {data['new']['name']}")
    lines = [*_total_lines(data["totals"]), "", *_checkpoint_lines(data["checkpoint"])]
    out = console()
    typer.echo("\n".join(header) + "\n")
    if not data["modules"]:
        typer.echo("modules: no change\n\n" + "\n".join(lines))
        return
    show(out, _table(data["modules"], plain=not out.is_terminal), lines)


def diff(
    old: Annotated[
        Path,
        typer.Argument(
            metavar="OLD",
            help="The spec before the change (YAML).",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    new: Annotated[
        Path,
        typer.Argument(
            metavar="NEW",
            help="The spec after the change (YAML); may be OLD again, with other --set values.",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    set_values: Annotated[
        list[str] | None,
        typer.Option("--set", metavar="KEY=VALUE", help=SET_HELP + " Applies to both specs."),
    ] = None,
    old_set: Annotated[
        list[str] | None,
        typer.Option(
            "--old-set", metavar="KEY=VALUE", help="As --set, for OLD only (after --set)."
        ),
    ] = None,
    new_set: Annotated[
        list[str] | None,
        typer.Option(
            "--new-set", metavar="KEY=VALUE", help="As --set, for NEW only (after --set)."
        ),
    ] = None,
    depth: Annotated[
        int | None,
        typer.Option(
            "--depth",
            min=1,
            metavar="N",
            help="Compare module paths at most N levels deep, as summary --depth shows them.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    exit_code: Annotated[
        bool,
        typer.Option(
            "--exit-code", help="Exit 1 when anything changed, 0 when nothing did (for CI)."
        ),
    ] = False,
) -> None:
    """Show what changes from OLD to NEW: each module's output shape, parameters and
    multiply-accumulates before and after, the modules added and removed, the totals, and
    which tensors of OLD's state_dict NEW loads as they are (by key, as
    load_state_dict(strict=False)), reshaped, removed or new.

    Computed from the specs alone (torch is not imported). --set changes both specs,
    --old-set and --new-set one of them (after --set), so that one file can be compared
    with itself under other values.

    \b
    Examples:
      skipgen diff configs/resnet18.yaml mynet.yaml
      skipgen diff configs/resnet50.yaml configs/resnet50.yaml --new-set layers.8.classes=10
      skipgen diff old.yaml new.yaml --json
      skipgen diff old.yaml new.yaml --exit-code   # in CI: exit 1 on any change

    Exit codes: 0 done (1 with --exit-code when anything changed), 1 an invalid spec,
    2 usage errors.
    """
    both = set_values or []
    sides = [_read(old, [*both, *(old_set or [])]), _read(new, [*both, *(new_set or [])])]
    if sides[0] is None or sides[1] is None:
        raise typer.Exit(1)
    data = diff_data(sides[0], sides[1], depth)
    if as_json:
        typer.echo(json.dumps(data, indent=2))
    else:
        _render(data)
    if exit_code and data["changed"]:
        raise typer.Exit(1)
