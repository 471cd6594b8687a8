"""One decision for every skip, local or long: combine as it is, project, drop, or refuse.

A layer's own skip and a long skip ``from`` an earlier layer differ only in what they know
about their two sides; both describe that in a :class:`SkipRequest`, and :func:`decide_skip`
answers with a :class:`SkipDecision` that each applies to its own kind of shortcut.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from skipgen.errors import LayerError
from skipgen.ir.common import Resolved
from skipgen.ir.graph import SkipNote
from skipgen.ir.sizes import Op, keeps_size
from skipgen.language.shortcut import Shortcut
from skipgen.language.vocabulary import Norm

MISMATCH_HINT = "set `on_mismatch: project` or `drop`, or `skip: none`"


@dataclass(frozen=True, kw_only=True)
class SkipRequest:
    """A skip as the spec asks for it, and how its shortcut and the layer's output differ."""

    mode: str  # add, concat or none
    on_mismatch: str  # project, drop or error
    mismatch: str  # how the shortcut and the output differ, in words; "" when they fit
    layer_kind: str  # the layer's type, to say which layer a projection cannot cross
    projectable: bool  # a 1x1 conv can make the shortcut fit
    shortcut_channels: int  # channels of the shortcut: the layer's input, or the source's
    projected_channels: int  # channels a projection leads to
    stride: int = 1  # the stride of a projection
    bare: bool = False  # a projection is a conv alone, with no norm and no bias
    form: Shortcut | None = None  # how the layer asks the projection to be built


@dataclass(frozen=True, kw_only=True)
class Projection:
    """The 1x1 conv (and norm) that makes a shortcut fit the layer's output."""

    in_channels: int
    out_channels: int
    stride: int
    bare: bool
    params: int
    form: Shortcut | None = None  # as the layer asks; None: a 1x1 conv and the norm


@dataclass(frozen=True, kw_only=True)
class SkipDecision:
    """What becomes of a skip; an ``error`` means the layer cannot be built."""

    mode: str  # what is finally combined: add, concat, or none once dropped
    note: SkipNote
    projection: Projection | None = None
    error: LayerError | None = None

    @property
    def params(self) -> int:
        return self.projection.params if self.projection else 0


def decide_skip(request: SkipRequest, inherited: Resolved) -> SkipDecision:
    """Identity when the shortcut fits; else project, drop or refuse, as ``on_mismatch`` says."""
    mode = request.mode
    if mode == "none":
        return SkipDecision(mode="none", note="none")
    if not request.mismatch:
        return SkipDecision(mode=mode, note="identity")
    if request.on_mismatch == "error":
        message = f"{mode} cannot combine {request.mismatch}"
        return _refused(LayerError(field="skip", message=message, hint=MISMATCH_HINT))
    if request.on_mismatch == "drop":
        return SkipDecision(mode="none", note="dropped")
    if not request.projectable:
        return _refused(
            LayerError(
                field="on_mismatch",
                message=f"cannot project a shortcut across this {request.layer_kind} layer "
                f"({request.mismatch})",
                hint="use `on_mismatch: drop` or `skip: none`",
            )
        )
    return SkipDecision(mode=mode, note="projected", projection=_projection(request, inherited))


def _refused(error: LayerError) -> SkipDecision:
    return SkipDecision(mode="none", note="none", error=error)


def _projection(request: SkipRequest, inherited: Resolved) -> Projection:
    cin, cout = request.shortcut_channels, request.projected_channels
    form = request.form
    kernel = form.kernel if form is not None else 1
    norm = shortcut_norm(form, inherited, request.bare)
    bias = form.bias if form is not None and form.bias is not None else None
    if bias is None:
        bias = norm is None and not request.bare
    return Projection(
        in_channels=cin,
        out_channels=cout,
        stride=request.stride,
        bare=request.bare,
        params=kernel**inherited.dims * cin * cout
        + (cout if bias else 0)
        + (2 * cout if norm is not None and norm.has_affine else 0),
        form=form,
    )


def shortcut_norm(form: Shortcut | None, inherited: Resolved, bare: bool) -> Norm | None:
    """The norm of a projection: the layer's ``shortcut.norm``, else the block's (none for a
    bare projection); None when there is none."""
    norm = form.norm if form is not None and form.norm is not None else None
    if norm is None and not bare:
        norm = inherited.norm
    return None if norm is None or norm.type == "none" else norm


def projection_norm_params(inherited: Resolved, channels: int) -> int:
    """The parameters of a projection's norm, or of its conv's bias when it has no norm."""
    if inherited.norm.type == "none":
        return channels
    return inherited.norm_params(channels)


def local_mismatch(cin: int, cout: int, op: Op, mode: str) -> str:
    """How a layer's input and output differ for a skip around it, in words; "" if not."""
    parts = []
    if mode == "add" and cin != cout:
        parts.append(f"{cin} input channels with {cout} output channels")
    if not keeps_size(op):
        parts.append("an input and an output of different spatial size")
    return " and ".join(parts)


def long_mismatch(
    source: str, source_channels: int, cout: int, mode: str, scale: Fraction | None
) -> str:
    """How an earlier layer's output differs from this one's for a long skip; "" if not.

    ``scale`` is how many times larger the source's spatial size is than the output's (None:
    the output is one position whatever the input, the source is not). Sizes that grow
    alike are checked by the size program, once the input size is known."""
    parts = []
    gate = mode == "mul" and 1 in (source_channels, cout)  # one channel scales them all
    if mode in ("add", "mul") and source_channels != cout and not gate:
        parts.append(f"{source_channels} channels from {source!r} with {cout} output channels")
    if scale != 1:
        where = "" if parts else f" from {source!r}"
        parts.append(f"a shortcut{where} at {size_ratio(scale)} the output's spatial size")
    return " and ".join(parts)


def size_ratio(scale: Fraction | None) -> str:
    """``2 times``, ``1/2``, in words for a message."""
    if scale is None:
        return "a size that follows the input, with one position for"
    if scale.denominator == 1:
        return f"{scale.numerator} times"
    return f"{scale.numerator}/{scale.denominator}"


def projection_stride(scale: Fraction | None) -> int:
    """The stride of a 1x1 conv that brings a shortcut ``scale`` times larger to the output's
    size; 0 when none can (a smaller shortcut, or not a whole factor)."""
    if scale is None or scale.denominator != 1 or scale < 1:
        return 0
    return scale.numerator


def unprojectable(source: str, scale: Fraction | None) -> LayerError:
    """Why a long skip from ``source``, ``scale`` times the output's size, cannot be made to
    fit: no strided 1x1 conv makes a shortcut larger, or smaller by a fraction."""
    return LayerError(
        field="skip",
        message=f"cannot project the shortcut from {source!r}: it comes at "
        f"{size_ratio(scale)} the output's spatial size, and a strided projection only "
        "shrinks a size by a whole factor",
        hint="take the shortcut from a layer whose output is a whole number of times as "
        "large as this one's, upsample before this layer, or set `on_mismatch: drop`",
    )
