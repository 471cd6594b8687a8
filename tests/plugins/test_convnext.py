"""A kind from another package, end to end: the test plugin's ConvNeXt block."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import skipgen
from skipgen.errors import SpecError
from tests.backends.helpers import assert_equivalent, load_module, ruff

SPEC = """\
name: TinyNeXt
plugins: [convnext]
input: {channels: 3, size: 32}
layers:
  - {type: conv, channels: 16, kernel: 4, stride: 4, act: none}
  - {type: convnext, repeat: 2}
  - {type: convnext, expansion: 2, skip: none}
  - {type: global_pool}
  - {type: classifier, classes: 10}
"""


def convnext_params(channels: int, expansion: int) -> int:
    """Counted by hand from the paper's block: dwconv, LayerNorm, 1x1, 1x1, layer scale."""
    hidden = channels * expansion
    dwconv = 7 * 7 * channels + channels
    return (
        dwconv
        + 2 * channels
        + (channels * hidden + hidden)
        + (hidden * channels + channels)
        + channels
    )


def test_validate_lowers_shapes_and_counts() -> None:
    graph = skipgen.lower_spec(SPEC)
    stem = 3 * 16 * 4 * 4 + 2 * 16  # conv without bias, then batch norm
    blocks = 2 * convnext_params(16, 4) + convnext_params(16, 2)
    assert graph.params == stem + blocks + (16 * 10 + 10)
    assert graph.stages[1].nodes[-1].out_size == (8, 8)
    assert graph.output_shape() == (1, 10) or graph.output_shape()[-1] == 10


