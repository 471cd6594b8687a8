"""``skipgen diff``: real edits of the shipped configs, each module's figures against
``summary``'s, and the checkpoint report against what torch loads and refuses."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pytest
import torch
from typer.testing import CliRunner, Result

import skipgen
from skipgen.cli import app
from skipgen.commands.summary import summary_data
from skipgen.weights import WeightsMismatchError
from tests.conftest import ROOT

CONFIGS = ROOT / "configs"
RESNET18 = CONFIGS / "resnet18.yaml"


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(app, ["diff", *map(str, args)])


def diff_json(old: Path, new: Path, *args: str) -> dict[str, Any]:
    result = run(old, new, "--json", *args)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def inserted_block(tmp_path: Path) -> Path:
    """unet_small.yaml with one more conv in the middle of its encoder."""
    text = (CONFIGS / "unet_small.yaml").read_text()
    anchor = "  - {type: conv, channels: 32, repeat: 2, id: enc2}\n"
    assert anchor in text
    extra = "  - {type: conv, channels: 32, name: extra}\n"
    path = tmp_path / "unet_small_more.yaml"
    path.write_text(text.replace(anchor, anchor + extra))
    return path


# (old spec, new spec or None for the same file, --set for both, --new-set)
EDITS = {
    "classes": (RESNET18, None, [], ["layers.8.classes=10"]),
    "width": (RESNET18, None, [], ["layers.5.channels=192"]),
    "repeat": (CONFIGS / "mobilenet_v2.yaml", None, [], ["layers.0.layers.2.repeat=3"]),
    "renamed": (RESNET18, None, [], ["layers.4.name=stage1"]),
    "input": (CONFIGS / "resnet50.yaml", None, [], ["input.channels=1"]),
    "inserted": (CONFIGS / "unet_small.yaml", "inserted", ["input.size=64"], []),
    "unchanged": (CONFIGS / "densenet121.yaml", None, [], []),
}


def edit(name: str, tmp_path: Path) -> tuple[Path, Path, list[str], list[str], list[str]]:
    """The two specs, the --set values of each, and the command's arguments."""
    old, new, both, changes = EDITS[name]
    new_path = inserted_block(tmp_path) if new == "inserted" else old
    args = [a for value in both for a in ("--set", value)]
    args += [a for value in changes for a in ("--new-set", value)]
    return old, new_path, [*both], [*both, *changes], args


