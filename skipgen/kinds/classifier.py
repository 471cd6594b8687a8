"""The classification head."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from skipgen.errors import LayerError
from skipgen.ir.common import Body, Resolved, call
from skipgen.kinds.base import Kind
from skipgen.kinds.macs import Formula, no_convs
from skipgen.language.limits import Classes, Hidden
from skipgen.language.vocabulary import ACT_DESCRIPTION, ActSpec, Probability


class Classifier(Kind):
    """global pool → dropout → linear, or with `hidden`: global pool → linear → act →
    dropout → linear; must come last"""

    attr_prefix: ClassVar[str] = "classifier"
    one_act_width: ClassVar[bool] = True
    flattens: ClassVar[bool] = True
    blocks: ClassVar[tuple[str, ...]] = (
        "skipgen.nn.head:Classifier",
        "skipgen.nn.head:MLPClassifier",
    )
    # linear layers only: one MAC per parameter
    macs: ClassVar[dict[str, Formula]] = dict.fromkeys(("Classifier", "MLPClassifier"), no_convs)

    type: Literal["classifier"]
    classes: Classes = Field(description="output classes (features of the linear layer)")
    dropout: Probability = Field(default=0.0, description="dropout rate before the linear layer")
    pool: Literal["avg", "max"] = Field(default="avg", description="avg or max global pooling")
    hidden: Hidden | None = Field(
        default=None,
        description="features of a hidden linear layer before the output one "
        "(MobileNetV3: 1280); default: none",
    )
    act: ActSpec | None = Field(
        default=None,
        description="the hidden layer's " + ACT_DESCRIPTION + "; default: defaults.act",
    )

    def lower(self, inherited: Resolved, cin: int, cout: int, stride: int) -> Body:
        params = cin * self.classes + self.classes
        if self.hidden is None:
            c = call(
                "Classifier",
                cin,
                self.classes,
                dropout=self.dropout,
                pool=self.pool,
                dims=inherited.dims,
            )
        else:
            params = (cin + 1) * self.hidden + (self.hidden + 1) * self.classes
            params += inherited.act_params(self.hidden)
            c = call(
                "MLPClassifier",
                cin,
                self.hidden,
                self.classes,
                act=inherited.act_at(self.hidden),
                dropout=self.dropout,
                pool=self.pool,
                dims=inherited.dims,
            )
        errors: tuple[LayerError, ...] = ()
        if self.act is not None and self.hidden is None:
            errors = (
                LayerError(
                    field="act",
                    message="act is the hidden layer's activation, and there is no hidden layer",
                    hint="set hidden (e.g. 1280), or remove act",
                ),
            )
        return Body(
            out_channels=self.classes,
            op=("global",),
            params=params,
            make=lambda skip, downsample: c,
            errors=errors,
        )
