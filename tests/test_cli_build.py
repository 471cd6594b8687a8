"""``skipgen build``: stdout, files, folders, --check, refusals and atomic writes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

import skipgen
from skipgen.backends.source import MARKER
from skipgen.cli import app

ROOT = Path(__file__).resolve().parent.parent
RESNET = ROOT / "configs" / "resnet18.yaml"
UNET = ROOT / "configs" / "unet_small.yaml"
BAD = "name: Bad\ninput: {channels: 3}\nlayers:\n  - {type: conv, channels: 0}\n"


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(app, ["build", *map(str, args)])


@pytest.fixture
def bad_spec(tmp_path: Path) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD)
    return path


def test_one_spec_goes_to_stdout() -> None:
    result = run(RESNET)
    assert result.exit_code == 0, result.output
    assert result.stdout == skipgen.generate_source(RESNET)
    assert result.stdout.startswith(MARKER)


def test_one_spec_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "models" / "resnet18.py"
    result = run(RESNET, "-o", out)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert out.read_text() == skipgen.generate_source(RESNET)
    assert not [p for p in out.parent.iterdir() if p != out]  # no temp file left


def test_a_rebuild_of_an_up_to_date_file_does_not_touch_it(tmp_path: Path) -> None:
    out = tmp_path / "resnet18.py"
    assert run(RESNET, "-o", out).exit_code == 0
    os.utime(out, (1_000_000, 1_000_000))
    result = run(RESNET, "-o", out)
    assert result.exit_code == 0
    assert "unchanged" in result.stderr
    assert out.stat().st_mtime == 1_000_000


def test_one_spec_into_an_existing_folder(tmp_path: Path) -> None:
    assert run(RESNET, "-o", tmp_path).exit_code == 0
    assert (tmp_path / "resnet18.py").read_text() == skipgen.generate_source(RESNET)


def test_several_specs_into_a_new_folder(tmp_path: Path) -> None:
    out = tmp_path / "models"
    result = run(RESNET, UNET, "-o", out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["resnet18.py", "unet_small.py"]
    assert (out / "unet_small.py").read_text() == skipgen.generate_source(UNET)


def test_new_files_are_readable_by_others(tmp_path: Path) -> None:
    out = tmp_path / "resnet18.py"
    assert run(RESNET, "-o", out).exit_code == 0
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([RESNET, UNET], "several specs need -o"),
        ([RESNET, "--check"], "--check compares with files"),
        ([RESNET, RESNET, "-o", "{tmp}"], "would both write"),
        ([RESNET, UNET, "-o", "{tmp}/file.txt"], "need a folder"),
        ([RESNET, "-o", "{tmp}/file.txt/"], "a trailing '/' means a folder"),
        (["missing.yaml"], "does not exist"),
        ([RESNET, "--bogus"], "No such option"),
        ([], "Missing argument"),
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, args: list, message: str) -> None:
    (tmp_path / "file.txt").write_text("not a folder")
    result = run(*(str(a).replace("{tmp}", str(tmp_path)) for a in args))
    assert result.exit_code == 2, result.output
    assert message in result.stderr


def test_check_passes_when_up_to_date(tmp_path: Path) -> None:
    assert run(RESNET, UNET, "-o", tmp_path).exit_code == 0
    before = {p: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    result = run(RESNET, UNET, "-o", tmp_path, "--check")
    assert result.exit_code == 0, result.output
    assert "2 files up to date" in result.stderr
    assert {p: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == before


def test_check_fails_with_a_diff_when_stale(tmp_path: Path) -> None:
    out = tmp_path / "resnet18.py"
    stale = skipgen.generate_source(RESNET).replace("BasicBlock(64, 64)", "BasicBlock(64, 65)")
    out.write_text(stale)
    result = run(RESNET, "-o", out, "--check")
    assert result.exit_code == 1
    assert "out of date" in result.stderr
    assert "-        self.layer1 = nn.Sequential(BasicBlock(64, 65), BasicBlock(64, 65))" in (
        result.stdout
    )
    assert "+        self.layer1 = nn.Sequential(BasicBlock(64, 64), BasicBlock(64, 64))" in (
        result.stdout
    )
    assert out.read_text() == stale  # --check writes nothing


def test_check_cuts_a_long_diff(tmp_path: Path) -> None:
    out = tmp_path / "resnet18.py"
    out.write_text("\n".join(f"line {i}" for i in range(500)))
    result = run(RESNET, "-o", out, "--check")
    assert result.exit_code == 1
    assert len(result.stdout.splitlines()) <= 41
    assert "more diff lines" in result.stdout


def test_check_fails_when_missing(tmp_path: Path) -> None:
    result = run(RESNET, UNET, "-o", tmp_path / "models", "--check")
    assert result.exit_code == 1
    assert "missing" in result.stderr
    assert not (tmp_path / "models").exists()


def test_a_file_skipgen_did_not_write_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "resnet18.py"
    out.write_text("my own code\n")
    result = run(RESNET, "-o", out)
    assert result.exit_code == 1
    assert "not generated by skipgen" in result.stderr
    assert "--force" in result.stderr
    assert out.read_text() == "my own code\n"


def test_the_spec_is_never_overwritten(tmp_path: Path) -> None:
    spec = tmp_path / "resnet18.yaml"
    spec.write_bytes(RESNET.read_bytes())
    for args in ([], ["--force"], ["--check"]):
        result = run(spec, "-o", spec, *args)
        assert result.exit_code == 1
        assert "an input of this command" in result.stderr
    assert spec.read_bytes() == RESNET.read_bytes()


def test_a_trailing_slash_makes_a_folder_for_one_spec(tmp_path: Path) -> None:
    result = run(RESNET, "-o", f"{tmp_path}/models/")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "models" / "resnet18.py").read_text() == skipgen.generate_source(RESNET)


def test_links_in_an_output_folder_are_written_through(tmp_path: Path) -> None:
    real = tmp_path / "real.py"
    real.write_text(f"{MARKER} 0.0.1 from resnet18.yaml. Do not edit:\nold = 1\n")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "resnet18.py").symlink_to(real)
    result = run(RESNET, UNET, "-o", tmp_path / "models")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "models" / "resnet18.py").is_symlink()
    assert real.read_text() == skipgen.generate_source(RESNET)


def test_check_refuses_what_is_not_a_regular_file(tmp_path: Path) -> None:
    fifo = tmp_path / "resnet18.py"
    os.mkfifo(fifo)
    command = [sys.executable, "-m", "skipgen", "build", str(RESNET), "-o", str(fifo), "--check"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "is a FIFO (named pipe)" in result.stderr


def test_a_refusal_writes_none_of_the_files(tmp_path: Path) -> None:
    (tmp_path / "unet_small.py").write_text("my own code\n")
    assert run(RESNET, UNET, "-o", tmp_path).exit_code == 1
    assert not (tmp_path / "resnet18.py").exists()


def test_force_overwrites_a_foreign_file(tmp_path: Path) -> None:
    out = tmp_path / "resnet18.py"
    out.write_text("my own code\n")
    result = run(RESNET, "-o", out, "--force")
    assert result.exit_code == 0, result.output
    assert out.read_text() == skipgen.generate_source(RESNET)


def test_an_invalid_spec_writes_nothing(tmp_path: Path, bad_spec: Path) -> None:
    out = tmp_path / "bad.py"
    out.write_text(f"{MARKER} 0.0.1 from bad.yaml. Do not edit:\nold = 1\n")
    before = out.read_bytes()
    result = run(bad_spec, "-o", out)
    assert result.exit_code == 1
    assert "bad.yaml:4:" in result.stderr and "error:" in result.stderr
    assert out.read_bytes() == before
    assert result.stdout == ""


def test_an_invalid_spec_among_several_writes_nothing(tmp_path: Path, bad_spec: Path) -> None:
    out = tmp_path / "models"
    result = run(RESNET, bad_spec, "-o", out)
    assert result.exit_code == 1
    assert not out.exists()


def test_an_invalid_spec_to_stdout(bad_spec: Path) -> None:
    result = run(bad_spec)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "bad.yaml:4:" in result.stderr


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "resnet18.py"
    old = f"{MARKER} 0.0.1 from resnet18.yaml. Do not edit:\nold = 1\n"
    out.write_text(old)

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    result = run(RESNET, "-o", out)
    assert result.exit_code == 1
    assert "cannot write" in result.stderr and "No space left" in result.stderr
    assert out.read_text() == old
    assert [p.name for p in tmp_path.iterdir()] == ["resnet18.py"]


def test_an_interrupted_write_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from skipgen import output

    out = tmp_path / "resnet18.py"

    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        output.write_atomic(out, "text")
    assert list(tmp_path.iterdir()) == []


def test_help_has_an_example() -> None:
    result = CliRunner().invoke(app, ["build", "--help"])
    assert result.exit_code == 0
    assert "skipgen build configs/*.yaml -o models/" in result.stdout
    for option in ("--output", "--check", "--force"):
        assert option in result.stdout
    text = " ".join(result.stdout.split())
    assert "a name ending in '/'" in text and "symbolic link is written through" in text


def test_the_command_line_does_not_import_torch(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from skipgen.cli import main\n"
        f"sys.argv = ['skipgen', 'build', {str(RESNET)!r}, '-o', {str(tmp_path)!r}]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exit:\n"
        "    assert exit.code in (0, None), exit.code\n"
        "assert 'torch' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "resnet18.py").read_text() == skipgen.generate_source(RESNET)


def test_the_installed_script_writes_the_same_bytes(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "skipgen", "build", str(RESNET)], capture_output=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == skipgen.generate_source(RESNET).encode("utf-8")