def rows(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    keys = ("kind", "output_shape", "params", "macs", "skip")
    return {row["module"]: {k: row[k] for k in keys if k in row} for row in data["layers"]}


@pytest.mark.parametrize("name", sorted(EDITS))
def test_modules_and_totals_are_summarys(name: str, tmp_path: Path) -> None:
    old, new, old_set, new_set, args = edit(name, tmp_path)
    data = diff_json(old, new, *args)
    before = summary_data(skipgen.lower_spec(old, set=old_set))
    after = summary_data(skipgen.lower_spec(new, set=new_set))
    old_rows, new_rows = rows(before), rows(after)
    differ = {p for p in old_rows.keys() | new_rows.keys() if old_rows.get(p) != new_rows.get(p)}
    shown = {m["module"]: m for m in data["modules"]}
    assert differ <= shown.keys()
    for path, module in shown.items():
        assert module["old"] == old_rows.get(path) and module["new"] == new_rows.get(path)
        expected = (
            "added" if path not in old_rows else "removed" if path not in new_rows else "changed"
        )
        assert module["change"] == expected
        assert module["old"] != module["new"] or module["arguments"]
    for key, total in data["totals"].items():
        assert (total["old"], total["new"]) == (before["totals"][key], after["totals"][key])
    assert data["changed"] == (name != "unchanged")


def built(spec: Path, changes: list[str]) -> torch.nn.Module:
    return skipgen.build_model(skipgen.lower_spec(spec, set=changes))


def state(spec: Path, changes: list[str]) -> dict[str, torch.Tensor]:
    return built(spec, changes).state_dict()


@pytest.mark.parametrize("name", sorted(EDITS))
def test_the_checkpoint_report_is_what_torch_loads_and_refuses(name: str, tmp_path: Path) -> None:
    old, new, old_set, new_set, args = edit(name, tmp_path)
    report = diff_json(old, new, *args)["checkpoint"]
    weights = state(old, old_set)
    model = built(new, new_set)
    reshaped = [r["key"] for r in report["reshaped"]]
    with pytest.raises(RuntimeError) if reshaped else nullcontext():
        model.load_state_dict(weights, strict=False)
    if reshaped:  # torch names every tensor it refuses for its shape
        refused = re.findall(r"size mismatch for ([\w.]+)", _refusal(model, weights))
        assert refused == reshaped
    fitting = {k: v for k, v in weights.items() if k not in reshaped}
    loaded = model.load_state_dict(fitting, strict=False)
    left = {r["key"] for r in report["new"]} | set(reshaped)  # as initialised
    assert len(left) == len(report["new"]) + len(reshaped)
    # torch gives a batch norm whose counter the weights lack its own, and does not list it
    counters = {k for k in left if k.endswith(".num_batches_tracked")}
    assert loaded.missing_keys == [k for k in model.state_dict() if k in left - counters]
    assert loaded.unexpected_keys == [r["key"] for r in report["removed"]]
    unchanged = [k for k in model.state_dict() if k in fitting]
    assert report["unchanged"] == unchanged
    for key in unchanged:
        assert torch.equal(model.state_dict()[key], weights[key])
    assert_by_order_is_transfer_weights(report, model, weights)


def _refusal(model: torch.nn.Module, weights: dict[str, torch.Tensor]) -> str:
    try:
        model.load_state_dict(weights, strict=False)
    except RuntimeError as error:
        return str(error)
    raise AssertionError("torch loaded tensors of another shape")


def assert_by_order_is_transfer_weights(
    report: dict[str, Any], model: torch.nn.Module, weights: dict[str, torch.Tensor]
) -> None:
    """What ``skipgen weights --skip-mismatched`` does, beyond the keys."""
    order = report["by_order"]
    if order["refused"] is not None:
        with pytest.raises(WeightsMismatchError, match="ambiguous"):
            skipgen.transfer_weights(model, weights, mismatched="skip")
        return
    done = skipgen.transfer_weights(model, weights, mismatched="skip")
    fits = {p["key"]: p["from"] for p in order["pairs"] if p["old_shape"] == p["new_shape"]}
    assert done.by_order == fits
    unfit = [p["key"] for p in order["pairs"] if p["key"] not in fits]
    assert sorted(s.model_key for s in done.skipped) == sorted(
        [r["key"] for r in report["reshaped"]] + unfit
    )
    paired = {p["key"] for p in order["pairs"]} | {p["from"] for p in order["pairs"]}
    assert list(done.unexpected) == [r["key"] for r in report["removed"] if r["key"] not in paired]


def test_the_text_lists_what_changed_and_what_torch_refuses() -> None:
    result = run(RESNET18, RESNET18, "--new-set", "layers.8.classes=10")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"old: {RESNET18} (ResNet18, (N, 3, 224, 224) -> (N, 1000))"
    assert lines[1].startswith(f"new: {RESNET18} --set layers.8.classes=10 (")
    (fc,) = [line for line in lines if line.split()[:2] == ["fc", "changed"]]
    assert "(1000) -> (10)" in fc and "classes" in fc
    old, new = state(RESNET18, []), state(RESNET18, ["layers.8.classes=10"])
    for key in ("fc.weight", "fc.bias"):
        before = ", ".join(map(str, old[key].shape))
        after = ", ".join(map(str, new[key].shape))
        assert f"  {key!r}: ({before}) -> ({after})" in lines
    params = sum(t.numel() for t in skipgen.build_model(RESNET18).parameters())
    assert f"parameters: {params:,} -> " in result.stdout
    assert result.stdout.isascii() and "\x1b" not in result.stdout


def test_an_activation_alone_is_a_change_of_arguments() -> None:
    data = diff_json(RESNET18, RESNET18, "--new-set", "defaults.act=silu")
    assert data["changed"] and all(t["change"] == 0 for t in data["totals"].values())
    assert {m["module"] for m in data["modules"]} == {
        f"layer{i}.{j}" for i in range(1, 5) for j in (0, 1)
    }
    assert all(m["arguments"] == ["act"] for m in data["modules"])
    assert data["checkpoint"]["reshaped"] == data["checkpoint"]["new"] == []


def test_exit_code_follows_git_diff() -> None:
    same = run(RESNET18, RESNET18, "--exit-code")
    assert same.exit_code == 0, same.output
    assert same.stdout.splitlines()[-1].startswith("no change")
    other = ["--new-set", "layers.5.repeat=3"]
    assert run(RESNET18, RESNET18, *other).exit_code == 0
    assert run(RESNET18, RESNET18, *other, "--exit-code").exit_code == 1
    assert run(RESNET18, RESNET18, *other, "--exit-code", "--json").exit_code == 1


def test_set_applies_to_both_and_each_side_has_its_own() -> None:
    unet = CONFIGS / "unet.yaml"
    data = diff_json(unet, unet, "--set", "input.size=64", "--old-set", "layers.0.channels=32")
    assert data["old"]["set"] == ["input.size=64", "layers.0.channels=32"]
    assert data["new"]["set"] == ["input.size=64"]
    assert data["old"]["input_shape"] == data["new"]["input_shape"] == [3, 64, 64]
    assert data["totals"]["macs"]["change"] > 0


def test_depth_compares_the_collapsed_rows() -> None:
    data = diff_json(RESNET18, RESNET18, "--new-set", "layers.5.channels=192", "--depth", "1")
    assert [m["module"] for m in data["modules"]] == ["layer2", "layer3"]


def test_an_invalid_spec_exits_1_with_its_location(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: Bad\ninput: {channels: 3}\nlayers:\n  - {type: conv, channels: 0}\n")
    result = run(RESNET18, bad)
    assert result.exit_code == 1
    assert f"{bad}:4:28: error: layers[0].channels: must be at least 1" in result.stderr
    wrong = run(RESNET18, RESNET18, "--new-set", "layers.0.chanels=3")
    assert wrong.exit_code == 1 and "--set layers.0.chanels=3: error" in wrong.stderr


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run(RESNET18).exit_code == 2
    assert run(RESNET18, tmp_path / "none.yaml").exit_code == 2
    assert run(RESNET18, RESNET18, "--depth", "0").exit_code == 2


def test_a_terminal_gets_colours(monkeypatch: pytest.MonkeyPatch) -> None:
    import skipgen.commands.common as common

    monkeypatch.setattr(common, "stdout_is_tty", lambda: True)
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.delenv("NO_COLOR", raising=False)
    coloured = run(RESNET18, RESNET18, "--new-set", "layers.8.classes=10").stdout
    assert "\x1b[36mfc" in coloured and "\x1b[33mchanged" in coloured


def test_diff_never_imports_torch() -> None:
    argv = ["diff", str(RESNET18), str(RESNET18), "--new-set", "layers.4.repeat=3"]
    code = (
        "import sys\n"
        "from skipgen.cli import main\n"
        f"sys.argv = ['skipgen', *{argv!r}]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exit:\n"
        "    assert exit.code in (0, None), exit.code\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "layer1.2" in done.stdout


def test_the_readme_shows_real_output(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_readme import _console_commands

    monkeypatch.chdir(ROOT)
    (command,) = [c for c in _console_commands() if c.startswith("skipgen diff ")]
    result = CliRunner().invoke(app, command.split()[1:])
    assert result.exit_code == 0, result.output
    assert result.output.rstrip("\n") == _console_commands()[command]
