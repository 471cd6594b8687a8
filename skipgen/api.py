"""The Python API: load and check specs, build modules, generate source.

Nothing here imports torch until a module is actually built.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from skipgen.composite.expand import expand
from skipgen.composite.library import read_library
from skipgen.errors import Diagnostic, SpecError
from skipgen.ir.graph import Graph
from skipgen.ir.lower import lower
from skipgen.kinds.plugins import PluginError
from skipgen.spec import overrides
from skipgen.spec.load import Positions, decode, load_yaml
from skipgen.spec.locate import diagnostics_from
from skipgen.spec.models import Spec, kinds_of, spec_model, spec_model_over

if TYPE_CHECKING:
    from torch import nn

SpecLike = Spec | str | os.PathLike[str] | dict[str, Any]


def _is_file(source: str) -> bool:
    if "\n" in source:
        return False
    try:
        return source.endswith((".yaml", ".yml")) or Path(source).is_file()
    except OSError:  # not a possible path (too long, say): YAML text
        return False


def read_source(source: str | os.PathLike[str] | dict[str, Any]) -> tuple[Any, Positions, str]:
    """Plain data, node positions and the text (empty for a dict) of a spec."""
    if isinstance(source, dict):
        return source, Positions("<dict>"), ""
    if isinstance(source, os.PathLike) or _is_file(source):
        path = os.fspath(source)
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise SpecError([Diagnostic(path, 1, 1, f"cannot read the spec: {reason}")]) from None
        text = decode(raw, path)
        data, positions = load_yaml(text, path)
        return data, positions, text
    data, positions = load_yaml(source, "<string>")
    return data, positions, source


def load_spec(source: SpecLike, *, set: Sequence[str] = ()) -> Spec:
    """Read and validate a spec from a path, YAML text or a dict.

    ``set`` holds ``key=value`` changes to apply first, as ``--set`` does on the command
    line (``"scaling.width=1.1"``, ``"layers.3.channels=96"``; values are YAML).
    Raises :class:`SpecError` listing every problem, each at its file, line and column
    (or naming the ``key=value`` that caused it).
    """
    if isinstance(source, Spec):
        if set:
            raise ValueError("set= applies to a spec's source, not to a validated Spec")
        return source
    data, positions, text = read_source(source)
    if not isinstance(data, dict):
        raise SpecError(
            [positions.diagnostic((), "a spec is a mapping with name, input and layers")]
        )
    if set:
        data = copy.deepcopy(data)  # a dict passed in stays as it was
        overrides.apply(data, positions, list(set))
        text += "".join(f"\n# --set {option}" for option in set)  # into the source's hash
    try:
        plugins = _plugins(data, positions)
        library = read_library(data, positions, kinds_of(plugins))
    except SpecError as error:
        raise overrides.relabel(error, positions) from None
    kinds = {**kinds_of(plugins), **library.uses}
    model = spec_model_over(tuple(kinds.values())) if library.uses else spec_model(plugins)
    try:
        spec = model.model_validate(data)
    except ValidationError as exc:
        found = SpecError(diagnostics_from(exc, data, positions, kinds))
        raise overrides.relabel(found, positions) from None
    spec._positions = positions
    spec._blocks = (library, kinds) if library.uses else None
    # what a generated file's hash covers: the spec, and the block files it includes
    spec._text = text + "".join(f"\n# include {f}\n{t}" for f, t in library.texts)
    return spec


def _plugins(data: dict[str, Any], positions: Positions) -> tuple[str, ...]:
    """The plugins a spec names, each loaded: before the layers, which may use their kinds.

    A ``plugins`` value that is not a list of names is left to the model to report.
    """
    names = data.get("plugins")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return ()
    diagnostics = []
    for i, name in enumerate(names):
        try:
            kinds_of((name,))
        except PluginError as exc:
            diagnostics.append(
                positions.diagnostic(("plugins", i), f"plugins[{i}]: {exc}", exc.hint)
            )
    if diagnostics:
        raise SpecError(diagnostics)
    unique = tuple(dict.fromkeys(names))
    try:
        kinds_of(unique)
    except PluginError as exc:
        raise SpecError([positions.diagnostic(("plugins",), f"plugins: {exc}", exc.hint)]) from None
    return unique


def lower_spec(source: SpecLike, *, set: Sequence[str] = ()) -> Graph:
    """Validate and lower a spec: channels, sizes and parameters of every block.

    ``set``: ``key=value`` changes, as for :func:`load_spec`.
    """
    spec = load_spec(source, set=set)
    positions = spec._positions or Positions("<spec>")
    try:
        if spec._blocks is not None:  # each use of a composite block becomes its body
            library, kinds = spec._blocks
            spec, positions = expand(spec, library, kinds, positions)
        return lower(spec, positions)
    except SpecError as error:
        raise overrides.relabel(error, positions) from None


def build_model(source: SpecLike | Graph) -> nn.Module:
    """A ``torch.nn.Module`` for a spec (or an already lowered graph).

    Raises :class:`SpecError` for an invalid spec, and before allocating anything for a
    network whose parameters need more memory than the machine has.
    """
    from skipgen.backends.torch import build

    graph = source if isinstance(source, Graph) else lower_spec(source)
    return build(graph)


def generate_source(source: SpecLike, *, line_length: int = 88, set: Sequence[str] = ()) -> str:
    """Standalone PyTorch source for a spec: a module that needs only torch.

    The text is formatted as ``ruff format`` (or black) formats it at ``line_length``
    columns (88, their default, or more), so it can be committed as it is. ``set``:
    ``key=value`` changes, as for :func:`load_spec` (the header's hash covers them).
    """
    from skipgen.backends.source import render

    spec = load_spec(source, set=set)
    return render(lower_spec(spec), spec_text=spec._text or "", line_length=line_length)
