"""``skipgen summary``, ``validate --explain`` and ``diff`` on graph specs: a layer that runs
on other outputs than the row above it names them (``from``), a merge all of its sources
in order, with each one's channels in ``validate``; chain-only specs print as before."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from skipgen.cli import app
from tests.graph_specs import ADD_MUL, FIRE, INCEPTION

ROOT = Path(__file__).resolve().parent.parent
CHAINS = ["resnet18", "unet_small", "mobilenet_v2", "densenet121"]


def run(*args: str | Path) -> Result:
    result = CliRunner().invoke(app, [*map(str, args)])
    assert result.exit_code == 0, result.output
    return result


def spec_file(tmp_path: Path, text: str) -> Path:
    spec = tmp_path / "net.yaml"
    spec.write_text(text)
    return spec


def table(text: str, header_start: str) -> list[dict[str, str]]:
    """The rows of a table printed as text, each cell cut where the next column's header
    starts: right for the left-aligned columns (module, kind, output, channels, from), not
    for summary's right-aligned figures, which these tests do not read."""
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.lstrip().startswith(header_start))
    header = lines[at]
    names = header.split()
    starts = [header.index(f" {name}") + 1 for name in names]
    ends = [*starts[1:], None]
    rows = []
    for line in lines[at + 1 :]:
        if line.lstrip().startswith("-"):  # summary's rule under the header
            continue
        if not line.strip():
            break
        rows.append(
            {
                name: line[start:end].strip()
                for name, start, end in zip(names, starts, ends, strict=True)
            }
        )
    return rows


