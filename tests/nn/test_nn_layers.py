from functools import partial

import pytest
import torch
from torch import nn

from skipgen.nn import (
    REGISTRY,
    act_layer,
    check_skip,
    combine,
    conv_nd,
    conv_transpose_nd,
    drop_path,
    global_pool,
    pool_layer,
    projection,
    same_padding,
)


@pytest.mark.parametrize(
    ("dims", "conv", "transposed"),
    [
        (1, nn.Conv1d, nn.ConvTranspose1d),
        (2, nn.Conv2d, nn.ConvTranspose2d),
        (3, nn.Conv3d, nn.ConvTranspose3d),
    ],
)
def test_conv_classes_by_dims(dims, conv, transposed):
    assert conv_nd(dims) is conv
    assert conv_transpose_nd(dims) is transposed


@pytest.mark.parametrize("dims", [0, 4])
def test_bad_dims(dims):
    with pytest.raises(ValueError, match=f"got {dims}"):
        conv_nd(dims)


@pytest.mark.parametrize(
    ("act", "cls"),
    [
        ("relu", nn.ReLU),
        ("relu6", nn.ReLU6),
        ("silu", nn.SiLU),
        ("gelu", nn.GELU),
        ("hardswish", nn.Hardswish),
        ("hardsigmoid", nn.Hardsigmoid),
        ("leaky_relu", nn.LeakyReLU),
        ("sigmoid", nn.Sigmoid),
    ],
)
def test_act_layer(act, cls):
    assert type(act_layer(act)) is cls


def test_act_layer_inplace_and_errors():
    assert type(act_layer("none")) is nn.Identity
    assert act_layer("relu").inplace
    assert not act_layer("relu", inplace=False).inplace
    with pytest.raises(ValueError, match="'tanh'"):
        act_layer("tanh")


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_pools(dims):
    x = torch.randn(2, 3, *([8] * dims))
    assert pool_layer("max", dims, 3, 2, 1)(x).shape == (2, 3, *([4] * dims))
    assert pool_layer("avg", dims, 2)(x).shape == (2, 3, *([4] * dims))
    assert global_pool("avg", dims)(x).shape == (2, 3, *([1] * dims))
    assert global_pool("max", dims)(x).shape == (2, 3, *([1] * dims))
    with pytest.raises(ValueError, match="'min'"):
        pool_layer("min", dims, 2)
    with pytest.raises(ValueError, match="'min'"):
        global_pool("min", dims)


def test_same_padding():
    assert same_padding(1) == 0
    assert same_padding(3) == 1
    assert same_padding(7) == 3
    assert same_padding(3, dilation=2) == 2
    assert same_padding(5, dilation=3) == 6


def test_projection():
    proj = projection(8, 16, 2)
    assert [(k, tuple(v.shape)) for k, v in proj.state_dict().items()] == [
        ("0.weight", (16, 8, 1, 1)),
        ("1.weight", (16,)),
        ("1.bias", (16,)),
        ("1.running_mean", (16,)),
        ("1.running_var", (16,)),
        ("1.num_batches_tracked", ()),
    ]
    assert proj(torch.randn(2, 8, 8, 8)).shape == (2, 16, 4, 4)
    plain = projection(8, 16, dims=1, norm_layer=nn.Identity)
    assert list(plain.state_dict()) == ["0.weight", "0.bias"]
    no_bias = projection(8, 16, norm_layer=nn.Identity, bias=False)
    assert list(no_bias.state_dict()) == ["0.weight"]
    grouped = projection(8, 16, norm_layer=partial(nn.GroupNorm, 4))
    assert list(grouped.state_dict()) == ["0.weight", "1.weight", "1.bias"]
    assert grouped[1].num_groups == 4


def test_combine():
    out = torch.ones(2, 3, 4)
    identity = torch.zeros(2, 5, 4)
    assert torch.equal(combine(out, out, "add"), 2 * out)
    cat = combine(out, identity, "concat")
    assert cat.shape == (2, 8, 4)
    assert torch.equal(cat[:, :5], identity)  # the shortcut comes first
    assert combine(out, identity, "none") is out
    with pytest.raises(ValueError, match="'mul'"):
        combine(out, out, "mul")


def test_check_skip():
    check_skip(8, 8, 1, "add", False)
    check_skip(8, 16, 2, "add", True)
    check_skip(8, 16, 1, "concat", False)
    check_skip(8, 16, 2, "none", False)
    with pytest.raises(ValueError, match="'sum'"):
        check_skip(8, 8, 1, "sum", False)
    with pytest.raises(ValueError, match="stride=2"):
        check_skip(8, 8, 2, "add", False)
    with pytest.raises(ValueError, match="from 8 to 16"):
        check_skip(8, 16, 1, "add", False)
    with pytest.raises(ValueError, match="skip='none'"):
        check_skip(8, 8, 1, "none", True)


def test_drop_path_eval_is_identity():
    x = torch.randn(16, 3, 4)
    assert drop_path(x, 0.5, False) is x
    assert drop_path(x, 0.0, True) is x


def test_drop_path_train_drops_and_rescales():
    torch.manual_seed(0)
    x = torch.ones(64, 3, 4, 4)
    y = drop_path(x, 0.5, True)
    per_sample = y.flatten(1)
    zeroed = (per_sample == 0).all(dim=1)
    kept = (per_sample == 2).all(dim=1)
    assert bool((zeroed | kept).all())  # whole samples are dropped or kept
    assert 0 < int(zeroed.sum()) < 64
    assert torch.equal(drop_path(x, 1.0, True), torch.zeros_like(x))
    with pytest.raises(ValueError, match=r"got 1\.5"):
        drop_path(x, 1.5, True)


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_drop_path_scripts():
    scripted = torch.jit.script(drop_path)
    x = torch.ones(8, 2)
    assert torch.equal(scripted(x, 0.3, False), x)


def test_registry_is_closed_and_complete():
    import skipgen.nn as package

    assert set(REGISTRY) == set(package.__all__) - {"REGISTRY"}
    for name, obj in REGISTRY.items():
        if name == "ActLayer":  # a type alias: what the blocks' `act` may be
            continue
        assert obj.__name__ == name
