"""What every part of a spec shares: the strict base model, and the values of norms,
activations and skips (each also written as a bare string: `norm: batch`, `skip: add`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from skipgen.language.limits import Groups
from skipgen.language.reserved import name_problem

ActName = Literal[
    "relu",
    "relu6",
    "silu",
    "gelu",
    "hardswish",
    "hardsigmoid",
    "leaky_relu",
    "prelu",
    "sigmoid",
    "none",
]
NormKind = Literal["batch", "group", "instance", "layer", "none"]
SkipMode = Literal["add", "concat", "mul", "none"]
ConcatOrder = Literal["shortcut_first", "shortcut_last"]
OnMismatch = Literal["project", "drop", "error"]
Probability = Annotated[float, Field(ge=0.0, lt=1.0)]

ACT_DESCRIPTION = (
    "activation: relu, relu6, silu, gelu, hardswish, hardsigmoid, leaky_relu, prelu, sigmoid "
    "or none, or {type: leaky_relu, slope} or {type: prelu, per_channel}"
)
STOCHASTIC_DEPTH_DESCRIPTION = (
    "drop probability of the residual branch while training; "
    "default: from defaults.stochastic_depth"
)

# Lets an editor flag what check_identifier refuses for its characters (not for its meaning).
IDENTIFIER_SCHEMA: dict[str, Any] = {"pattern": "^[A-Za-z][A-Za-z0-9_]*$"}
# A module's key, or a path of keys into containers: what `add_module` accepts, kept to
# ASCII letters, digits, _ and - (torchvision's RegNet names its blocks `block1-0`).
REGISTER_DESCRIPTION = (
    "the keys of its modules to register first, in this order (the rest follow as they "
    "run): where a reference registers modules in another order than it runs them"
)
KEY_PATH_SCHEMA: dict[str, Any] = {
    "pattern": "^[A-Za-z0-9-][A-Za-z0-9_-]*(\\.[A-Za-z0-9-][A-Za-z0-9_-]*)*$"
}
_KEY = re.compile(r"[A-Za-z0-9-][A-Za-z0-9_-]*")


class HintedValueError(ValueError):
    """A validator's error with a hint; pydantic keeps it in the error's ``ctx["error"]``."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def check_key_path(value: str, what: str) -> str:
    """``value`` if it can be a module's key, or a path of keys into containers (parts
    that read as Python names follow :func:`check_identifier`)."""
    for part in value.split("."):
        if not part.isascii() or part.startswith("_"):
            check_identifier(part, what)  # says how Python reads it, or that it is private
        if not _KEY.fullmatch(part):
            shown = f" in {value!r}" if part != value else ""
            raise HintedValueError(
                f"{what} {part!r}{shown} is not a module key",
                "a key is made of ASCII letters, digits, _ and -; a . goes into a "
                "container (inner_blocks.3)",
            )
        if part.isidentifier():
            check_identifier(part, what)
    return value


def check_identifier(value: str, what: str) -> str:
    """``value`` if it can be the ``what`` (a name or id) in generated source."""
    problem = name_problem(value, what)
    if problem is not None:
        raise HintedValueError(*problem)
    return value