def test_build_model_matches_the_lowering() -> None:
    torch = pytest.importorskip("torch")
    model = skipgen.build_model(SPEC)
    assert sum(p.numel() for p in model.parameters()) == skipgen.lower_spec(SPEC).params
    block = model.get_submodule("stage1")[0]
    assert type(block).__name__ == "ConvNeXtBlock"
    assert block.dwconv.groups == 16 and block.dwconv.kernel_size == (7, 7)
    assert block.pwconv1.out_channels == 64
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_emitted_file_is_clean_and_equivalent(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    text = skipgen.generate_source(SPEC)
    imports = [line for line in text.splitlines() if line.startswith(("import ", "from "))]
    assert not [line for line in imports if "skipgen" in line]
    # the plugin's block comes with the library helper it still calls; drop_path, which
    # every use leaves at rate 0, is specialised away
    assert "class ConvNeXtBlock(nn.Module):" in text and "def combine(" in text
    assert "drop_path" not in text
    path = tmp_path / "tiny_next.py"
    path.write_text(text, encoding="utf-8")
    assert ruff("check", path).returncode == 0
    assert ruff("format", "--check", path).returncode == 0
    emitted = load_module(text, tmp_path).TinyNeXt()
    runtime = skipgen.build_model(SPEC)
    assert list(emitted.state_dict()) == list(runtime.state_dict())
    emitted.load_state_dict(runtime.state_dict(), strict=True)
    emitted.eval()
    runtime.eval()
    x = torch.randn(2, 3, 32, 32)
    torch.testing.assert_close(emitted(x), runtime(x))


def test_fuse_folds_the_stem_and_leaves_the_plugin_blocks(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from tests.backends.helpers import trained

    runtime = trained(skipgen.build_model(SPEC))
    emitted = load_module(skipgen.generate_source(SPEC), tmp_path).TinyNeXt()
    emitted.load_state_dict(runtime.state_dict())
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        expected = runtime(x)
        for network in (runtime, emitted):
            network.eval().fuse()
            kinds = [type(m).__name__ for m in network.modules()]
            assert "BatchNorm2d" not in kinds  # the stem's, folded
            assert kinds.count("ChannelLayerNorm") == 3  # the blocks' own, untouched
            torch.testing.assert_close(network(x), expected, rtol=1e-5, atol=1e-5)


def test_validate_and_build_never_import_torch(tmp_path: Path) -> None:
    spec = tmp_path / "tiny_next.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    code = (
        "import sys, skipgen\n"
        f"skipgen.lower_spec({str(spec)!r})\n"
        f"skipgen.generate_source({str(spec)!r})\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "assert 'skipgen_convnext.kinds' in sys.modules\n"
        "assert 'skipgen_convnext.nn' not in sys.modules, 'the nn module was imported'\n"
        "assert 'skipgen_convnext.faulty' not in sys.modules, 'an unnamed plugin was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_cli_validates_a_plugin_spec(tmp_path: Path) -> None:
    spec = tmp_path / "tiny_next.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "skipgen", "validate", str(spec)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def _error(text: str) -> str:
    with pytest.raises(SpecError) as caught:
        skipgen.lower_spec(text)
    return str(caught.value)


def _with_plugins(plugins: str, layer: str = "{type: convnext}") -> str:
    return SPEC.replace("plugins: [convnext]", f"plugins: {plugins}").replace(
        "  - {type: convnext, repeat: 2}", f"  - {layer}"
    )


def test_a_kind_needs_its_plugin_named() -> None:
    message = _error(SPEC.replace("plugins: [convnext]\n", ""))
    assert "<string>:5:12: error: layers[1].type: unknown block type 'convnext'" in message
    assert "a plugin's kind needs the plugin under `plugins` (installed: absent, " in message


@pytest.mark.parametrize(
    ("plugins", "expected"),
    [
        ("[convnxt]", "<string>:2:11: error: plugins[0]: no installed package provides"),
        (
            "[convnext, broken]",
            "<string>:2:21: error: plugins[1]: plugin 'broken' cannot be loaded",
        ),
        ("[clash]", "<string>:2:11: error: plugins[0]: plugin 'clash' defines the kind 'conv'"),
    ],
)
def test_a_bad_plugin_is_an_error_at_its_entry(plugins: str, expected: str) -> None:
    assert expected in _error(_with_plugins(plugins))


@pytest.mark.parametrize(
    ("plugin", "file", "line", "message"),
    [
        ("star", "star.py", 3, "cannot copy a star import"),
        ("unresolved", "unresolved.py", 8, "cannot resolve the name 'scale'"),
        ("outside", "outside.py", 5, "cannot follow this relative import"),
    ],
)
def test_a_construct_the_emitter_cannot_copy_names_plugin_file_and_line(
    plugin: str, file: str, line: int, message: str
) -> None:
    spec = _with_plugins(f"[{plugin}]", f"{{type: {plugin}}}").replace(
        "  - {type: convnext, expansion: 2, skip: none}\n", ""
    )
    skipgen.lower_spec(spec)  # valid: only copying it fails
    with pytest.raises(SpecError) as caught:
        skipgen.generate_source(spec)
    (diagnostic,) = caught.value.diagnostics
    assert (Path(diagnostic.file).name, diagnostic.line) == (file, line)
    assert diagnostic.message == f"plugin {plugin!r}: {message}"
    assert diagnostic.hint


def test_a_block_that_cannot_be_imported_is_an_error_at_its_layer() -> None:
    spec = _with_plugins("[absent]", "{type: absent}").replace(
        "  - {type: convnext, expansion: 2, skip: none}\n", ""
    )
    with pytest.raises(SpecError) as caught:
        skipgen.build_model(spec)
    (diagnostic,) = caught.value.diagnostics
    assert (diagnostic.file, diagnostic.line, diagnostic.col) == ("<string>", 6, 5)
    assert diagnostic.message.startswith(
        "plugin 'absent': cannot import 'skipgen_convnext.absent:Absent': ModuleNotFoundError"
    )
    with pytest.raises(SpecError, match="plugin 'absent': cannot find the source"):
        skipgen.generate_source(spec)


def test_an_entry_point_that_gives_no_kinds_is_an_error() -> None:
    message = _error(_with_plugins("[notkinds]"))
    assert (
        "<string>:2:11: error: plugins[0]: plugin 'notkinds' gives 'conv', which is not a kind"
        in message
    )


def test_a_kind_reports_its_own_errors_at_the_field() -> None:
    message = _error(_with_plugins("[convnext]", "{type: convnext, skip: concat}"))
    assert "<string>:6:28: error: layers[1].skip: a convnext block adds its input" in message


def test_the_emitter_follows_imports_inside_the_plugin_package() -> None:
    text = skipgen.generate_source(SPEC)
    assert "ConvNeXtBlock(16)," in text  # the signature's defaults are left out
    assert text.index("class ChannelLayerNorm(nn.LayerNorm):") < text.index("class ConvNeXtBlock(")
    assert "from .norm" not in text


NESTED = """\
name: NestedNeXt
plugins: [convnext]
input: {channels: 3, size: 32}
layers:
  - {type: conv, channels: 16, kernel: 4, stride: 4, act: none, id: stem}
  - type: sequence
    name: stages
    layers:
      - {type: convnext, repeat: 2}
      - {type: sequence, name: last, layers: [{type: convnext, expansion: 2}]}
  - {type: conv, channels: 16, kernel: 1, skip: {mode: add, from: stem}}
  - {type: classifier, classes: 10}
"""


def test_a_plugin_kind_inside_a_sequence_in_both_backends(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    graph = skipgen.lower_spec(NESTED)
    assert graph.params == (
        3 * 16 * 4 * 4
        + 2 * 16
        + 2 * convnext_params(16, 4)
        + convnext_params(16, 2)
        + 16 * 16
        + 2 * 16
        + 16 * 10
        + 10
    )
    model = skipgen.build_model(NESTED).eval()
    keys = list(model.state_dict())
    assert "stages.1.dwconv.weight" in keys and "stages.last.0.gamma" in keys
    emitted = load_module(skipgen.generate_source(NESTED), tmp_path).NestedNeXt().eval()
    emitted.load_state_dict(model.state_dict())
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(emitted(x), model(x))


def test_an_unknown_kind_inside_a_sequence_names_the_plugins_kinds_too() -> None:
    bad = NESTED.replace("{type: convnext, expansion: 2}", "{type: convnxt}")
    with pytest.raises(SpecError) as caught:
        skipgen.lower_spec(bad)
    [diagnostic] = caught.value.diagnostics
    assert "unknown block type 'convnxt'" in diagnostic.message
    assert diagnostic.hint is not None and "'convnext'" in diagnostic.hint


def test_summary_counts_the_cost_a_plugin_kind_states(tmp_path: Path) -> None:
    """The kind's `macs` formula gives its block's cost, as torchinfo counts it."""
    from typer.testing import CliRunner

    from skipgen.cli import app
    from tests.test_cli_summary import assert_matches_torchinfo

    spec = tmp_path / "tiny_next.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    result = CliRunner().invoke(app, ["summary", str(spec), "--json"])
    assert result.exit_code == 0, result.output
    (data,) = json.loads(result.stdout)
    assert data["totals"]["macs"] is not None
    assert_matches_torchinfo(data, spec, None)


def test_summary_marks_a_plugin_blocks_cost_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from skipgen.cli import app
    from skipgen.commands import cost

    monkeypatch.setattr(cost, "loaded_macs", dict)  # as if the kind stated no cost
    spec = tmp_path / "tiny_next.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    result = CliRunner().invoke(app, ["summary", str(spec), "--json"])
    assert result.exit_code == 0, result.output
    (data,) = json.loads(result.stdout)
    macs = {row["module"]: row["macs"] for row in data["layers"]}
    assert macs["stage1.0"] is None and macs["stage1.1"] is None
    # the 4x4 conv's weights (no bias before a batch norm) at 8x8 positions, the norm once
    assert macs["conv1"] == 4 * 4 * 3 * 16 * 8 * 8 + 2 * 16
    assert data["totals"]["macs"] is None
    text = CliRunner().invoke(app, ["summary", str(spec)]).stdout
    assert "'?' marks blocks whose cost skipgen cannot count" in text


def test_a_plugin_kind_takes_the_shortcut_forms(tmp_path: Path) -> None:
    """A kind whose skip skipgen adds declares `shortcut` and gets the forms: skipgen's
    Shortcut block builds the projection as the layer asks."""
    spec = """\
name: Points
plugins: [pointwise]
input: {channels: 8, size: 8}
layers:
  - {type: pointwise, channels: 16, shortcut: {kernel: 3, norm: none, bias: true}}
  - {type: pointwise, channels: 16}
"""
    graph = skipgen.lower_spec(spec)
    model = skipgen.build_model(graph)
    state = model.state_dict()
    assert state["pointwise1.downsample.0.weight"].shape == (16, 8, 3, 3)
    assert state["pointwise1.downsample.0.bias"].shape == (16,)
    assert graph.params == sum(p.numel() for p in model.parameters())
    module = load_module(skipgen.generate_source(spec), tmp_path)
    assert_equivalent(graph, module.Points, (2, 8, 8, 8))
    with pytest.raises(SpecError) as info:
        skipgen.lower_spec(spec.replace("channels: 16}", "channels: 16, shortcut: avgpool}"))
    [diagnostic] = info.value.diagnostics
    assert diagnostic.message.startswith(
        "layers[1].shortcut: this pointwise does not project its shortcut (identity)"
    )