def by_module(rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    return {row["module"]: row for row in rows}


def test_summary_names_what_each_branch_and_merge_reads(tmp_path: Path) -> None:
    text = run("summary", spec_file(tmp_path, FIRE)).stdout
    rows = by_module(table(text, "module"))
    assert text.splitlines()[2].split() == ["module", "kind", "output", "params", "MACs", "from"]
    for fire in ("fire1", "fire2"):
        assert rows[f"{fire}.expand3x3"]["from"] == "squeeze_activation"
        assert rows[f"{fire}.cat"]["from"] == "expand1x1_activation, expand3x3_activation"
        for chained in ("squeeze", "squeeze_activation", "expand1x1", "expand3x3_activation"):
            assert rows[f"{fire}.{chained}"]["from"] == ""
    assert rows["fire1.cat"]["output"] == "(128, 16, 16)"
    assert len(rows) == 1 + 2 * 7 + 1


def test_summary_json_and_depth(tmp_path: Path) -> None:
    spec = spec_file(tmp_path, ADD_MUL)
    (data,) = json.loads(run("summary", spec, "--json").stdout)
    reads = {row["module"]: row.get("from") for row in data["layers"]}
    assert reads == {
        "stem": None,
        "left": None,
        "right": ["stem"],
        "joined": ["left", "right"],
        "gate": None,
        "gated": ["joined", "gate"],
        "tail.first": ["stem"],  # the sequence reads it: its first layer runs on it
        "tail.second": None,
        "out": ["tail", "input"],
    }
    (shallow,) = json.loads(run("summary", spec, "--json", "--depth", "1").stdout)
    collapsed = {row["module"]: row.get("from") for row in shallow["layers"]}
    assert collapsed["tail"] == ["stem"]
    assert collapsed["out"] == ["tail", "input"]
    (inception,) = json.loads(run("summary", spec_file(tmp_path, INCEPTION), "--json").stdout)
    assert [row.get("from") for row in inception["layers"]] == [
        None,  # stem
        None,  # mix.b1: the block's input, which the row above gives
        ["input"],  # mix.b2a: `from: input`, the block's input
        None,
        ["input"],
        None,
        ["input"],
        None,
        ["b1", "b2b", "b3b", "b4b"],  # in the concat's order
        None,  # head
    ]
    (folded,) = json.loads(
        run("summary", spec_file(tmp_path, INCEPTION), "--json", "--depth", "1").stdout
    )
    assert all("from" not in row for row in folded["layers"])  # mix reads the row above


def test_validate_explain_gives_a_merges_channels_per_source(tmp_path: Path) -> None:
    text = run("validate", "--explain", spec_file(tmp_path, ADD_MUL)).stdout
    rows = by_module(table(text, "module"))
    assert rows["joined"]["channels"] == "8+8->8" and rows["joined"]["from"] == "left, right"
    assert rows["gated"]["channels"] == "8+1->8" and rows["gated"]["from"] == "joined, gate"
    assert rows["out"]["channels"] == "8+3->11" and rows["out"]["from"] == "tail, input"
    assert rows["right"]["channels"] == "8->8" and rows["right"]["from"] == "stem"
    assert rows["tail.first"]["from"] == "stem"
    assert rows["tail.second"]["skip"] == "add from gated (identity)"
    assert rows["left"]["from"] == rows["gate"]["from"] == ""
    fire = by_module(table(run("validate", "-e", spec_file(tmp_path, FIRE)).stdout, "module"))
    assert fire["fire2.cat"]["channels"] == "64+64->128"
    assert fire["fire2.expand3x3"]["channels"] == "16->64"
    assert fire["fire2"]["kind"] == "fire" and fire["fire2"]["channels"] == "128->128"


def test_inception_in_validate(tmp_path: Path) -> None:
    text = run("validate", "-e", spec_file(tmp_path, INCEPTION)).stdout
    rows = by_module(table(text, "module"))
    assert rows["mix.cat"]["channels"] == "4+4+4+4->16"
    assert rows["mix.cat"]["from"] == "b1, b2b, b3b, b4b"
    assert [rows[f"mix.b{i}a"]["from"] for i in (2, 3, 4)] == ["input"] * 3
    assert rows["mix.b4a"]["channels"] == "16->16"  # the pool reads the block's 16 channels


@pytest.mark.parametrize("config", CHAINS)
def test_a_chain_has_no_from_column(config: str) -> None:
    spec = ROOT / "configs" / f"{config}.yaml"
    sizes = ["--set", "input.size=32"] if config == "unet_small" else []
    summary = run("summary", spec, *sizes).stdout.splitlines()
    assert summary[2].split() == ["module", "kind", "output", "params", "MACs"]
    explain = run("validate", "-e", spec, *sizes).stdout.splitlines()
    assert explain[1].split() == ["module", "kind", "channels", "size", "skip", "params"]
    (data,) = json.loads(run("summary", spec, "--json", *sizes).stdout)
    assert not any("from" in row for row in data["layers"])


def test_heads_name_their_source() -> None:
    spec = ROOT / "configs" / "unet_deep_supervision.yaml"
    (data,) = json.loads(run("summary", spec, "--json").stdout)
    reads = {row["module"]: row["from"] for row in data["layers"] if "from" in row}
    assert reads == {"aux_bottom.0": ["bottom"], "aux_dec2.0": ["dec2"]}


def diff_json(*args: str | Path) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["diff", *map(str, args), "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_diff_reports_a_rewiring_where_no_figure_moved(tmp_path: Path) -> None:
    spec = spec_file(tmp_path, ADD_MUL)
    data = diff_json(spec, spec, "--new-set", "layers.5.from=[gate, joined]")
    assert data["changed"]
    (module,) = data["modules"]
    assert module["module"] == "gated" and module["change"] == "changed"
    assert (module["old"]["from"], module["new"]["from"]) == (
        ["joined", "gate"],
        ["gate", "joined"],
    )
    assert module["old"]["params"] == module["new"]["params"] == 0
    assert data["checkpoint"]["reshaped"] == data["checkpoint"]["new"] == []
    text = CliRunner().invoke(
        app, ["diff", str(spec), str(spec), "--new-set", "layers.5.from=[gate, joined]"]
    )
    assert "mul, from joined, gate -> mul, from gate, joined" in text.stdout


def test_diff_of_a_branch_read_elsewhere(tmp_path: Path) -> None:
    spec = spec_file(tmp_path, ADD_MUL)
    data = diff_json(spec, spec, "--new-set", "layers.2.from=input")
    (module,) = data["modules"]
    assert module["module"] == "right"
    assert (module["old"]["from"], module["new"]["from"]) == (["stem"], ["input"])
    assert module["arguments"] == ["in_channels"]
    (reshaped,) = data["checkpoint"]["reshaped"]
    assert reshaped == {
        "key": "right.0.weight",
        "old_shape": [8, 8, 1, 1],
        "new_shape": [8, 3, 1, 1],
    }
