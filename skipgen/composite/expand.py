"""Expand every use of a composite block into an instance of its body.

For each use, the body's ``"${...}"`` values are computed from the use's parameters, the
body's layers are validated as any layer is (built-in kinds, plugin kinds, other
composites, expanded in turn), and the use becomes a :class:`Composite`: a group of those
layers with the block's class and skip. Errors inside a body are located in the block's
definition, with a note naming the use (see :mod:`skipgen.composite.frames`).

A use that repeats with a ``stride`` parameter other than 1 gets its body twice: as given
for its first repeat, and with ``stride`` 1 for the others, as built-in kinds apply their
stride to the first repeat only.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from pydantic import TypeAdapter, ValidationError

from skipgen.composite.define import CompositeUse
from skipgen.composite.expr import ExprError, evaluate, expression_text, parse
from skipgen.composite.frames import Frame, FramedPositions
from skipgen.composite.library import Definition, Library, _Prefixed
from skipgen.errors import Diagnostic, SpecError
from skipgen.ir.tree import MAX_BLOCKS, scaled_repeats
from skipgen.kinds.base import Kind, Layer
from skipgen.kinds.composite import Composite
from skipgen.kinds.sequence import Sequence
from skipgen.language import models as m
from skipgen.language.load import Path, Positions
from skipgen.language.locate import diagnostics_from, format_path

_FAILED = object()  # a value whose expression was refused (already reported)


class _Expander:
    def __init__(
        self,
        spec: m.Spec,
        library: Library,
        positions: FramedPositions,
        kinds: Mapping[str, type[Layer]],
    ) -> None:
        self.spec = spec
        self.library = library
        self.positions = positions
        self.kinds = kinds
        self.adapter: TypeAdapter[list[Layer]] = TypeAdapter(
            list[m.layer_union(tuple(kinds.values()))]  # type: ignore[arg-type,misc]
        )
        self.errors: list[Diagnostic] = []
        self.expanded = 0  # body layers made so far, all uses together

    def layers(self, layers: Iterable[Layer], path: Path, narrow: bool = False) -> list[Layer]:
        """``layers`` with every use expanded; ``narrow``: scaling.width applies to none."""
        out: list[Layer] = []
        for i, layer in enumerate(layers):
            here = (*path, i)
            if isinstance(layer, CompositeUse):
                out.append(self.instance(layer, here, narrow))
            elif isinstance(layer, Sequence):
                inner = self.layers(layer.layers, (*here, "layers"), narrow)
                out.append(layer.model_copy(update={"layers": inner}))
            elif narrow and isinstance(layer, Kind) and "scale_width" not in layer.model_fields_set:
                out.append(layer.model_copy(update={"scale_width": False}))
            else:
                out.append(layer)
        return out

    def instance(self, use: CompositeUse, path: Path, narrow: bool) -> Layer:
        definition = self.library.definitions[use.composite]
        frame = self.positions.frame(path, use.composite, definition.positions, definition.origin)
        narrow = narrow or use.scale_width is False
        params = use.params()
        body = self.body(definition, params, frame, narrow)
        later = None
        stride = params.get("stride")
        if stride not in (None, 1) and scaled_repeats(use, self.spec.scaling) > 1:
            later = self.body(definition, {**params, "stride": 1}, frame, narrow)
        fields = {
            "type": use.composite,
            "name": use.name,
            "id": use.id,
            "from_": use.from_,
            "alias": use.alias,
            "repeat": use.repeat,
            "skip": use.skip,
            "on_mismatch": use.on_mismatch,
            "checkpoint": use.checkpoint,
            "layers": body,
            "register_": definition.body.register_,
            "block": use.composite,
            "own_skip": definition.body.skip,
            "own_on_mismatch": definition.body.on_mismatch,
            "own_shortcut": use.shortcut or definition.body.shortcut,
            "shortcut_given": use.shortcut is not None,
            "params": params,
            "later": later,
            "scale_depth": use.scale_depth,
            "defaults": {
                name: float(param.default) if param.type == "float" else param.default
                for name, param in definition.body.params.items()
                if param.default is not None
            },
            "expressions": _expressions(definition.body.layers, params),
            "description": definition.body.description,
        }
        return Composite.model_construct(_fields_set=use.model_fields_set | {"layers"}, **fields)

    def body(
        self, definition: Definition, params: dict[str, Any], frame: Frame, narrow: bool
    ) -> list[Layer]:
        """The body's layers for ``params``, expanded; empty after an error, reported."""
        raw = definition.body.layers
        self.expanded += len(raw)
        if self.expanded > MAX_BLOCKS:
            self.error(
                frame.prefix[:-1],
                f"composite blocks expand to more than {MAX_BLOCKS:,} layers",
                "a block that uses other blocks multiplies their layers: use fewer",
            )
            raise SpecError(self.errors)
        before = len(self.errors)
        data = [self.substitute(layer, params, (*frame.prefix, i)) for i, layer in enumerate(raw)]
        if len(self.errors) > before:
            return []
        try:
            layers = self.adapter.validate_python(data)
        except ValidationError as exc:
            notes = tuple(f.note for f in self.positions.enclosing(frame.prefix))
            found = _Prefixed(exc, frame.origin)
            where = {"blocks": {definition.name: {"layers": data}}}
            for error in diagnostics_from(found, where, definition.positions, self.kinds):  # type: ignore[arg-type]
                self.errors.append(replace(error, notes=notes))
            return []
        for i, layer in enumerate(layers):
            if layer.id is not None:
                self.error(
                    (*frame.prefix, i, "id"),
                    "a layer inside a composite block has no id: every use would repeat it",
                    "remove it; a long skip inside the body may read a layer outside it",
                )
        return self.layers(layers, frame.prefix, narrow)

    def substitute(self, value: Any, params: dict[str, Any], path: Path) -> Any:
        """``value`` with every ``"${...}"`` in it computed; refused ones reported."""
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                if key == "type" and isinstance(item, str) and "${" in item:
                    self.refused((*path, key), ExprError("a layer's type cannot be computed"))
                    continue
                out[key] = self.substitute(item, params, (*path, key))
            return out
        if isinstance(value, list):
            return [self.substitute(item, params, (*path, i)) for i, item in enumerate(value)]
        try:
            text = expression_text(value)
            if text is None:
                return value
            result = evaluate(parse(text, params), params)
        except ExprError as exc:
            self.refused(path, exc)
            return _FAILED
        if isinstance(result, float) and result.is_integer():
            return int(result)  # a whole number, as YAML's 64.0 is 64
        return result

    def refused(self, path: Path, error: ExprError) -> None:
        self.error(path, str(error), error.hint)

    def error(self, path: Path, message: str, hint: str) -> None:
        where = format_path(self.positions.shown(path))
        self.errors.append(self.positions.diagnostic(path, f"{where}: {message}", hint))


