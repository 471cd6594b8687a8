"""A network's norm reaches the blocks as one ``norm_layer``: the emitter writes it as
torchvision code would, and the runtime backend builds the very layer that code builds."""

from __future__ import annotations

import pytest
from torch import nn

from skipgen.backends.layout import expr, flat
from skipgen.backends.torch import instantiate
from skipgen.ir.common import Resolved, bare_norm, call
from skipgen.language.vocabulary import Norm
from skipgen.nn import LayerNormNd

CASES = [
    ({"type": "batch"}, 2, "nn.BatchNorm2d", nn.BatchNorm2d(8)),
    (
        {"type": "batch", "eps": 1e-3, "momentum": 0.01},
        3,
        "partial(nn.BatchNorm3d, eps=0.001, momentum=0.01)",
        nn.BatchNorm3d(8, eps=1e-3, momentum=0.01),
    ),
    ({"type": "group", "groups": 4}, 2, "partial(nn.GroupNorm, 4)", nn.GroupNorm(4, 8)),
    ({"type": "instance"}, 1, "nn.InstanceNorm1d", nn.InstanceNorm1d(8)),  # torch's default
    (
        {"type": "instance", "affine": True},
        1,
        "partial(nn.InstanceNorm1d, affine=True)",
        nn.InstanceNorm1d(8, affine=True),
    ),
    (
        {"type": "batch", "affine": False},
        2,
        "partial(nn.BatchNorm2d, affine=False)",
        nn.BatchNorm2d(8, affine=False),
    ),
    (
        {"type": "group", "groups": 2, "affine": False},
        3,
        "partial(nn.GroupNorm, 2, affine=False)",
        nn.GroupNorm(2, 8, affine=False),
    ),
    ({"type": "layer"}, 2, "LayerNormNd", LayerNormNd(8)),
    (
        {"type": "layer", "eps": 1e-6, "affine": False},
        3,
        "partial(LayerNormNd, eps=1e-06, affine=False)",
        LayerNormNd(8, eps=1e-6, affine=False),
    ),
    ({"type": "none"}, 2, "nn.Identity", None),
]


@pytest.mark.parametrize(("norm", "dims", "text", "layer"), CASES)
def test_the_norm_layer_is_written_and_built_alike(norm, dims, text, layer) -> None:
    factory = Resolved(dims, Norm(**norm), "relu", None).norm_layer()
    assert flat(expr(factory)) == text
    module = instantiate(call("NormAct", 8, dims=dims, act="none", norm_layer=factory))
    assert [repr(m) for m in module] == ([] if layer is None else [repr(layer)])


@pytest.mark.parametrize(("norm", "dims", "text", "layer"), CASES)
def test_a_bare_norm_is_the_layer_the_blocks_build(norm, dims, text, layer) -> None:
    bare = instantiate(bare_norm(Resolved(dims, Norm(**norm), "relu", None), 8))
    assert repr(bare) == repr(nn.Identity() if layer is None else layer)


def test_the_blocks_default_is_spelled_out_only_where_it_differs() -> None:
    batch = Resolved(2, Norm(type="batch"), "relu", None).norm_kwargs()
    assert call("ConvNormAct", 4, 8, **batch).kwargs == ()  # nn.BatchNorm2d: the default
    assert call("UpConv", 4, 8, **batch).kwargs == (("norm_layer", batch["norm_layer"]),)
    none = Resolved(2, Norm(type="none"), "relu", None).norm_kwargs()
    assert call("UpConv", 4, 8, **none).kwargs == ()  # nn.Identity: UpConv's default
    assert isinstance(instantiate(call("ConvNormAct", 4, 8, **none))[0], nn.Conv2d)
