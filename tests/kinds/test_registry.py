"""The tables derived from the kinds agree with the code they stand for."""

from __future__ import annotations

import importlib
import inspect

import pytest
from torch import nn

from skipgen.ir.common import TORCH_LAYERS
from skipgen.kinds.base import Kind, Layer
from skipgen.kinds.registry import ATTR_PREFIX, BUILTIN_KINDS, KINDS, NN_BLOCKS, RESIDUAL_KINDS
from skipgen.library.nn import LayerDefault, library
from skipgen.library.plugins import signature_defaults
from skipgen.nn import REGISTRY


def _resolve(ref: str) -> object:
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


READ_TYPES = (bool, int, float, str, LayerDefault)  # what a signature's default is read as


def _as_read(default: object) -> object:
    """A default as the source reader gives it: a torch.nn layer class as a LayerDefault."""
    if isinstance(default, type) and getattr(nn, default.__name__, None) is default:
        return LayerDefault(f"nn.{default.__name__}")
    return default


@pytest.mark.parametrize(
    "name", sorted(n for n, v in REGISTRY.items() if inspect.isclass(v) or inspect.isfunction(v))
)
def test_defaults_read_from_the_source_match_the_real_signatures(name: str) -> None:
    parameters = inspect.signature(REGISTRY[name]).parameters  # type: ignore[arg-type]
    read = signature_defaults(name)
    expected = {
        key: _as_read(p.default)
        for key, p in parameters.items()
        if p.default is not inspect.Parameter.empty
        and (
            p.default is None
            or isinstance(_as_read(p.default), bool | int | float | str | LayerDefault)
        )
    }
    assert read == expected
    for key, value in read.items():
        assert type(value) is type(expected[key]), (name, key)


def test_every_block_a_kind_names_is_a_library_definition_of_that_name() -> None:
    assert set(NN_BLOCKS) <= set(library().definitions)
    for name, ref in NN_BLOCKS.items():
        block = _resolve(ref)
        assert getattr(block, "__name__", None) == name
        assert REGISTRY[name] is block


def test_every_listed_torch_layer_exists() -> None:
    for target in TORCH_LAYERS:
        prefix, _, name = target.partition(".")
        assert prefix == "nn"
        assert issubclass(getattr(nn, name), nn.Module)


@pytest.mark.parametrize("kind", BUILTIN_KINDS, ids=lambda k: k.__name__)
def test_every_kind_states_its_facts_and_lowers(kind: type[Layer]) -> None:
    assert kind.attr_prefix.isidentifier()
    if issubclass(kind, Kind):  # a sequence is lowered as the list of layers it holds
        assert kind.lower is not Kind.lower
    assert kind.default_skip in ("none", "add", "concat")
    assert kind.default_on_mismatch in ("project", "drop", "error")
    assert kind.__doc__


def test_the_tables_cover_every_kind_once() -> None:
    assert list(KINDS.values()) == list(BUILTIN_KINDS)
    assert set(ATTR_PREFIX) == set(KINDS)
    assert {"basic", "bottleneck", "inverted_residual"} == RESIDUAL_KINDS
    assert all(KINDS[tag].scales_depth for tag in RESIDUAL_KINDS)
