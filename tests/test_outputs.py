"""Several outputs: backbones (`outputs:` naming inner layers) and deep supervision (`heads:`).

A backbone is a shipped classification config with `outputs:` added. Its feature maps are
compared with the same maps inside the full model (captured with forward hooks), whose
output the zoo tests prove equal to torchvision's on the same weights: so the backbone
returns what torchvision's feature extractor returns.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from torch import nn
from typer.testing import CliRunner

import skipgen
from skipgen.cli import app
from skipgen.errors import SpecError
from tests.backends.helpers import load_module
from tests.reference.fill import fill, make_input

ROOT = Path(__file__).resolve().parents[1]
STAGES = ["layer1", "layer2", "layer3", "layer4"]
# timm's and torchvision's facts for ResNets: channels and strides of layer1..layer4
RESNET_FEATURES = {
    "resnet18": [(64, 4), (128, 8), (256, 16), (512, 32)],
    "resnet50": [(256, 4), (512, 8), (1024, 16), (2048, 32)],
}


def config(name: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / "configs" / f"{name}.yaml").read_text(encoding="utf-8"))


def backbone(name: str) -> dict[str, Any]:
    data = config(name)
    data["outputs"] = STAGES
    return data


def stage_maps(model: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """The outputs of layer1..layer4 inside a full classification model."""
    maps: dict[str, torch.Tensor] = {}
    hooks = [
        model.get_submodule(stage).register_forward_hook(
            lambda m, i, o, stage=stage: maps.__setitem__(stage, o)
        )
        for stage in STAGES
    ]
    with torch.no_grad():
        model(x)
    for hook in hooks:
        hook.remove()
    return [maps[stage] for stage in STAGES]


@pytest.mark.parametrize("name", sorted(RESNET_FEATURES))
def test_a_resnet_backbone_returns_the_stage_maps_in_both_backends(
    name: str, tmp_path: Path
) -> None:
    full = fill(skipgen.build_model(config(name)))
    x = make_input([1, 3, 224, 224])
    expected = stage_maps(full, x)

    graph = skipgen.lower_spec(backbone(name))
    assert graph.dropped == (("fc", "classifier"),)
    model = skipgen.build_model(graph).double().eval()
    result = model.load_state_dict(full.state_dict(), strict=False)
    assert result.missing_keys == []
    assert result.unexpected_keys == ["fc.weight", "fc.bias"]
    source = skipgen.generate_source(backbone(name))
    emitted = getattr(load_module(source, tmp_path), graph.name)().double().eval()
    emitted.load_state_dict(model.state_dict())

    info = [
        {"num_chs": channels, "reduction": reduction, "module": stage}
        for stage, (channels, reduction) in zip(STAGES, RESNET_FEATURES[name], strict=True)
    ]
    for net in (model, emitted):
        assert net.feature_info == info
        with torch.no_grad():
            maps = net(x)
        assert isinstance(maps, list) and len(maps) == 4
        for got, want in zip(maps, expected, strict=True):
            assert got.shape == want.shape
            assert torch.allclose(got, want, rtol=0, atol=1e-9 * want.abs().max().item())
    for output, (channels, reduction) in zip(graph.outputs, RESNET_FEATURES[name], strict=True):
        assert output.shape(graph.axes) == (
            "N",
            channels,
            224 // reduction,
            224 // reduction,
        )


DEEP_UNET = ROOT / "configs" / "unet_deep_supervision.yaml"


def test_the_deep_supervision_unet_returns_what_validate_prints(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["validate", "--explain", str(DEEP_UNET)])
    assert result.exit_code == 0, result.output
    graph = skipgen.lower_spec(DEEP_UNET)
    assert [o.name for o in graph.outputs] == ["head", "aux_dec2", "aux_bottom"]
    printed = {}
    for line in result.output.splitlines():
        cells = line.split()
        if cells and cells[0] in ("head", "aux_dec2", "aux_bottom") and "(N," in line:
            printed[cells[0]] = line[line.index("(") : line.index(")") + 1]
    assert printed == {
        "head": "(N, 2, H, W)",
        "aux_dec2": "(N, 2, H/2, W/2)",
        "aux_bottom": "(N, 2, H/4, W/4)",
    }
    model = skipgen.build_model(DEEP_UNET).eval()
    emitted = load_module(skipgen.generate_source(DEEP_UNET), tmp_path).DeepSupervisionUNet()
    emitted.eval().load_state_dict(model.state_dict())
    x = torch.randn(2, 1, 32, 48)
    with torch.no_grad():
        outs = model(x)
        assert [tuple(o.shape) for o in outs] == [(2, 2, 32, 48), (2, 2, 16, 24), (2, 2, 8, 12)]
        for a, b in zip(outs, emitted(x), strict=True):
            assert torch.equal(a, b)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # TorchScript and its exporter
def test_several_outputs_script_export_and_onnx(tmp_path: Path) -> None:
    onnxruntime = pytest.importorskip("onnxruntime")
    module = load_module(skipgen.generate_source(DEEP_UNET), tmp_path)
    torch.manual_seed(0)
    model = module.DeepSupervisionUNet().eval()
    x = torch.randn(1, 1, 16, 16)
    with torch.no_grad():
        expected = model(x)
        for got in (torch.jit.script(model)(x), torch.export.export(model, (x,)).module()(x)):
            assert len(got) == 3
            for a, b in zip(got, expected, strict=True):
                assert torch.allclose(a, b, atol=1e-6)
    path = tmp_path / "deep.onnx"
    torch.onnx.export(model, (x,), str(path), dynamo=False, input_names=["x"])
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    actual = session.run(None, {"x": x.numpy()})
    assert len(actual) == 3  # one graph output per output
    for a, b in zip(actual, expected, strict=True):
        assert torch.allclose(torch.from_numpy(a), b, rtol=1e-4, atol=1e-5)


def test_an_output_inside_a_group_cuts_the_group_after_it() -> None:
    data = config("mobilenet_v2")
    data["outputs"] = ["stage2", "stage4"]
    graph = skipgen.lower_spec(data)
    assert [o.module for o in graph.outputs] == ["features.3", "features.10"]
    assert [(o.channels, o.reduction) for o in graph.outputs] == [(24, 4), (64, 16)]
    dropped = [module for module, _ in graph.dropped]
    assert dropped[0] == "features.11" and dropped[-1] == "classifier"
    model = skipgen.build_model(graph)
    assert len(model.features) == 11
    maps = model(torch.randn(1, 3, 64, 64))
    assert [tuple(m.shape) for m in maps] == [(1, 24, 16, 16), (1, 64, 4, 4)]


def test_one_output_is_a_tensor_and_the_network_stops_there() -> None:
    data = backbone("resnet18")
    data["outputs"] = ["layer2"]
    model = skipgen.build_model(data)
    assert not hasattr(model, "layer3")
    out = model(torch.randn(1, 3, 64, 64))
    assert isinstance(out, torch.Tensor) and out.shape == (1, 128, 8, 8)


# -- located mistakes ----------------------------------------------------------------------


def spec_errors(data: dict[str, Any]) -> list[str]:
    with pytest.raises(SpecError) as caught:
        skipgen.lower_spec(data)
    return [f"{d.message} | {d.hint}" for d in caught.value.diagnostics]


def small(**top: Any) -> dict[str, Any]:
    return {
        "name": "Net",
        "input": {"channels": 3, "size": 16},
        "layers": [
            {"type": "conv", "channels": 8, "name": "stem"},
            {
                "type": "sequence",
                "layers": [{"type": "conv", "channels": 8, "id": "x2"}],
                "repeat": 2,
            },
            {"type": "conv", "channels": 8, "name": "last"},
        ],
        **top,
    }


def test_an_unknown_output_says_what_it_may_have_meant() -> None:
    [error] = spec_errors(small(outputs=["stme"]))
    assert error.startswith("outputs[0]: no layer is named 'stme'")
    assert "did you mean 'stem'" in error


def test_an_output_inside_a_repeated_sequence_is_refused() -> None:
    [error] = spec_errors(small(outputs=["x2"]))
    assert "outputs[0]: 'x2' is inside layers[1], a sequence that repeats" in error


def test_an_output_named_twice_is_refused() -> None:
    [error] = spec_errors(small(outputs=["stem", "stem"]))
    assert "outputs[1]: 'stem' is already an output" in error


def head(name: str = "aux", source: str = "stem", **layer: Any) -> dict[str, Any]:
    return {
        "name": name,
        "from": source,
        "layers": [{"type": "conv", "channels": 2, "kernel": 1, **layer}],
    }


def test_a_head_that_no_output_names_is_refused() -> None:
    [error] = spec_errors(small(heads=[head()]))
    assert "heads[0].name: no output names the head 'aux'" in error
    assert "add aux to `outputs`" in error


def test_a_head_named_like_a_layer_is_refused() -> None:
    [error] = spec_errors(small(heads=[head("last")], outputs=["last"]))
    assert "heads[0].name: 'last' is already used by a layer" in error


def test_a_head_reads_an_existing_layer_and_its_layers_have_no_handles() -> None:
    errors = spec_errors(small(heads=[head(source="nowhere", id="h1")], outputs=["aux"]))
    assert any("heads[0].from: no layer is named 'nowhere'" in e for e in errors)
    assert any("heads[0].layers[0].id: a head's layers are not named" in e for e in errors)


def test_a_head_from_an_early_layer_keeps_the_path_up_to_it() -> None:
    graph = skipgen.lower_spec(small(heads=[head()], outputs=["aux"]))
    assert [module for module, _ in graph.dropped] == ["group1", "last"]
    assert [(o.name, o.module, o.shape(graph.axes)) for o in graph.outputs] == [
        ("aux", "aux", ("N", 2, 16, 16))
    ]


def test_a_backbone_loads_its_classification_checkpoint_and_reports_the_rest(
    tmp_path: Path,
) -> None:
    full = skipgen.build_model(config("resnet18"))
    checkpoint = full.state_dict()
    model = skipgen.build_model(backbone("resnet18"))
    report = skipgen.transfer_weights(model, checkpoint)  # the default, all-or-nothing rule
    assert report.missing == ()
    assert report.unexpected == ("fc.weight", "fc.bias")
    for key, value in model.state_dict().items():
        assert torch.equal(value, checkpoint[key])

    spec = tmp_path / "backbone.yaml"
    spec.write_text(yaml.safe_dump(backbone("resnet18"), sort_keys=False), encoding="utf-8")
    torch.save(checkpoint, tmp_path / "resnet18.pt")
    out = tmp_path / "backbone.pt"
    result = CliRunner().invoke(
        app, ["weights", str(spec), str(tmp_path / "resnet18.pt"), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "fc.weight" in result.output and "unexpected" in result.output
    assert list(torch.load(out)) == list(model.state_dict())