class StrictModel(BaseModel):
    """Unknown keys are errors; values are never coerced; floats are finite."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        populate_by_name=True,
        strict=True,
        allow_inf_nan=False,
        defer_build=True,
    )


class Norm(StrictModel):
    """A normalization layer: `batch`, `group` (with `groups`), `instance`, `layer` or `none`."""

    type: NormKind = Field(
        description="batch: BatchNorm, group: GroupNorm, instance: InstanceNorm, layer: "
        "LayerNorm over the channels at each position (ConvNeXt's LayerNorm2d), none: no norm"
    )
    groups: Groups = Field(
        default=32, description="group count for group norm; must divide the channels"
    )
    eps: float = Field(
        default=1e-5, gt=0.0, le=1.0, description="added to the variance for stability"
    )
    momentum: float | None = Field(
        default=None,
        gt=0.0,
        le=1.0,
        description="batch norm's running statistics update rate; default: torch's 0.1 "
        "(instance norm keeps no running statistics)",
    )
    affine: bool | None = Field(
        default=None,
        description="a learned scale and shift per channel; default: true, except for "
        "instance norm (false, as torch's InstanceNorm)",
    )

    @field_validator("momentum")
    @classmethod
    def _momentum_for_batch_norm(cls, value: float | None, info: ValidationInfo) -> float | None:
        norm = info.data.get("type")
        if value is not None and norm not in (None, "batch"):
            why = (
                "instance norm normalizes by each sample's own statistics, in training and "
                "in evaluation, and keeps no running statistics"
                if norm == "instance"
                else f"{norm} norm keeps no running statistics"
            )
            raise HintedValueError(f"momentum applies only to batch norm: {why}", "remove momentum")
        return value

    @field_validator("affine")
    @classmethod
    def _affine_needs_a_norm(cls, value: bool | None, info: ValidationInfo) -> bool | None:
        if value is not None and info.data.get("type") == "none":
            raise HintedValueError("a norm of type none has no affine parameters", "remove affine")
        return value

    @property
    def has_affine(self) -> bool:
        """Whether the norm learns a scale and shift per channel (2 parameters each)."""
        if self.type == "none":
            return False
        return self.affine if self.affine is not None else self.type != "instance"


class Act(StrictModel):
    """An activation, with its parameters where it has them."""

    type: ActName = Field(
        description="relu, relu6, silu, gelu, hardswish, hardsigmoid, leaky_relu, prelu "
        "(a learned slope), sigmoid or none"
    )
    slope: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="leaky_relu's slope below zero; default: torch's 0.01",
    )
    per_channel: bool = Field(
        default=False,
        description="prelu: one learned slope per channel (nn.PReLU(num_parameters=channels)) "
        "instead of one for the layer",
    )

    @field_validator("slope")
    @classmethod
    def _slope_for_leaky_relu(cls, value: float | None, info: ValidationInfo) -> float | None:
        if value is not None and info.data.get("type") not in (None, "leaky_relu"):
            raise HintedValueError(
                "slope applies only to leaky_relu",
                "write act: {type: leaky_relu, slope: ...}, or remove slope",
            )
        return value

    @field_validator("per_channel")
    @classmethod
    def _per_channel_for_prelu(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("type") not in (None, "prelu"):
            raise HintedValueError(
                "per_channel applies only to prelu",
                "write act: {type: prelu, per_channel: true}, or remove per_channel",
            )
        return value


def _act_shorthand(value: Any) -> Any:
    return {"type": value} if isinstance(value, str) else value


ActSpec = Annotated[Act, BeforeValidator(_act_shorthand, json_schema_input_type=ActName | Act)]


def _norm_shorthand(value: Any) -> Any:
    return {"type": value} if isinstance(value, str) else value


NormSpec = Annotated[Norm, BeforeValidator(_norm_shorthand, json_schema_input_type=NormKind | Norm)]


class Skip(StrictModel):
    """How a block's output is combined with a shortcut."""

    mode: SkipMode = Field(
        description="add: residual sum, concat: channel concatenation (dense), mul: "
        "element-wise product with an earlier output (an attention gate; needs from), "
        "none: no skip"
    )
    from_: str | None = Field(
        default=None,
        alias="from",
        description="take the shortcut from this earlier node (its id or name) "
        "instead of the block's input",
    )
    order: ConcatOrder | None = Field(
        default=None,
        description="where a long concat puts the shortcut: shortcut_first, [skip, x], as "
        "the classic U-Net; shortcut_last, [x, skip], as segmentation_models_pytorch; "
        "default: shortcut_first",
    )

    @model_validator(mode="after")
    def _mul_needs_a_source(self) -> Skip:
        if self.mode == "mul" and self.from_ is None:
            raise HintedValueError(
                "mul multiplies the output by an earlier layer's output, and needs from",
                "write skip: {mode: mul, from: <the id of the gate or the features>}",
            )
        return self

    @field_validator("order")
    @classmethod
    def _order_needs_a_long_concat(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and (info.data.get("mode") != "concat" or not info.data.get("from_")):
            raise HintedValueError(
                "order applies only to a concat with the shortcut from an earlier layer",
                "remove order, or write skip: {mode: concat, from: ..., order: ...}",
            )
        return value


def _skip_shorthand(value: Any) -> Any:
    return {"mode": value} if isinstance(value, str) else value


SkipSpec = Annotated[Skip, BeforeValidator(_skip_shorthand, json_schema_input_type=SkipMode | Skip)]
