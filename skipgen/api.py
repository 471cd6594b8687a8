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
from skipgen.ir.memory import activations_too_large
from skipgen.kinds.plugins import PluginError
from skipgen.language import overrides
from skipgen.language.load import Positions, Unreadable, load_yaml, read_file
from skipgen.language.locate import diagnostics_from, is_another_kind_of_file, quoted
from skipgen.language.models import Spec, kinds_of, spec_model, spec_model_over

if TYPE_CHECKING:
    from torch import nn

SpecLike = Spec | str | os.PathLike[str] | dict[str, Any]


def _is_path(source: str) -> bool:
    """Whether a string given for a spec is a path (else it is the spec's YAML text).

    A path has no line break, and ends in ``.yaml``/``.yml`` or names something that
    exists (a file, or a folder, which is then reported as one).
    """
    if "\n" in source or "\r" in source:
        return False
    try:
        return source.endswith((".yaml", ".yml")) or Path(source).exists()
    except (OSError, ValueError):  # not a possible path (too long, a NUL): YAML text
        return False


def read_source(source: str | os.PathLike[str] | dict[str, Any]) -> tuple[Any, Positions, str]:
    """Plain data, node positions and the text (empty for a dict) of a spec."""
    if isinstance(source, dict):
        return source, Positions("<dict>"), ""
    if isinstance(source, os.PathLike) or _is_path(source):
        path = os.fspath(source)
        try:
            text = read_file(path)
        except Unreadable as exc:
            message = f"cannot read the spec: {exc.reason}"
            raise SpecError([Diagnostic(path, 1, 1, message, exc.hint)]) from None
        data, positions = load_yaml(text, path)
        return data, positions, text
    data, positions = load_yaml(source, "<string>")
    if not isinstance(data, dict | list):
        raise SpecError([_not_text(source)])
    return data, positions, source


def _not_text(source: str) -> Diagnostic:
    """A one-value string given for a spec: most likely a path that names nothing."""
    message = f"{quoted(source)} is neither a spec's YAML text (a mapping) nor a file"
    hint = "give a path ending in .yaml (or a pathlib.Path), or the spec's text"
    for named in (source + ".yaml", source + ".yml"):
        try:
            if Path(named).is_file():
                hint = f"{quoted(named)} exists: give the file's full name"
        except (OSError, ValueError):  # not a possible path
            pass
    return Diagnostic("<string>", 1, 1, message, hint)


def load_spec(source: SpecLike, *, set: Sequence[str] = ()) -> Spec:
    """Read and validate a spec from a path, YAML text or a dict.

    A ``pathlib.Path`` is a path. A string is a path when it has no line break and ends in
    ``.yaml`` or ``.yml``, or names something that exists (a folder is then an error that
    says so); any other string is the spec's YAML text. Only regular files (or links to
    them) of at most 1 MiB are read.

    ``set`` holds ``key=value`` changes to apply first, as ``--set`` does on the command
    line (``["scaling.width=1.1", "layers.3.channels=96"]``; values are YAML); a single
    string is one change.
    Raises :class:`SpecError` listing every problem, each at its file, line and column
    (or naming the ``key=value`` that caused it).
    """
    changes = _changes(set)
    if isinstance(source, Spec):
        if changes:
            raise ValueError("set= applies to a spec's source, not to a validated Spec")
        return source
    data, positions, text = read_source(source)
    if not isinstance(data, dict):
        raise SpecError(
            [positions.diagnostic((), "a spec is a mapping with name, input and layers")]
        )
    if is_another_kind_of_file(data, Spec):
        message = "this is not a skipgen spec: it has none of the keys name, input, layers"
        hint = "is it the file you meant? see configs/ for examples"
        raise SpecError([positions.diagnostic((), message, hint)])
    if changes:
        data = copy.deepcopy(data)  # a dict passed in stays as it was
        overrides.apply(data, positions, changes)
        text += "".join(f"\n# --set {option}" for option in changes)  # into the source's hash
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


def _changes(changes: Sequence[str]) -> list[str]:
    """The ``key=value`` changes of ``set=``: a list of strings, or one string."""
    if isinstance(changes, str):
        return [changes]
    found = list(changes)
    for number, change in enumerate(found):
        if not isinstance(change, str):
            got = type(change).__name__
            raise TypeError(f"set= takes 'key=value' strings; item {number} is of type {got}")
    return found


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
    network whose parameters, or one sample's activations at the spec's input size, need
    more memory than the machine has.
    """
    from skipgen.backends.torch import build

    graph = source if isinstance(source, Graph) else lower_spec(source)
    too_large = activations_too_large(graph)
    if too_large is not None:
        raise SpecError([too_large])
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
