"""``skipgen graph`` on graph specs: an edge from each output a layer reads (its `from`, a
merge's sources, `input`), none along the chain into a layer that reads elsewhere, and a
composite block's branches inside its frame. The expected edges are written from the specs."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from typer.testing import CliRunner

import skipgen
from skipgen.cli import app
from skipgen.errors import SpecError
from tests.composite.strategies import composite_specs
from tests.graph_specs import ADD_MUL, FIRE, INCEPTION, graph_specs
from tests.strategies import fuzz_settings, specs

ROOT = Path(__file__).resolve().parent.parent
HAS_DOT = shutil.which("dot") is not None

Edge = tuple[str, str, str]  # tail, head, label ("" for none)
SKIPS = {"add", "concat", "mul"}  # the labels of long skips' (dashed) edges


def draw(tmp_path: Path, text: str, *args: str) -> str:
    spec = tmp_path / "net.yaml"
    spec.write_text(text)
    result = CliRunner().invoke(app, ["graph", str(spec), *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def mermaid_edges(text: str) -> set[Edge]:
    found: set[Edge] = set()
    for line in text.splitlines():
        plain = re.fullmatch(r"  (\w+) --> (\w+)", line)
        ordered = re.fullmatch(r"  (\w+) -->\|(\d+)\| (\w+)", line)
        skip = re.fullmatch(r"  (\w+) -\. (\w+) \.-> (\w+)", line)
        if plain:
            found.add((plain[1], plain[2], ""))
        elif ordered:
            found.add((ordered[1], ordered[3], ordered[2]))
        elif skip:
            found.add((skip[1], skip[3], skip[2]))
    return found


def frames(text: str) -> dict[str, str]:
    """Each box of a Mermaid drawing: the innermost subgraph it is declared in."""
    stack, where = ["root"], {}
    for line in text.splitlines():
        if m := re.fullmatch(r"\s*subgraph (\w+)\[.*", line):
            stack.append(m[1])
        elif line.strip() == "end":
            stack.pop()
        elif m := re.fullmatch(r"\s*(\w+)\[\".*", line):
            where[m[1]] = stack[-1]
    return where


def heads(edges: set[Edge], box: str) -> set[str]:
    """The boxes that ``box`` feeds."""
    return {head for tail, head, _ in edges if tail == box}


def tails(edges: set[Edge], box: str) -> set[tuple[str, str]]:
    """What feeds ``box``, with the edges' labels."""
    return {(tail, label) for tail, head, label in edges if head == box}


def test_a_fire_module_draws_both_expands_from_the_squeeze(tmp_path: Path) -> None:
    text = draw(tmp_path, FIRE)
    edges = mermaid_edges(text)
    for fire, before in (("fire1", "n_stem"), ("fire2", "n_fire1_cat")):
        squeezed = f"n_{fire}_squeeze_activation"
        assert tails(edges, f"n_{fire}_squeeze") == {(before, "")}
        assert heads(edges, squeezed) == {f"n_{fire}_expand1x1", f"n_{fire}_expand3x3"}
        assert tails(edges, f"n_{fire}_expand3x3") == {(squeezed, "")}  # not the 1x1's act
        assert tails(edges, f"n_{fire}_cat") == {
            (f"n_{fire}_expand1x1_activation", "1"),
            (f"n_{fire}_expand3x3_activation", "2"),
        }
        body = [box for box, frame in frames(text).items() if frame == f"n_{fire}_group"]
        assert len(body) == 7  # both branches and the concat inside the block's frame
    assert tails(edges, "n_classifier") == {("n_fire2_cat", "")}
    assert len(edges) == 1 + 2 * 8 + 2  # input, each Fire's 8, the classifier and output
    assert 'n_fire1_cat["fire1.cat<br/>concat<br/>(128, 16, 16)"]' in text


def test_an_inception_block_reads_its_input_four_times(tmp_path: Path) -> None:
    text = draw(tmp_path, INCEPTION)
    edges = mermaid_edges(text)
    starts = {"n_mix_b1", "n_mix_b2a", "n_mix_b3a", "n_mix_b4a"}
    assert heads(edges, "n_stem") == starts  # `from: input` is the block's input
    assert tails(edges, "n_mix_cat") == {
        ("n_mix_b1", "1"),
        ("n_mix_b2b", "2"),
        ("n_mix_b3b", "3"),
        ("n_mix_b4b", "4"),
    }
    assert not heads(edges, "n_mix_b1") - {"n_mix_cat"}  # no chain from one branch on
    assert not heads(edges, "n_mix_b2b") - {"n_mix_cat"}
    inside = {box for box, frame in frames(text).items() if frame == "n_mix_group"}
    assert inside == {*starts, "n_mix_b2b", "n_mix_b3b", "n_mix_b4b", "n_mix_cat"}
    assert tails(edges, "n_head") == {("n_mix_cat", "")}


