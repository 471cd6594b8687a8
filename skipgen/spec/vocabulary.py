"""What every part of a spec shares: the strict base model, and the values of norms,
activations and skips (each also written as a bare string: `norm: batch`, `skip: add`).
"""

from __future__ import annotations

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

from skipgen.spec.limits import Groups
from skipgen.spec.reserved import name_problem

Act = Literal[
    "relu", "relu6", "silu", "gelu", "hardswish", "hardsigmoid", "leaky_relu", "sigmoid", "none"
]
NormKind = Literal["batch", "group", "instance", "none"]
SkipMode = Literal["add", "concat", "mul", "none"]
ConcatOrder = Literal["shortcut_first", "shortcut_last"]
OnMismatch = Literal["project", "drop", "error"]
Probability = Annotated[float, Field(ge=0.0, lt=1.0)]

ACT_DESCRIPTION = (
    "activation: relu, relu6, silu, gelu, hardswish, hardsigmoid, leaky_relu, sigmoid or none"
)
STOCHASTIC_DEPTH_DESCRIPTION = (
    "drop probability of the residual branch while training; "
    "default: from defaults.stochastic_depth"
)

# Lets an editor flag what check_identifier refuses for its characters (not for its meaning).
IDENTIFIER_SCHEMA: dict[str, Any] = {"pattern": "^[A-Za-z][A-Za-z0-9_]*$"}


class HintedValueError(ValueError):
    """A validator's error with a hint; pydantic keeps it in the error's ``ctx["error"]``."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def check_identifier(value: str, what: str) -> str:
    """``value`` if it can be the ``what`` (a name or id) in generated source."""
    problem = name_problem(value, what)
    if problem is not None:
        raise HintedValueError(*problem)
    return value


class StrictModel(BaseModel):
    """Unknown keys are errors; values are never coerced; floats are finite."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, strict=True, allow_inf_nan=False
    )


class Norm(StrictModel):
    """A normalization layer: `batch`, `group` (with `groups`), `instance` or `none`."""

    type: NormKind = Field(
        description="batch: BatchNorm, group: GroupNorm, instance: InstanceNorm, none: no norm"
    )
    groups: Groups = Field(
        default=32, description="group count for group norm; must divide the channels"
    )
    eps: float = Field(
        default=1e-5, gt=0.0, le=1.0, description="added to the variance for stability"
    )
    momentum: float = Field(
        default=0.1,
        gt=0.0,
        le=1.0,
        description="running statistics update rate (batch, instance norm)",
    )


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
