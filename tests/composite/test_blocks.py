"""Composite blocks from spec to module: located errors, the same network as written out by
hand, and the emitted classes computing what build_model computes."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import skipgen
from skipgen.errors import SpecError
from tests.backends.helpers import assert_equivalent, load_module, ruff

BLOCKS = """\
name: Net
input: {channels: 3, size: 16}
blocks:
  conv_bn_relu:
    params:
      channels: int
      kernel: {type: int, default: 3}
      expansion: {type: float, default: 1.0}
      stride: {type: int, default: 1}
    skip: add
    layers:
      - {type: conv, name: conv1, channels: "${round(channels * expansion)}", kernel: "${kernel}", stride: "${stride}"}
      - {type: conv, name: conv2, channels: "${channels}", act: none}
layers:
  - {type: conv, channels: 8, name: stem}
  - {type: conv_bn_relu, channels: 8, name: block}
  - {type: conv_bn_relu, channels: 16, expansion: 2.0, stride: 2, repeat: 2, name: stage}
"""  # noqa: E501

# The same network without composites: the blocks written out as sequences, the shortcut
# as a bottleneck's would be. Its keys and counts are what the composite must give.
BY_HAND = """\
name: Net
input: {channels: 3, size: 16}
layers:
  - {type: conv, channels: 8, name: stem}
  - type: sequence
    name: block
    layers:
      - {type: conv, name: conv1, channels: 8}
      - {type: conv, name: conv2, channels: 8, act: none}
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def errors(path: Path) -> list[tuple[str, int, int, str, tuple[str, ...]]]:
    with pytest.raises(SpecError) as info:
        skipgen.lower_spec(path)
    return [(Path(d.file).name, d.line, d.col, d.message, d.notes) for d in info.value.diagnostics]


def test_keys_and_counts_are_those_of_the_body_written_out(tmp_path: Path) -> None:
    graph = skipgen.lower_spec(write(tmp_path, "net.yaml", BLOCKS))
    plain = skipgen.lower_spec(write(tmp_path, "plain.yaml", BY_HAND))
    model, reference = skipgen.build_model(graph), skipgen.build_model(plain)
    block_keys = [k for k in model.state_dict() if k.startswith(("stem.", "block."))]
    assert block_keys == list(reference.state_dict())
    # the strided, widening copy projects its shortcut (1x1 conv + norm, stride 2)
    assert model.state_dict()["stage.0.shortcut.0.weight"].shape == (16, 8, 1, 1)
    assert "stage.1.shortcut.0.weight" not in model.state_dict()  # stride 1 after the first
    assert model.stage[0].conv1[0].stride == (2, 2)
    assert model.stage[1].conv1[0].stride == (1, 1)
    assert graph.params == sum(p.numel() for p in model.parameters())


def test_the_emitted_classes_compute_what_build_model_computes(tmp_path: Path) -> None:
    path = write(tmp_path, "net.yaml", BLOCKS)
    graph = skipgen.lower_spec(path)
    text = skipgen.generate_source(path)
    assert "class ConvBnRelu(nn.Module):" in text
    # one class per shape, computing its layers' arguments from its own
    assert "self.conv1 = ConvNormAct(in_channels, round(channels * expansion))" in text
    assert "self.block = ConvBnRelu(8, channels=8)" in text
    assert "ConvBnRelu2(8, channels=16, expansion=2.0, stride=2)," in text
    assert "ConvBnRelu(16, channels=16, expansion=2.0)," in text
    module = load_module(text, tmp_path)
    assert_equivalent(graph, module.Net, (2, 3, 16, 16))
    assert ruff("check", "-", stdin=text).returncode == 0
    assert ruff("format", "--check", "-", stdin=text).returncode == 0


