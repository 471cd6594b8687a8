"""``skipgen new``: start a spec from a shipped config; ``--list`` them."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

import skipgen
from skipgen.cli import app
from skipgen.commands.new import shipped

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = sorted(p.stem for p in (ROOT / "configs").glob("*.yaml"))


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(app, ["new", *map(str, args)])


def test_every_config_is_shipped_in_the_package() -> None:
    package = resources.files("skipgen.configs")
    assert sorted(p.name[:-5] for p in package.iterdir() if p.name.endswith(".yaml")) == CONFIGS
    assert list(shipped()) == CONFIGS


def test_the_packaging_lists_every_package_and_maps_configs() -> None:
    """pyproject.toml names the packages (configs/ installs as skipgen.configs, a real
    folder rather than a link, which a checkout without links would lose): a package added
    to the tree and not to that list would be missing from wheels."""
    setup = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    tree = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "skipgen").rglob("__init__.py")
    }
    assert set(setup["packages"]) == tree | {"skipgen.configs"}
    assert setup["package-dir"] == {"skipgen.configs": "configs"}
    assert not (ROOT / "skipgen" / "configs").exists()


def test_list_gives_one_line_per_config() -> None:
    result = run("--list")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == CONFIGS
    resnet50 = next(line for line in lines if line.startswith("resnet50 "))
    assert "ResNet-50 (He et al. 2015), torchvision's resnet50" in resnet50
    assert resnet50.endswith("(N, 3, 224, 224), 25,557,032 parameters")  # torchvision's


@pytest.mark.parametrize("config", CONFIGS)
def test_new_writes_a_spec_named_after_the_file(
    config: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run("my_net", "--from", config)
    assert result.exit_code == 0, result.output
    written = tmp_path / "my_net.yaml"
    graph, original = (
        skipgen.lower_spec(written),
        skipgen.lower_spec(ROOT / "configs" / f"{config}.yaml"),
    )
    assert graph.name == "MyNet"  # the class name, in CapWords
    assert graph.params == original.params and graph.input_size == original.input_size
    assert "yaml-language-server" not in written.read_text()


def test_new_never_overwrites_without_force(tmp_path: Path) -> None:
    target = tmp_path / "mine.yaml"
    target.write_text("# my own work\n")
    result = run(target, "--from", "resnet18")
    assert result.exit_code == 1
    assert "not overwriting it (use --force to replace it)" in result.stderr
    assert target.read_text() == "# my own work\n"
    assert run(target, "--from", "resnet18", "--force").exit_code == 0
    assert skipgen.lower_spec(target).name == "Mine"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["x", "--from", "resnet19"],
            "no config 'resnet19'; did you mean 'resnet1d' or 'resnet18'",
        ),
        (["x"], "give --from CONFIG"),
        (["--from", "resnet18"], "give NAME"),
        (["none", "--from", "resnet18"], "'none' cannot name a network"),
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["new", *args], catch_exceptions=False)
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.split())
    assert not list(tmp_path.iterdir())