def test_add_and_mul_merges_and_a_sequence_that_reads_far_back(tmp_path: Path) -> None:
    edges = mermaid_edges(draw(tmp_path, ADD_MUL))
    assert heads(edges, "n_stem") == {"n_left", "n_right", "n_tail_first"}
    assert tails(edges, "n_joined") == {("n_left", ""), ("n_right", "")}  # an add: no order
    assert tails(edges, "n_gated") == {("n_joined", ""), ("n_gate", "")}
    assert tails(edges, "n_tail_second") == {("n_tail_first", ""), ("n_gated", "add")}
    assert tails(edges, "n_out") == {("n_tail_second", "1"), ("input", "2")}
    assert heads(edges, "n_gated") == {"n_tail_second"}  # its long skip; no chain edge
    assert tails(edges, "output") == {("n_out", "")}


def test_dot_draws_the_same_edges_and_dot_reads_them(tmp_path: Path) -> None:
    for spec in (FIRE, INCEPTION, ADD_MUL):
        mermaid = mermaid_edges(draw(tmp_path, spec))
        text = draw(tmp_path, spec, "--dot")
        found: set[Edge] = set()
        for tail, head, attrs in re.findall(r"^  (\w+) -> (\w+)(?: \[(.*)\])?;$", text, re.M):
            label = re.search(r'(?:head)?label="(\w+)"', attrs)
            found.add((tail, head, label[1] if label else ""))
        assert found == mermaid
        if HAS_DOT:
            done = subprocess.run(["dot", "-Tplain"], input=text, capture_output=True, text=True)
            assert done.returncode == 0 and not done.stderr, done.stderr


def test_heads_branch_off_and_each_output_has_a_box() -> None:
    spec = ROOT / "configs" / "unet_deep_supervision.yaml"
    result = CliRunner().invoke(app, ["graph", str(spec), "--set", "input.size=64"])
    assert result.exit_code == 0, result.output
    edges = mermaid_edges(result.stdout)
    assert heads(edges, "n_bottom") == {"n_up1", "n_aux_bottom_0"}
    assert heads(edges, "n_conv3") == {"n_up2", "n_aux_dec2_0"}  # `dec2`, by id
    assert tails(edges, "output_aux_bottom") == {("n_aux_bottom_0", "")}
    assert tails(edges, "output_head") == {("n_head", "")}
    assert 'output_aux_dec2["output aux_dec2<br/>(2, 32, 32)"]' in result.stdout


# The shipped configs that merge branches (SqueezeNet's Fire, GoogLeNet's Inception, ...).
MERGING = [
    config
    for config in sorted((ROOT / "configs").glob("*.yaml"))
    if any(f"type: {kind}, from: [" in config.read_text() for kind in ("concat", "add", "mul"))
]


@pytest.mark.parametrize("config", MERGING, ids=lambda p: p.stem)
def test_every_merge_of_a_config_has_an_edge_from_each_source(config: Path) -> None:
    graph = skipgen.lower_spec(config)
    result = CliRunner().invoke(app, ["graph", str(config)])
    assert result.exit_code == 0, result.output
    edges = mermaid_edges(result.stdout)
    boxes = frames(result.stdout)
    for path, stage in graph.leaves():
        box = "n_" + "_".join(path)
        if stage.merges:
            labels = {label for _, label in tails(edges, box)}
            assert len(tails(edges, box)) == len(stage.reads), path
            if stage.nodes[0].kind == "concat":
                assert labels == {str(i) for i in range(1, len(stage.reads) + 1)}, path
        for tail, _ in tails(edges, box):
            assert tail in boxes or tail == "input"  # every edge from a box drawn


@fuzz_settings(30, HealthCheck.function_scoped_fixture)
@given(spec=st.one_of(graph_specs(), specs(), composite_specs()))
def test_every_box_is_fed_once_and_a_merge_once_per_source(
    spec: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "net.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    try:
        graph = skipgen.lower_spec(path)
    except SpecError:
        return
    result = CliRunner().invoke(app, ["graph", str(path)])
    assert result.exit_code == 0, result.output
    edges = mermaid_edges(result.stdout)
    merges = {"n_" + "_".join(p): len(s.reads) for p, s in graph.leaves() if s.merges}
    for box in frames(result.stdout):
        fed = {(tail, label) for tail, label in tails(edges, box) if label not in SKIPS}
        assert len(fed) == merges.get(box, 0 if box == "input" else 1), box