def test_a_long_skip_inside_a_body_reads_a_str_parameter(tmp_path: Path) -> None:
    spec = """\
    name: Tiny
    input: {channels: 1, size: 16}
    blocks:
      up:
        params: {channels: int, encoder: str}
        layers:
          - {type: upsample, mode: nearest, skip: {mode: concat, from: "${encoder}"}}
          - {type: conv, channels: "${channels}", name: conv1}
    layers:
      - {type: conv, channels: 4, id: enc1}
      - {type: maxpool, kernel: 2}
      - {type: conv, channels: 8}
      - {type: up, channels: 4, encoder: enc1, name: up1}
    """
    path = write(tmp_path, "tiny.yaml", spec)
    graph = skipgen.lower_spec(path)
    text = skipgen.generate_source(path)
    assert "def forward(self, x: Tensor, encoder: Tensor) -> Tensor:" in text
    # the sum of channels reads in the order of the concatenation it counts
    assert "torch.cat([encoder, x], dim=1)" in text
    assert "self.conv1 = ConvNormAct(encoder_channels + in_channels, channels)" in text
    assert "x = self.up1(x, enc1)" in text
    assert_equivalent(graph, load_module(text, tmp_path).Tiny, (2, 1, 16, 16))

    last = write(
        tmp_path, "last.yaml", spec.replace('${encoder}"}', '${encoder}", order: shortcut_last}')
    )
    text = skipgen.generate_source(last)
    assert "torch.cat([x, encoder], dim=1)" in text
    assert "self.conv1 = ConvNormAct(in_channels + encoder_channels, channels)" in text
    assert_equivalent(skipgen.lower_spec(last), load_module(text, tmp_path).Tiny, (2, 1, 16, 16))


def test_errors_at_the_use(tmp_path: Path) -> None:
    spec = BLOCKS.replace(
        "name: stage}", "name: stage, kernal: 5}\n  - {type: conv_bn_relu, kernel: 3.5}"
    )
    found = errors(write(tmp_path, "net.yaml", spec))
    messages = {(line, message) for _, line, _, message, _ in found}
    assert (17, "layers[2].kernal: unknown key 'kernal'") in messages
    assert (18, "layers[3].channels: missing required key 'channels'") in messages
    assert (18, "layers[3].kernel: expected an integer, got 3.5") in messages


def test_an_error_in_a_body_points_at_the_definition_and_the_use(tmp_path: Path) -> None:
    spec = BLOCKS.replace("channels: 16, expansion: 2.0", "channels: 16, expansion: 0.01")
    found = errors(write(tmp_path, "net.yaml", spec))
    use = f"{tmp_path / 'net.yaml'}:17:5"
    assert found == [
        (
            "net.yaml",
            12,
            45,  # the expression that gave round(16 * 0.01) = 0
            "blocks.conv_bn_relu.layers[0].channels: must be at least 1",
            (f"in the block 'conv_bn_relu' used at {use} (layers[2])",),
        )
    ]


def test_a_refused_expression_is_located_at_its_text(tmp_path: Path) -> None:
    spec = BLOCKS.replace('"${kernel}"', "\"${__import__('os').system('x')}\"")
    found = errors(write(tmp_path, "net.yaml", spec))
    assert {(f[1], f[2]) for f in found} == {(12, 87)}
    assert all("used at" in f[4][0] for f in found)


def test_definitions_are_checked(tmp_path: Path) -> None:
    spec = """\
    name: Net
    input: {channels: 3}
    blocks:
      conv: {layers: [{type: conv}]}
      a: {params: {stride: {type: int, default: 1.5}}, layers: [{type: b}]}
      b: {layers: [{type: a}]}
    layers:
      - {type: conv, channels: 8}
    """
    found = errors(write(tmp_path, "net.yaml", spec))
    lines = sorted((line, message) for _, line, _, message, _ in found)
    assert lines[0][0] == 4 and "'conv' is already a kind" in lines[0][1]
    assert lines[1][0] == 5 and "the default 1.5 is not a value of type int" in lines[1][1]


def test_a_cycle_is_an_error_at_the_use_that_closes_it(tmp_path: Path) -> None:
    spec = """\
    name: Net
    input: {channels: 3}
    blocks:
      a: {layers: [{type: b}]}
      b: {layers: [{type: conv, channels: 4}, {type: a}]}
    layers:
      - {type: a}
    """
    found = errors(write(tmp_path, "net.yaml", spec))
    assert [(line, col) for _, line, col, _, _ in found] == [(5, 50)]
    assert "'b' uses 'a', which uses it in turn: a -> b -> a" in found[0][3]


