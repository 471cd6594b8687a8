"""Which layers may follow which: after a flat output, and between `permute: channels_last`
and back, where the channels lie on the last axis.

A list of layers is walked in order with its :class:`Form`; each layer is checked against
it before it is lowered, so that a spec that validates also runs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from skipgen.ir.blocks import PendingNode
from skipgen.ir.graph import Call
from skipgen.kinds.base import Layer
from skipgen.kinds.linear import Linear
from skipgen.kinds.permute import Permute
from skipgen.kinds.scale import Scale
from skipgen.kinds.sequence import Sequence


@dataclass
class Form:
    """What the output of the layers so far looks like."""

    flat: bool = False  # (batch, features): only layers that take a flat input follow
    channels_last: bool = False  # between `permute: channels_last` and back
    since: int | None = None  # the layer that made it so

    def problem(self, layer: Layer, keyed: bool) -> tuple[str, str] | None:
        """Why ``layer`` cannot come next, and what to do; None when it can (what may follow
        a flat output the list lowering says itself)."""
        if isinstance(layer, Scale) and layer.learned and not keyed:
            return (
                "a learned scale is a parameter of the network or of a composite block, and "
                "this layer is inside a sequence",
                "put it at the top level or in a composite block's body",
            )
        if self.channels_last:
            if isinstance(layer, Permute) and layer.to == "channels_last":
                return "the channels are already last", "remove this permute"
            if not layer.channels_last_ok or isinstance(layer, Sequence):
                return (
                    f"a {layer.type} needs the channels first, and they are last here",
                    "put `{type: permute, to: channels_first}` before it",
                )
        elif isinstance(layer, Permute) and layer.to == "channels_first":
            return "the channels are already first", "remove this permute"
        elif isinstance(layer, Linear) and not self.flat:
            return (
                "a linear layer acts on the channels of a flat output or of a channels-last "
                "map, and the channels are first here",
                "put a flatten, or `{type: permute, to: channels_last}`, before it",
            )
        return None

    def after(self, layer: Layer, i: int, flat: bool) -> None:
        """The form once ``layer`` (the ``i``-th) has run; ``flat``: its output is flat."""
        if isinstance(layer, Permute):
            self.channels_last = layer.to == "channels_last"
            self.since = i
        elif flat and not self.flat:
            self.flat, self.since = True, i


def channels_last_node(node: PendingNode) -> PendingNode:
    """A node lowered between `permute: channels_last` and back: its layer norm acts on the
    last axis (``nn.LayerNorm``), not on the channels of a channels-first map."""
    call = node.call
    if call.target != "LayerNormNd":
        return node
    kwargs = tuple(("elementwise_affine" if k == "affine" else k, v) for k, v in call.kwargs)
    layer_norm = Call("nn.LayerNorm", call.args[:1], kwargs)
    return replace(node, call=layer_norm)
