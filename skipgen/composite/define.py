"""A composite block as the spec defines it (``blocks:``), and the model of its uses.

A definition names its typed parameters (with defaults where they are optional), its own
skip and a body of layers. The body is kept as plain data until a use gives the parameters
their values: only then are its ``"${...}"`` expressions computed and its layers validated
(see :mod:`skipgen.composite.expand`). A use is validated like any layer, by a model made
for the composite: its ``type``, the common layer keys and one key per parameter.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
)

from skipgen.kinds.base import Layer
from skipgen.language.shortcut import Shortcut, ShortcutSpec
from skipgen.language.vocabulary import (
    REGISTER_DESCRIPTION,
    HintedValueError,
    OnMismatch,
    StrictModel,
    check_identifier,
)

ParamType = Literal["int", "float", "bool", "str"]
MAX_TEXT = 200  # characters of a str parameter's value

_PYTHON_TYPES: dict[str, Any] = {"int": int, "float": float, "bool": bool, "str": str}


def _fits(kind: str, value: object) -> bool:
    """Whether ``value`` is a value of the parameter type ``kind`` (YAML's, never coerced)."""
    if kind == "float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, _PYTHON_TYPES[kind])


def _value_type(kind: str) -> Any:
    """The type of a use's value for a parameter of type ``kind``, and so of its default."""
    if kind == "str":
        return Annotated[str, Field(max_length=MAX_TEXT)]
    return _PYTHON_TYPES[kind]


# A use's values are checked by its model (strict, finite floats); a default by the same rules.
_VALUE_CHECKS = {
    kind: TypeAdapter(_value_type(kind), config=ConfigDict(strict=True, allow_inf_nan=False))
    for kind in _PYTHON_TYPES
}


# What a default of its type that fails a use's checks should be instead (only a float's
# and a str's checks go beyond the type).
_DEFAULT_HINTS = {
    "float": ".inf and .nan are not allowed here",
    "str": f"a text value has at most {MAX_TEXT} characters",
}


class Param(StrictModel):
    """A parameter of a composite block: its type and, for an optional one, its default."""

    type: ParamType = Field(description="int, float, bool or str")
    default: Any = Field(
        default=None,
        description="the value when a use leaves it out; without it, required",
        json_schema_extra={"type": ["integer", "number", "boolean", "string"]},
    )
    description: str | None = Field(default=None, description="what the parameter means")

    @field_validator("default")
    @classmethod
    def _default_is_a_value(cls, value: Any, info: ValidationInfo) -> Any:
        """A default passes the checks a use's value passes (a finite float, a short text)."""
        kind = info.data.get("type")
        if value is None or kind is None:
            return value
        if not _fits(kind, value):
            raise HintedValueError(
                f"the default {_shown(value)} is not a value of type {kind}",
                f"give a default of type {kind}, or none to make the parameter required",
            )
        try:
            _VALUE_CHECKS[kind].validate_python(value)
        except ValidationError as exc:
            first = exc.errors()[0]
            message = "must be a finite number" if kind == "float" else first["msg"]
            raise HintedValueError(message, _DEFAULT_HINTS.get(kind, "")) from None
        return value


def _shown(value: object) -> str:
    """A default as a message quotes it: a long text by its start only."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _param_shorthand(value: Any) -> Any:
    return {"type": value} if isinstance(value, str) else value


ParamSpec = Annotated[
    Param, BeforeValidator(_param_shorthand, json_schema_input_type=ParamType | Param)
]


def _unregistered(value: Shortcut | None) -> Shortcut | None:
    """A composite block's projection is its attribute ``shortcut``, after its body."""
    if value is not None and value.registered is not None:
        raise HintedValueError(
            "a composite block registers its projection after its body, as `shortcut`: "
            "`registered` places a built-in block's",
            "remove `registered`",
        )
    return value


class CompositeUse(Layer):
    """A layer of a composite block's type; one subclass per composite, made by
    :func:`use_model`, holds a field per parameter."""

    attr_prefix: ClassVar[str] = "block"
    scales_depth: ClassVar[bool] = False
    composite: ClassVar[str] = ""  # the composite's name
    param_names: ClassVar[tuple[str, ...]] = ()

    scale_depth: bool | None = Field(
        default=None, description="whether scaling.depth applies to its repeat; default: no"
    )
    scale_width: bool | None = Field(
        default=None,
        description="false: scaling.width applies to no layer of its body; default: as each "
        "body layer says",
    )
    shortcut: ShortcutSpec | None = Field(
        default=None,
        description="how this use projects the block's own skip, where it does: conv or "
        "avgpool, or {type, kernel, norm, bias}; default: the block's",
    )

    _shortcut = field_validator("shortcut")(_unregistered)

    def params(self) -> dict[str, Any]:
        """The parameters' values, defaults filled in."""
        return {name: getattr(self, name) for name in self.param_names}


# Keys a parameter cannot have: the keys every use has, and the class's own argument.
RESERVED_PARAMS = frozenset(
    {*CompositeUse.model_fields, *(f.alias for f in CompositeUse.model_fields.values() if f.alias)}
    | {"type", "in_channels", "round", "min", "max"}
)


class BlockDefinition(StrictModel):
    """A composite block: a kind written in the spec, from its parameters and a body of
    layers whose values may be expressions "${...}" over the parameters."""

    description: str | None = Field(default=None, description="what the block is")
    params: dict[str, ParamSpec] = Field(
        default_factory=dict,
        description="the parameters: name: type (int, float, bool, str), or "
        "{type, default, description}",
    )
    skip: Literal["add", "concat", "none"] = Field(
        default="none", description="the block's own skip around its body: add, concat or none"
    )
    on_mismatch: OnMismatch = Field(
        default="project",
        description="when the skip's shortcut and the body's output differ: project (1x1 "
        "conv + norm, strided), drop the skip, or error",
    )
    shortcut: ShortcutSpec | None = Field(
        default=None,
        description="how the block projects its own skip, where it does: conv or avgpool, "
        "or {type, kernel, norm, bias}; default: a 1x1 conv with the stride and the norm",
    )
    register_: list[str] | None = Field(
        default=None,
        alias="register",
        description=REGISTER_DESCRIPTION,
    )
    layers: list[dict[str, Any]] = Field(
        min_length=1,
        description='the body: layers of any kind, values may be "${expression}"',
    )

    _shortcut = field_validator("shortcut")(_unregistered)

    @field_validator("params")
    @classmethod
    def _param_names(cls, value: dict[str, Param]) -> dict[str, Param]:
        for name in value:
            if name in RESERVED_PARAMS:
                raise HintedValueError(
                    f"{name!r} cannot be a parameter: every use of a block has that key, "
                    "or the generated class uses the name",
                    "choose another parameter name",
                )
            check_identifier(name, "parameter")
        return value


def use_model(name: str, definition: BlockDefinition) -> type[CompositeUse]:
    """The model that validates a use of the composite ``name``."""
    fields: dict[str, Any] = {
        "type": (Literal[name], Field(description=definition.description or name))
    }
    for param, spec in definition.params.items():
        python = _value_type(spec.type)
        required = spec.default is None
        default = ... if required else spec.default
        if spec.type == "float" and not required:
            default = float(spec.default)  # type: ignore[arg-type]
        fields[param] = (python, Field(default=default, description=spec.description))
    doc = definition.description or f"composite block {name}"
    model = create_model(  # type: ignore[call-overload]
        f"Composite_{name}", __base__=CompositeUse, __doc__=doc, **fields
    )
    model.composite = name
    model.attr_prefix = name
    model.param_names = tuple(definition.params)
    return model  # type: ignore[no-any-return]
