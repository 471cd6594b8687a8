"""An instance of a composite block: a use, with its body's layers validated for the values
the use gives. Made by :mod:`skipgen.composite.expand`, never written in a spec.

It is a group of layers, as a ``sequence`` is (its body's layers are keyed by their names,
or numbered), with what a sequence lacks: a class of its own and a skip around its body.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from skipgen.kinds.sequence import Sequence
from skipgen.language.shortcut import Shortcut


class Composite(Sequence):
    """an instance of a composite block (made from a use; not a spec's own type)"""

    type: str  # type: ignore[assignment]  # the composite's name
    block: str = Field(description="the composite's name")
    own_skip: str = Field(default="none", description="its skip around the body")
    own_on_mismatch: str = Field(default="project", description="its on_mismatch")
    own_shortcut: Shortcut | None = Field(
        default=None, description="how its skip is projected: the use's form, or the block's"
    )
    shortcut_given: bool = Field(default=False, description="whether the use gives the form")
    params: dict[str, Any] = Field(default_factory=dict, description="the use's values")
    later: list[Any] | None = Field(
        default=None, description="the body of every repeat after the first (stride 1)"
    )
    scale_depth: bool | None = None
    defaults: dict[str, Any] = Field(default_factory=dict, description="optional params")
    expressions: list[str] = Field(
        default_factory=list, description="the body's arithmetic, as Python source"
    )
    description: str | None = None

    @property
    def attr_prefix(self) -> str:  # type: ignore[override]
        return self.block

    @property
    def default_on_mismatch(self) -> str:  # type: ignore[override]
        return self.own_on_mismatch