def _expressions(value: Any, params: dict[str, Any]) -> list[str]:
    """The arithmetic of a body (not the lone parameters), each once, as Python source: the
    emitted class may compute its layers' arguments with them."""
    found: dict[str, None] = {}
    if isinstance(value, dict):
        for item in value.values():
            found.update(dict.fromkeys(_expressions(item, params)))
    elif isinstance(value, list):
        for item in value:
            found.update(dict.fromkeys(_expressions(item, params)))
    else:
        try:
            text = expression_text(value)
            expr = None if text is None else parse(text, params)
        except ExprError:
            expr = None
        if expr is not None and not isinstance(expr.tree, ast.Name):
            found[ast.unparse(expr.tree)] = None  # a checked tree: only allow-listed nodes
    return list(found)


def expand(
    spec: m.Spec, library: Library, kinds: Mapping[str, type[Layer]], positions: Positions
) -> tuple[m.Spec, FramedPositions]:
    """``spec`` with every composite use expanded, and positions that locate its bodies.

    Raises :class:`SpecError` listing every problem found in the bodies.
    """
    framed = FramedPositions.around(positions)
    expander = _Expander(spec, library, framed, kinds)
    layers = expander.layers(spec.layers, ("layers",))
    heads = [
        head.model_copy(update={"layers": expander.layers(head.layers, ("heads", k, "layers"))})
        for k, head in enumerate(spec.heads)
    ]
    if expander.errors:
        raise SpecError(expander.errors)
    expanded = spec.model_copy(update={"layers": layers, "heads": heads})
    return expanded, framed
