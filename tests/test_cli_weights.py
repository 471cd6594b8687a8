"""``skipgen weights``: reading checkpoints, what it writes, and messages that name the file.

The matching rule itself is tested in ``test_weights.py``; the -o rule shared with the
other commands (links, FIFOs, folders, temporary files) in ``test_output.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import Tensor
from typer.testing import CliRunner, Result

import skipgen
from skipgen.checkpoints import MARK, is_weights_file
from skipgen.cli import app
from tests.weights_helpers import SPEC, tiny, torchvision_names


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "tiny.yaml").write_text(SPEC, encoding="utf-8")
    return tmp_path


def invoke(*args: str | os.PathLike[str]) -> Result:
    return CliRunner().invoke(app, ["weights", *map(str, args)])


def load(path: Path) -> dict[str, Tensor]:
    return torch.load(path, weights_only=True, map_location="cpu")


def test_cli_roundtrip(folder: Path) -> None:
    source = torchvision_names(tiny(1).state_dict())
    torch.save(source, folder / "tv.pth")
    result = invoke(folder / "tiny.yaml", folder / "tv.pth", "-o", folder / "out.pt")
    assert result.exit_code == 0, result.output
    assert "38 tensors of TinyResNet" in result.output
    assert "(32 matched by key, 6 by order)" in result.output
    saved = load(folder / "out.pt")
    assert list(saved) == list(skipgen.build_model(SPEC).state_dict())
    for ours, theirs in zip(saved.values(), source.values(), strict=True):
        assert torch.equal(ours, theirs)
    model = skipgen.build_model(SPEC)
    model.load_state_dict(saved)  # the output loads straight into the spec's model
    assert sorted(p.name for p in folder.iterdir()) == ["out.pt", "tiny.yaml", "tv.pth"]


def test_the_output_is_marked_as_skipgen_s_own(folder: Path) -> None:
    """The mark lives in the state dict's metadata: torch.load(weights_only=True) keeps it
    and load_state_dict (strict) ignores it, so the file stays a plain state dict."""
    torch.save(tiny(1).state_dict(), folder / "w.pt")
    out = folder / "out.pt"
    assert invoke(folder / "tiny.yaml", folder / "w.pt", "-o", out).exit_code == 0
    saved = load(out)
    assert saved._metadata[""][MARK] == skipgen.__version__
    skipgen.build_model(SPEC).load_state_dict(saved, strict=True)
    assert is_weights_file(out)
    assert not is_weights_file(folder / "w.pt")  # torch.save of a state_dict: not ours
    assert not is_weights_file(folder / "tiny.yaml")
    # A second run replaces skipgen's own file without --force.
    result = invoke(folder / "tiny.yaml", folder / "w.pt", "-o", out)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("entry", ["state_dict", "model"])
def test_cli_reads_a_checkpoint_dict(folder: Path, entry: str) -> None:
    source = tiny(1).state_dict()
    torch.save({entry: source, "epoch": 90, "optimizer": {"lr": 0.1}}, folder / "ckpt.pt")
    result = invoke(folder / "tiny.yaml", folder / "ckpt.pt", "--output", folder / "out.pt")
    assert result.exit_code == 0, result.output
    assert "matched by key" in result.output
    for ours, theirs in zip(load(folder / "out.pt").values(), source.values(), strict=True):
        assert torch.equal(ours, theirs)


def test_cli_mismatch_writes_nothing(folder: Path) -> None:
    torch.save(tiny(1).state_dict(), folder / "good.pt")
    out = folder / "out.pt"
    assert invoke(folder / "tiny.yaml", folder / "good.pt", "-o", out).exit_code == 0
    previous = out.read_bytes()
    source = tiny(2).state_dict()
    source["layer2.bn1.weight"] = torch.ones(32)
    torch.save(source, folder / "bad.pt")
    result = invoke(folder / "tiny.yaml", folder / "bad.pt", "-o", out)
    assert result.exit_code == 1
    assert "'layer2.bn1.weight'" in result.output and "(16)" in result.output
    assert "(32)" in result.output and "bad.pt" in result.output
    assert out.read_bytes() == previous
    assert sorted(p.name for p in folder.iterdir()) == ["bad.pt", "good.pt", "out.pt", "tiny.yaml"]


class RunsCode:
    """Unpickling this would create a directory: the file must be refused, not run."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.mkdir, (str(self.marker),))


def test_cli_refuses_a_pickle_that_would_run_code(folder: Path) -> None:
    marker = folder / "ran"
    payload = dict(tiny(1).state_dict()) | {"payload": RunsCode(marker)}
    torch.save(payload, folder / "evil.pt")
    result = invoke(folder / "tiny.yaml", folder / "evil.pt", "-o", folder / "out.pt")
    assert result.exit_code == 1
    assert "refusing to load" in result.output and "evil.pt" in result.output
    assert "mkdir" in result.output
    assert not marker.exists()
    assert not (folder / "out.pt").exists()


