"""The command line against hostile input: a folder's plugins, outputs that are inputs,
file names that hold newlines, odd tensors and odd NAMEs for ``new``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

import skipgen
from skipgen.cli import app
from skipgen.commands.graph import TextFormat, comment
from skipgen.commands.new import started_by_new
from skipgen.commands.schema import schema_text

ROOT = Path(__file__).resolve().parent.parent


def run_python(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` run in ``cwd`` as a user would type it there (no PYTHONPATH unless
    ``env`` gives one)."""
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )


# -- python -m skipgen finds plugins only where the console script does -------------------


def _planted_plugin(folder: Path) -> Path:
    """A folder holding a plugin as if installed there: a dist-info naming a module that
    leaves a marker file when imported, and a spec that names the plugin."""
    (folder / "planted").mkdir()
    marker = folder / "imported"
    (folder / "planted" / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    info = folder / "planted-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: planted\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[skipgen.kinds]\nplanted = planted\n")
    (folder / "spec.yaml").write_text(
        "name: Net\nplugins: [planted]\ninput: {channels: 3, size: 8}\n"
        "layers:\n  - {type: conv, channels: 4}\n"
    )
    return marker


def test_python_m_does_not_import_a_plugin_of_the_current_folder(tmp_path: Path) -> None:
    marker = _planted_plugin(tmp_path)
    done = run_python("-m", "skipgen", "validate", "spec.yaml", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert not marker.exists()
    assert "spec.yaml:2:11: error: plugins[0]: no installed package provides the skipgen " in (
        done.stderr
    )
    assert "'planted'" in done.stderr


def test_python_m_runs_from_a_source_checkout(tmp_path: Path) -> None:
    """A checkout that is not installed: its skipgen is found in the current folder (which
    -m puts first on the path), and `new --list` reads the configs/ folder beside it."""
    checkout = tmp_path / "checkout"
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "skipgen", checkout / "skipgen", ignore=ignore)
    shutil.copytree(ROOT / "configs", checkout / "configs", ignore=ignore)
    # -S: no site processing, so the installed (editable) skipgen is not on the path; the
    # dependencies come from site-packages, named on PYTHONPATH.
    env = {"PYTHONPATH": sysconfig.get_paths()["purelib"]}
    done = run_python("-S", "-m", "skipgen", "new", "--list", cwd=checkout, env=env)
    assert done.returncode == 0, done.stderr
    configs = sorted(p.stem for p in (ROOT / "configs").glob("*.yaml"))
    assert [line.split()[0] for line in done.stdout.splitlines()] == configs
    done = run_python(
        "-S", "-m", "skipgen", "new", "my_net", "--from", "resnet18", cwd=checkout, env=env
    )
    assert done.returncode == 0, done.stderr
    assert "name: MyNet\n" in (checkout / "my_net.yaml").read_text()


# -- the schema says what upsample's norm and act default to -------------------------------


def test_the_schema_says_upsample_has_no_norm_or_act_by_default() -> None:
    upsample = json.loads(schema_text())["$defs"]["Upsample"]["properties"]
    for field in ("norm", "act"):
        description = upsample[field]["description"]
        assert description.endswith(f"default: none (defaults.{field} does not apply to upsample)")
    assert (ROOT / "schemas" / "skipgen.schema.json").read_text() == schema_text()


# -- new: NAME is checked up front, its network named in CapWords, its file recognised ---


