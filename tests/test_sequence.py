"""Nested layers: a `sequence` groups layers under one name, as torchvision's `features`.

Module paths follow the rules the README states (unnamed layers numbered from 0, a repeat
counting once per copy; named layers by name); a long skip may name a layer inside a group;
both backends build the same modules and compute the same thing; mistakes are located.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from typer.testing import CliRunner

import skipgen
from skipgen.cli import app
from skipgen.errors import SpecError
from skipgen.ir.graph import Group
from tests.backends.helpers import load_module


def spec(*layers: dict[str, Any], size: int | None = 16) -> dict[str, Any]:
    data: dict[str, Any] = {"name": "Net", "input": {"channels": 3}, "layers": list(layers)}
    if size is not None:
        data["input"]["size"] = size
    return data


def conv(channels: int = 8, **fields: Any) -> dict[str, Any]:
    return {"type": "conv", "channels": channels, **fields}


def sequence(*layers: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"type": "sequence", "layers": list(layers), **fields}


def module_paths(data: dict[str, Any]) -> list[str]:
    """The module paths that hold tensors, in state_dict order, without the tensor names."""
    keys = skipgen.build_model(data).state_dict()
    return list(dict.fromkeys(key.rsplit(".", 1)[0] for key in keys))


def errors(data: dict[str, Any]) -> list[str]:
    with pytest.raises(SpecError) as caught:
        skipgen.lower_spec(data)
    return [f"{d.line}:{d.col} {d.message} | {d.hint}" for d in caught.value.diagnostics]


# -- module paths ------------------------------------------------------------------------------


def test_unnamed_layers_are_numbered_and_a_repeat_counts_once_per_copy() -> None:
    data = spec(
        sequence(
            conv(8, stride=2),
            {"type": "inverted_residual", "channels": 8, "repeat": 3},
            conv(8, name="head"),
            conv(8),
            name="features",
        )
    )
    paths = module_paths(data)
    blocks = list(dict.fromkeys(".".join(p.split(".")[:2]) for p in paths))
    assert blocks == [
        "features.0",
        "features.1",
        "features.2",
        "features.3",
        "features.head",
        "features.5",
    ]


def test_a_named_repeated_layer_is_one_sequential_and_an_unnamed_repeated_sequence_is_copies() -> (
    None
):
    data = spec(
        sequence(
            {"type": "basic", "channels": 8, "repeat": 2, "name": "stage"},
            sequence(conv(8), {"type": "maxpool", "kernel": 1}, conv(8), repeat=2),
            name="body",
        )
    )
    model = skipgen.build_model(data)
    assert isinstance(model.body, torch.nn.Sequential)
    assert [type(m).__name__ for m in model.body.stage] == ["BasicBlock", "BasicBlock"]
    # the inner sequence, twice: body.1 and body.2, each numbering its own layers
    assert list(dict(model.body.named_children())) == ["stage", "1", "2"]
    assert list(dict(model.body[1].named_children())) == ["0", "1", "2"]
    assert "body.2.2.0.weight" in model.state_dict()


def test_a_named_repeated_sequence_holds_its_copies_by_number() -> None:
    model = skipgen.build_model(spec(sequence(conv(8), conv(8), repeat=2, name="blocks")))
    assert next(iter(model.state_dict())) == "blocks.0.0.0.weight"
    assert "blocks.1.1.1.running_var" in model.state_dict()


def test_nested_sequences_mirror_a_reference_layout() -> None:
    data = spec(
        sequence(
            sequence(conv(8, norm="none", act="none", bias=False), name="stem"),
            sequence(sequence(conv(8), name="inner"), name="middle"),
            name="outer",
        )
    )
    assert module_paths(data) == [
        "outer.stem.0",
        "outer.middle.inner.0.0",
        "outer.middle.inner.0.1",
    ]


def test_depth_scaling_renumbers_the_copies_inside_a_sequence() -> None:
    data = spec(sequence(conv(8), {"type": "basic", "channels": 8, "repeat": 2}, conv(8), name="f"))
    data["scaling"] = {"depth": 2.0}
    graph = skipgen.lower_spec(data)
    [group] = graph.stages
    assert isinstance(group, Group)
    assert [m.attr for m in group.members] == ["0", "1", "2", "3", "4", "5"]


# -- long skips into and out of groups -----------------------------------------------------------

UNET_LIKE = spec(
    sequence(
        conv(8, name="a", id="enc1"),
        {"type": "maxpool", "kernel": 2},
        conv(16, name="b"),
        name="encoder",
    ),
    sequence(
        {"type": "upsample", "channels": 8, "skip": {"mode": "concat", "from": "enc1"}},
        conv(8),
        name="decoder",
    ),
    conv(4, kernel=1, stride=2, skip={"mode": "add", "from": "encoder"}, on_mismatch="project"),
    size=None,
)


@pytest.mark.filterwarnings("ignore:`torch.jit.script:DeprecationWarning")
def test_a_long_skip_reaches_into_a_group_in_both_backends(tmp_path: Path) -> None:
    graph = skipgen.lower_spec(UNET_LIKE)
    encoder, decoder = graph.stages[0], graph.stages[1]
    assert isinstance(encoder, Group) and isinstance(decoder, Group)
    assert encoder.walked and decoder.walked  # each holds one end of a long skip
    runtime = skipgen.build_model(UNET_LIKE).eval()
    assert isinstance(runtime.encoder, torch.nn.ModuleDict)
    source = skipgen.generate_source(UNET_LIKE)
    assert 'x = self.encoder["a"](x)' in source
    assert "enc1 = x" in source
    emitted = load_module(source, tmp_path).Net().eval()
    assert list(emitted.state_dict()) == list(runtime.state_dict())
    emitted.load_state_dict(runtime.state_dict())
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        expected = runtime(x)
        assert expected.shape == (2, 4, 8, 8)
        assert torch.equal(emitted(x), expected)
        assert torch.equal(torch.jit.script(emitted)(x), expected)
        exported = torch.export.export(emitted, (x,))
        assert torch.allclose(exported.module()(x), expected)


def test_a_group_without_skips_inside_runs_as_one_sequential(tmp_path: Path) -> None:
    data = spec(sequence(conv(8), conv(8), name="features"), {"type": "global_pool"})
    source = skipgen.generate_source(data)
    assert "x = self.features(x)  # (N, 8, 16, 16)" in source
    assert "self.features = nn.Sequential(" in source


def test_validate_explain_lists_module_paths_through_the_cli(tmp_path: Path) -> None:
    path = tmp_path / "net.yaml"
    path.write_text(yaml.safe_dump(UNET_LIKE, sort_keys=False), encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", "--explain", str(path)])
    assert result.exit_code == 0, result.output
    rows = [line.split()[0] for line in result.output.splitlines()[2:] if line.strip()]
    assert rows[:5] == ["encoder.a", "encoder.1", "encoder.b", "decoder.0", "decoder.1"]
    # the layer that takes a long skip shows it, and its channels after the concatenation
    # (16 channels in, 8 out of the upsample, 8 more from enc1)
    row = r"decoder\.0 +upsample +16->16 .* concat from enc1 \(identity\)"
    assert re.search(row, result.output)
    assert "conv1_skip" in result.output


# -- located mistakes ----------------------------------------------------------------------------


def test_a_sequence_has_no_skip_of_its_own() -> None:
    [error] = errors(spec(conv(8, id="stem"), sequence(conv(8), skip="add")))
    assert "a sequence has no add skip of its own" in error
    assert "skip: {mode: add, from: <that id>}" in error


def test_the_long_form_around_a_group_adds_its_input() -> None:
    data = spec(
        conv(8, id="stem"), sequence(conv(8), conv(8), skip={"mode": "add", "from": "stem"})
    )
    graph = skipgen.lower_spec(data)
    assert graph.stages[1].long_skip is not None
    assert graph.stages[1].long_skip.source == "stem"
    out = skipgen.build_model(data)(torch.randn(1, 3, 16, 16))
    assert out.shape == (1, 8, 16, 16)


def test_names_are_unique_within_a_sequence_and_may_repeat_across_sequences() -> None:
    [error] = errors(spec(sequence(conv(8, name="conv"), conv(8, name="conv"))))
    assert "layers[0].layers[1].name: 'conv' is already used by layers[0].layers[0]" in error
    skipgen.lower_spec(spec(sequence(conv(8, name="conv")), sequence(conv(8, name="conv"))))


def test_a_name_in_several_sequences_must_be_referred_to_by_id() -> None:
    data = spec(
        sequence(conv(8, name="conv")),
        sequence(conv(8, name="conv")),
        conv(8, skip={"mode": "add", "from": "conv"}),
    )
    [error] = errors(data)
    assert "'conv' names 2 layers: layers[0].layers[0]" in error
    assert "give the one you mean an `id`" in error


def test_an_id_is_unique_across_the_whole_spec() -> None:
    [error] = errors(spec(sequence(conv(8, id="x1")), sequence(conv(8, id="x1"))))
    assert "layers[1].layers[0].id: 'x1' is already used by layers[0].layers[0]" in error


def test_a_layer_cannot_take_a_skip_from_the_group_that_holds_it() -> None:
    data = spec(sequence(conv(8), conv(8, skip={"mode": "add", "from": "outer"}), name="outer"))
    [error] = errors(data)
    assert "'outer' is layers[0], which holds this layer: its output comes after" in error


def test_a_long_skip_cannot_reach_into_a_repeated_sequence() -> None:
    data = spec(
        sequence(conv(8, id="inside"), conv(8), repeat=2),
        conv(8, skip={"mode": "add", "from": "inside"}),
    )
    [error] = errors(data)
    assert "is inside layers[0], a sequence that repeats" in error


def test_a_long_skip_reaches_four_sequences_deep() -> None:
    data = spec(
        sequence(sequence(sequence(sequence(conv(8, id="deep")))), name="outer"),
        conv(8, skip={"mode": "add", "from": "deep"}),
    )
    model = skipgen.build_model(data)
    assert model(torch.randn(1, 3, 16, 16)).shape == (1, 8, 16, 16)


@pytest.mark.filterwarnings("ignore:`torch.jit.script:DeprecationWarning")
def test_a_long_skip_into_nested_groups_in_both_backends(tmp_path: Path) -> None:
    """As a U-Net decoder in segmentation_models_pytorch's layout: the concat lands inside
    decoder.blocks.0, with the upsampled map first."""
    up = {
        "type": "upsample",
        "mode": "nearest",
        "skip": {"mode": "concat", "from": "enc1", "order": "shortcut_last"},
    }
    data = spec(
        sequence(conv(8, name="a", id="enc1"), {"type": "maxpool", "kernel": 2}, name="encoder"),
        sequence(sequence(sequence(up, conv(4, name="conv1")), name="blocks"), name="decoder"),
    )
    runtime = skipgen.build_model(data).eval()
    source = skipgen.generate_source(data)
    assert "self.decoder: Any = nn.ModuleDict(" in source
    assert 'x = self.decoder["blocks"]["0"]["0"](x)' in source
    assert "x = torch.cat([x, enc1], dim=1)" in source
    emitted = load_module(source, tmp_path).Net().eval()
    assert list(emitted.state_dict()) == list(runtime.state_dict())
    assert "decoder.blocks.0.conv1.0.weight" in runtime.state_dict()
    emitted.load_state_dict(runtime.state_dict())
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        expected = runtime(x)
        encoded = runtime.encoder["a"](x)
        upsampled = torch.nn.functional.interpolate(
            runtime.encoder["1"](encoded), scale_factor=2.0, mode="nearest"
        )
        by_hand = runtime.decoder["blocks"]["0"]["conv1"](torch.cat([upsampled, encoded], 1))
        assert torch.equal(expected, by_hand)
        assert torch.equal(emitted(x), expected)
        assert torch.equal(torch.jit.script(emitted)(x), expected)


def test_nothing_follows_a_classifier_inside_or_after_a_sequence() -> None:
    [error] = errors(spec(sequence(conv(8), {"type": "classifier", "classes": 2}), conv(8)))
    assert error.split(" ", 1)[1].startswith(
        "layers[1]: nothing but linear, act, dropout and drop_path can follow a sequence "
        "that ends in a classifier"
    )
    [error] = errors(spec(conv(8), {"type": "classifier", "classes": 2}, conv(8)))
    assert (
        "layers[2]: nothing but linear, act, dropout and drop_path can follow a classifier, "
        "whose output is flat" in error
    )
    assert error.endswith("| move it (layers[1]) to the end")


def test_a_mistake_inside_a_group_is_located_at_its_line() -> None:
    text = """\
name: Net
input: {channels: 3, size: 16}
layers:
  - type: sequence
    name: features
    layers:
      - {type: conv, channels: 8}
      - {type: conv, channels: 8, kernal: 3}
"""
    with pytest.raises(SpecError) as caught:
        skipgen.lower_spec(text)
    [diagnostic] = caught.value.diagnostics
    assert (diagnostic.line, diagnostic.col) == (8, 35)
    assert "layers[0].layers[1].kernal: unknown key 'kernal'" in diagnostic.message
    assert diagnostic.hint is not None and "kernel" in diagnostic.hint


def test_an_unknown_type_inside_a_group_lists_the_kinds() -> None:
    [error] = errors(spec(sequence({"type": "sequense", "layers": []})))
    assert "unknown block type 'sequense'" in error
    assert "did you mean 'sequence'" in error