def test_include_reads_a_block_file_relative_to_the_spec(tmp_path: Path) -> None:
    write(
        tmp_path,
        "lib/blocks.yaml",
        """\
        blocks:
          pair:
            params: {channels: int}
            layers:
              - {type: conv, channels: "${channels}"}
              - {type: conv, channels: "${channels * 1000000}"}
        """,
    )
    spec = """\
    name: Net
    input: {channels: 3}
    include: [lib/blocks.yaml]
    layers:
      - {type: pair, channels: 8}
    """
    found = errors(write(tmp_path, "net.yaml", spec))
    assert [(file, line) for file, line, _, _, _ in found] == [("blocks.yaml", 6)]
    assert found[0][4] == (f"in the block 'pair' used at {tmp_path / 'net.yaml'}:5:5 (layers[0])",)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("/etc/blocks.yaml", "is an absolute path"),
        ("https://example.com/blocks.yaml", "only files are included, never URLs"),
        ("blocks.txt", "is not a .yaml file"),
        ("net.yaml", "includes itself"),
        ("missing.yaml", "cannot read"),
    ],
)
def test_bad_includes_are_located(tmp_path: Path, entry: str, message: str) -> None:
    spec = f"name: Net\ninput: {{channels: 3}}\ninclude: [{entry}]\nlayers: [{{type: conv}}]\n"
    found = errors(write(tmp_path, "net.yaml", spec))
    assert [(line, col) for _, line, col, _, _ in found] == [(3, 11)]
    assert message in found[0][3]


def test_a_body_keeps_its_layers_to_itself(tmp_path: Path) -> None:
    spec = """\
    name: Net
    input: {channels: 3}
    blocks:
      unit:
        params: {channels: int}
        layers:
          - {type: conv, channels: "${channels}", name: inner}
      tagged:
        layers:
          - {type: act, act: relu, id: mine}
    layers:
      - {type: unit, channels: 4, name: first}
      - {type: conv, channels: 4, skip: {mode: add, from: inner}}
    """
    found = errors(write(tmp_path, "net.yaml", spec))
    assert [(line, message) for _, line, _, message, _ in found] == [
        (
            13,
            "layers[1].skip.from: 'inner' is inside layers[0], a composite block: a `from` "
            "or a skip cannot read a layer of its body",
        )
    ]
    spec = spec.replace("{type: unit, channels: 4, name: first}", "{type: tagged}")
    found = errors(write(tmp_path, "net.yaml", spec))
    assert [(line, message) for _, line, _, message, _ in found] == [
        (
            10,
            "blocks.tagged.layers[0].id: a layer inside a composite block has no id: every "
            "use would repeat it",
        )
    ]


def test_a_body_reads_the_source_of_a_dropped_skip_for_its_size(tmp_path: Path) -> None:
    """An upsample to its skip's size still needs the source when the add is dropped: the
    block's forward takes it (it used to validate, then fail to build)."""
    text = textwrap.dedent(
        """\
        name: Net
        input: {channels: 3}
        defaults: {norm: batch, act: relu}
        blocks:
          dec:
            params: {enc: str}
            layers:
              - {type: upsample, mode: nearest, size: skip, on_mismatch: drop,
                 skip: {mode: add, from: "${enc}"}}
              - {type: conv, channels: 8}
        layers:
          - {type: conv, channels: 4, id: e1}
          - {type: conv, channels: 16, stride: 2}
          - {type: dec, enc: e1}
        """
    )
    graph = skipgen.lower_spec(text)
    (block,) = graph.blocks()
    assert block.inputs == ("e1",)
    assert_equivalent(
        graph, load_module(skipgen.generate_source(text), tmp_path).Net, (2, 3, 15, 17)
    )


def test_a_layer_takes_its_input_channels_as_the_layer_before_gave_them(tmp_path: Path) -> None:
    """With one use whose input and output widths agree, ``in_channels`` and ``channels``
    give the second layer's input alike: it is written as the first layer's output was."""
    spec = """\
    name: Net
    input: {channels: 8, size: 8}
    blocks:
      pair:
        params: {channels: int}
        skip: add
        layers:
          - {type: conv, channels: "${channels}", name: conv1}
          - {type: conv, channels: "${channels}", act: none, name: conv2}
    layers:
      - {type: pair, channels: 8}
    """
    path = write(tmp_path, "net.yaml", spec)
    text = skipgen.generate_source(path)
    assert "self.conv1 = ConvNormAct(in_channels, channels)" in text
    assert 'self.conv2 = ConvNormAct(channels, channels, act="none")' in text
    assert_equivalent(skipgen.lower_spec(path), load_module(text, tmp_path).Net, (2, 8, 8, 8))