def new(*args: str | Path) -> Result:
    return CliRunner().invoke(app, ["new", *map(str, args)])


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "'' cannot name a network: a name is a letter followed by letters, digits"),
        (".", "'.' cannot name a network"),
        ("a\nb", "'a\\nb' holds the control character '\\n'"),
        ("a\rb", "holds the control character '\\r'"),
        ("specs/", "'specs/' ends in '/', so it names a folder, not a file"),
        ("specs/.yaml", "the file name '' cannot name a network"),
        ("2net", "'2net' cannot name a network"),
        ("my.net", "'my.net' cannot name a network"),
        ("none", "'none' cannot name a network: name: name 'None' is a Python keyword"),
    ],
)
def test_new_refuses_a_name_that_names_no_network(
    name: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = new(name, "--from", "resnet18")
    assert result.exit_code == 2, result.output
    said = " ".join(result.stderr.split())
    assert message in said
    assert "give a name such as my_net or specs/my_net (its network is then MyNet)" in said
    assert "expected a string" not in said and "YAML" not in said
    assert not list(tmp_path.rglob("*"))


@pytest.mark.parametrize(
    ("name", "network"),
    [("mynet", "Mynet"), ("my_net", "MyNet"), ("my-net", "MyNet"), ("MyNet", "MyNet")],
)
def test_new_names_the_network_in_capwords(
    name: str, network: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert new(name, "--from", "resnet18").exit_code == 0
    written = tmp_path / f"{name}.yaml"
    assert skipgen.lower_spec(written).name == network
    assert f"\nclass {network}(nn.Module):\n" in skipgen.generate_source(written)


def test_new_recognises_its_own_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run again, `new` finds the file it wrote: unchanged, it says so; edited (or from
    another config), it keeps it unless --force, and says that new wrote it."""
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    first = new("../../Evil", "--from", "resnet18")
    assert first.exit_code == 0, first.output
    written = tmp_path / "Evil.yaml"
    text = written.read_text()
    assert started_by_new(written)
    again = new("../../Evil", "--from", "resnet18")
    assert again.exit_code == 0, again.output
    assert "../../Evil.yaml: unchanged (skipgen new wrote it from resnet18)" in again.stderr
    written.write_text(text + "# my edit\n")
    for source in ("resnet18", "resnet50"):
        refused = new("../../Evil", "--from", source)
        assert refused.exit_code == 1
        said = " ".join(refused.stderr.split())
        assert "../../Evil.yaml exists: skipgen new started it" in said
        assert "not generated by skipgen" not in said
        assert written.read_text() == text + "# my edit\n"
    assert new("../../Evil", "--from", "resnet50", "--force").exit_code == 0
    assert "resnet50 config" in written.read_text().splitlines()[0]


def test_a_file_new_did_not_write_is_still_refused(tmp_path: Path) -> None:
    mine = tmp_path / "mine.yaml"
    mine.write_text("# Started from my own notes\nname: Mine\n")
    result = new(mine, "--from", "resnet18")
    assert result.exit_code == 1
    assert "exists and was not generated by skipgen" in " ".join(result.stderr.split())
    assert not started_by_new(mine)


# -- graph: the spec's file name stays inside the comment line ---------------------------

HOSTILE_NAME = 'net\nflowchart LR\n  x-->y\r\u2028%%{init: {"theme": "dark"}}%%.yaml'


@pytest.mark.parametrize("as_dot", [False, True])
def test_graph_keeps_a_file_name_in_its_comment_line(tmp_path: Path, as_dot: bool) -> None:
    plain, hostile = tmp_path / "net.yaml", tmp_path / HOSTILE_NAME
    text = "name: Net\ninput: {channels: 3, size: 8}\nlayers:\n  - {type: conv, channels: 4}\n"
    plain.write_text(text)
    hostile.write_text(text)
    args = ["graph", "--dot"] if as_dot else ["graph"]
    drawn = {p: CliRunner().invoke(app, [*args, str(p)]) for p in (plain, hostile)}
    assert all(r.exit_code == 0 for r in drawn.values()), drawn
    lines = {p: r.stdout.splitlines() for p, r in drawn.items()}
    assert lines[hostile][1:] == lines[plain][1:]  # the drawing itself is the same
    first = lines[hostile][0]
    start = "// " if as_dot else "%% "
    assert first.startswith(f"{start}Generated by skipgen graph from {tmp_path}")
    escaped = "\\n".join(["net", "flowchart LR", "  x-->y\\r\\u2028"])
    if as_dot:
        assert first.endswith(escaped + '%%{init: {"theme": "dark"}}%%.yaml')
    else:  # Mermaid reads %%{...}%% anywhere as a directive
        assert first.endswith(escaped + '\\x25\\x25{init: {"theme": "dark"}}\\x25\\x25.yaml')
        assert "%%{" not in drawn[hostile].stdout


@pytest.mark.parametrize("fmt", ["mermaid", "dot"])
def test_any_text_makes_one_comment_line(fmt: TextFormat) -> None:
    every = "".join(map(chr, range(0x3000))) + "\U0001f600\udce9"
    line = comment(every, fmt)
    assert line.isprintable() and len(line.splitlines()) == 1
    assert "%%" not in line[3:] if fmt == "mermaid" else line.startswith("// ")


# -- no -o is an input: the spec, a block file it includes (at any depth), a config ------

BLOCKS = """\
include: [more/inner.yaml]
blocks:
  cbr:
    params: {channels: int}
    layers:
      - {type: conv, channels: "${channels}"}
"""
INNER = """\
blocks:
  plain:
    params: {channels: int}
    layers:
      - {type: conv, channels: "${channels}", norm: none}
"""
SPEC = """\
name: Net
include: [blocks.yaml]
input: {channels: 3, size: 8}
layers:
  - {type: cbr, channels: 4}
"""


@pytest.fixture
def with_includes(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "more").mkdir()
    files = {
        "spec": tmp_path / "t.yaml",
        "blocks": tmp_path / "blocks.yaml",
        "inner": tmp_path / "more" / "inner.yaml",
    }
    for key, text in (("spec", SPEC), ("blocks", BLOCKS), ("inner", INNER)):
        files[key].write_text(text)
    return files


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(app, list(map(str, args)))


def unchanged(files: dict[str, Path]) -> bool:
    texts = {"spec": SPEC, "blocks": BLOCKS, "inner": INNER}
    return all(path.read_text() == texts[key] for key, path in files.items())


@pytest.mark.parametrize("include", ["blocks", "inner"])
@pytest.mark.parametrize("flags", [[], ["--force"], ["--check"]])
def test_build_never_writes_an_include(
    with_includes: dict[str, Path], include: str, flags: list[str]
) -> None:
    target = with_includes[include]
    result = invoke("build", with_includes["spec"], "-o", target, *flags)
    assert result.exit_code == 1
    said = " ".join(result.stderr.split())
    assert (
        f"error: {target} is an input of this command; never overwriting it, even with --force"
        in said
    )
    assert unchanged(with_includes)


def test_no_command_writes_an_include_through_a_link(
    with_includes: dict[str, Path], tmp_path: Path
) -> None:
    torch = pytest.importorskip("torch")
    spec, blocks = with_includes["spec"], with_includes["blocks"]
    state = {k: v.clone() for k, v in skipgen.build_model(spec).state_dict().items()}
    torch.save(state, tmp_path / "w.pt")
    for command, link in [
        (["build", spec], "out.py"),
        (["graph", spec], "out.mmd"),
        (["weights", spec, tmp_path / "w.pt"], "out.pt"),
    ]:
        (tmp_path / link).symlink_to(blocks)
        result = invoke(*command, "-o", tmp_path / link, "--force")
        assert result.exit_code == 1, (command, result.output)
        said = " ".join(result.stderr.split())
        assert f"is an input of this command ({blocks}); never overwriting it" in said
    assert unchanged(with_includes)


def test_build_writes_beside_its_includes(with_includes: dict[str, Path]) -> None:
    """An -o that is no input is written, an existing one too (the includes are read
    again then, to compare)."""
    out = with_includes["spec"].parent / "t.py"
    for _ in range(2):
        result = invoke("build", with_includes["spec"], "-o", out, "--force")
        assert result.exit_code == 0, result.output
    assert out.read_text() == skipgen.generate_source(with_includes["spec"])
    assert unchanged(with_includes)


def test_new_never_writes_a_shipped_config(tmp_path: Path) -> None:
    config = ROOT / "configs" / "resnet50.yaml"
    before = config.read_bytes()
    result = new(config.with_suffix(""), "--from", "resnet18", "--force")
    assert result.exit_code == 1
    assert f"{config} is an input of this command" in " ".join(result.stderr.split())
    assert config.read_bytes() == before