def write_weights(folder: Path, case: str) -> tuple[Path, str]:
    """A weights file that cannot be used, and the reason the error must give."""
    path = folder / f"{case}.pt"
    if case == "missing":
        return path, "cannot read"
    if case == "empty-file":
        path.write_bytes(b"")
        return path, "the file is empty"
    if case == "junk":
        path.write_bytes(b"not a weights file\n" * 10)
        return path, "cannot load"
    contents = {
        "empty-dict": ({}, "holds no tensors"),
        "empty-checkpoint": ({"state_dict": {}, "epoch": 3}, "holds no tensors"),
        "list": ([1, 2, 3], "holds no state dict"),
        "mismatch": ({"fc.weight": torch.zeros(2)}, "do not fit"),
    }
    data, reason = contents[case]
    torch.save(data, path)
    return path, reason


CASES = ["missing", "empty-file", "junk", "empty-dict", "empty-checkpoint", "list", "mismatch"]


@pytest.mark.parametrize("case", CASES)
def test_cli_unusable_weights_are_named_with_the_reason(folder: Path, case: str) -> None:
    weights, reason = write_weights(folder, case)
    result = invoke(folder / "tiny.yaml", weights, "-o", folder / "out.pt")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and str(weights) in result.stderr
    assert reason in result.stderr
    assert not (folder / "out.pt").exists()


def test_cli_a_fifo_as_weights_is_refused_without_waiting(folder: Path) -> None:
    fifo = folder / "fifo.pt"
    os.mkfifo(fifo)
    command = [sys.executable, "-m", "skipgen", "weights", str(folder / "tiny.yaml"), str(fifo)]
    # In a process of its own, so that a regression (waiting for a writer) fails, not hangs.
    result = subprocess.run(
        [*command, "-o", str(folder / "out.pt")], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert f"error: cannot read {fifo}: not a regular file" in result.stderr
    assert not (folder / "out.pt").exists()


def test_cli_invalid_spec(folder: Path) -> None:
    torch.save(tiny(1).state_dict(), folder / "w.pt")
    bad = folder / "bad.yaml"
    bad.write_text(SPEC.replace("channels: 16", "channels: -16"), encoding="utf-8")
    result = invoke(bad, folder / "w.pt", "-o", folder / "out.pt")
    assert result.exit_code == 1
    assert f"{bad}:6:" in result.output
    assert not (folder / "out.pt").exists()


def test_cli_output_errors_name_the_output(folder: Path) -> None:
    torch.save(tiny(1).state_dict(), folder / "w.pt")
    out = folder / "no" / "out.pt"
    result = invoke(folder / "tiny.yaml", folder / "w.pt", "-o", out)
    assert result.exit_code == 1
    assert f"cannot write {out}" in result.stderr and "does not exist" in result.stderr
    mine = folder / "mine.pt"
    mine.write_bytes(b"my notes")
    result = invoke(folder / "tiny.yaml", folder / "w.pt", "-o", mine)
    assert result.exit_code == 1
    assert f"error: {mine} exists and was not generated by skipgen" in result.stderr
    assert mine.read_bytes() == b"my notes"


def test_cli_usage() -> None:
    assert invoke("only-one-argument.yaml").exit_code == 2
    assert invoke("a.yaml", "b.pt").exit_code == 2  # -o is required
    help_text = invoke("--help").output
    assert "Example:" in help_text and "weights_only" in help_text
    for words in ("--force", "ambiguous", "symbolic link", "matched by key"):
        assert words in " ".join(help_text.split())


def test_saving_leaves_no_temporary_file_behind(tmp_path: Path, monkeypatch) -> None:
    from skipgen.checkpoints import write_weights

    out = tmp_path / "out.pt"
    write_weights({"w": torch.ones(2)}, out)
    assert out.stat().st_mode & 0o777 == 0o666 & ~current_umask()
    assert torch.equal(load(out)["w"], torch.ones(2))

    def broken_save(obj: object, file: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="No space"):
        write_weights({"w": torch.zeros(2)}, out)
    assert torch.equal(load(out)["w"], torch.ones(2))  # the old file is untouched
    assert [p.name for p in tmp_path.iterdir()] == ["out.pt"]


def current_umask() -> int:
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def test_complex_weights_are_named_complex(folder: Path) -> None:
    source = dict(tiny(1).state_dict())
    source["stem.0.weight"] = source["stem.0.weight"].to(torch.complex64)
    torch.save(source, folder / "complex.pt")
    result = invoke(folder / "tiny.yaml", folder / "complex.pt", "-o", folder / "out.pt")
    assert result.exit_code == 1
    said = " ".join(result.stderr.split())
    assert (
        "'stem.0.weight' has a floating-point tensor (float32) in the model, a complex tensor "
        "(complex64) in the weights; nothing was changed" in said
    )
    assert "integer" not in said
    assert not (folder / "out.pt").exists()
