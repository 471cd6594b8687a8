"""Hypothesis strategies for graph specs: layers that read earlier outputs by name (`from`,
`from: input`) and merges of several (`concat`, `add`, `mul`), at the top level, inside
sequences and inside composite block bodies.

A draw grows the spec motif by motif from what it has so far: the output the next layer
would read, and every earlier output it may name, with its channels and its size (as a power
of 2 of the input's). A *diamond* forks two or three branches from earlier outputs (the first
may go on from the previous layer), each one or two plain layers, a sequence or a composite
block, and merges their ends; the channels are drawn so that an `add` or `mul`
agrees and the branches change the size alike (a strided conv beside a pool: the same size
at every even input). Every layer is read: a branch's end by its merge, the layer before a
branch that names its source by that branch.

Inside a composite body, channels are linear in the block's input channels and its
parameter ``c`` (:class:`Ch`), so that a block drawn once is valid at every use; a body that
reads a layer outside its block is used once.

With ``defect=True`` the draw holds one mistake the language must refuse (a motif of
:data:`DEFECTS`), and says where: the layer, the key whose value the diagnostic points at,
and a part of its message.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import yaml
from hypothesis import strategies as st

INPUT_SIZE = {1: 16, 2: 8, 3: 4}  # powers of 2: floor and ceil halve them alike
MIN_SCALE = -2  # two halvings at most: 8 -> 2 (2-d), 4 -> 1 (3-d)
MAX_SCALE = 1
CHANNELS = [2, 4, 8]


@dataclass(frozen=True)
class Ch:
    """Channels as ``a * cin + b * c + k``: ``cin`` the input channels of the composite
    block whose body holds the layer, ``c`` its parameter; at the top level, ``k`` alone."""

    a: int = 0
    b: int = 0
    k: int = 0

    def __add__(self, other: Ch) -> Ch:
        return Ch(self.a + other.a, self.b + other.b, self.k + other.k)

    def at(self, cin: int, c: int) -> int:
        return self.a * cin + self.b * c + self.k

    @property
    def text(self) -> int | str:
        """As a `channels` value: a number, or an expression over ``c``."""
        if self.a:
            raise ValueError("a conv cannot be given the block's input channels")
        if self.b == 0:
            return self.k
        term = "c" if self.b == 1 else f"c * {self.b}"
        return f"${{{term} + {self.k}}}" if self.k else f"${{{term}}}"

    @property
    def gate(self) -> bool:
        return self == Ch(k=1)


@dataclass(frozen=True)
class Out:
    """An output a later layer may read: what its `from` writes, its channels and size."""

    handle: str
    channels: Ch
    scale: int  # log2 of its size over the network's input
    depth: int = 0  # sequences around it, counted from its scope's list
    layer: dict[str, Any] | None = field(default=None, compare=False)
    outside: bool = False  # a layer outside the composite body that reads it


@dataclass
class Defect:
    """Where a drawn spec must be refused: the layer, the key whose value the diagnostic
    points at (None: the layer itself), and a part of its message (None: any)."""

    kind: str
    layer: dict[str, Any]
    key: str | None
    says: str | None


@dataclass
class Scope:
    """A list of layers being drawn: the top level, a sequence, or a composite body."""

    avail: list[Out]  # what a `from` may name here
    cur: Out  # what the next layer reads
    body: bool = False  # a composite block's body: handles are names, channels symbolic
    depth: int = 0  # sequences around the list (a body counts from its own list)
    fixed: bool = False  # a branch's sequence: its motifs keep the size


@dataclass
class Block:
    name: str
    definition: dict[str, Any]
    out: Ch  # the body's output channels
    delta: int  # size change over the body
    low: int  # the smallest size change inside the body
    high: int
    once: bool  # reads a layer outside the block: used once


@dataclass
class GraphDraw:
    """A drawn spec: the dict, its YAML text, and where it must be refused (if it must)."""

    spec: dict[str, Any]
    text: str
    lines: dict[int, tuple[int, int, str]]  # id(layer) -> its line, column, text of the line
    defect: Defect | None

    def where(self) -> tuple[int, int]:
        """The line and column the defect's diagnostic must point at."""
        assert self.defect is not None
        line, col, text = self.lines[id(self.defect.layer)]
        key = self.defect.key
        if key is None:
            return line, col
        at = text.index(f"{key}: ", col - 1)
        return line, at + len(key) + 3


DEFECTS = (
    "add_channels",
    "mul_channels",
    "merge_sizes",
    "unknown_from",
    "later_from",
    "self_from",
    "repeated_read",
    "merge_one",
    "merge_twice",
    "merge_repeat",
    "merge_skip",
    "dead_layer",
    "holds_reader",
)


Where = tuple[dict[str, Any], str | None, str | None]  # a defect's layer, key, words


def _rarely(one_in: int) -> st.SearchStrategy[bool]:
    return st.sampled_from([False] * (one_in - 1) + [True])


class _Drawer:
    def __init__(self, draw: st.DrawFn, dims: int, sized: bool, defect: bool) -> None:
        self.draw = draw
        self.dims = dims
        self.sized = sized
        self.defect_left = defect
        self.defect_in_body = defect and draw(st.booleans())  # else anywhere, bodies too
        self.defect: Defect | None = None
        self.count = 0
        self.blocks: list[Block] = []
        self.budget = draw(st.integers(4, 12))  # layers left to draw
        self.scales: list[int] = []  # the size of every layer drawn, as a power of 2

    # -- small pieces -------------------------------------------------------------------

    def fresh(self, prefix: str = "n") -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def handle(self, scope: Scope, layer: dict[str, Any]) -> str:
        """Give ``layer`` a handle a `from` can name: a name in a body, else an id or a
        name (unique in the spec: every handle drawn is)."""
        if "id" in layer or "name" in layer:
            return str(layer.get("id", layer.get("name")))
        key = "name" if scope.body or self.draw(st.booleans()) else "id"
        layer[key] = self.fresh("b" if scope.body else "n")
        return str(layer[key])

    def channels(self, scope: Scope, like: Ch | None = None) -> Ch:
        """Output channels for a conv: ``like`` when given, else drawn."""
        if like is not None:
            return like
        if scope.body:
            return self.draw(st.sampled_from([Ch(b=1), Ch(b=2), Ch(k=4), Ch(b=1, k=2)]))
        return Ch(k=self.draw(st.sampled_from(CHANNELS)))

    def conv(self, out: Ch, stride: int = 1) -> dict[str, Any]:
        layer: dict[str, Any] = {"type": "conv", "channels": out.text}
        layer["kernel"] = self.draw(st.sampled_from([1, 3]))
        if stride != 1:
            layer.update(kernel=3, stride=stride)
        if out.gate:  # a gate: one channel through a sigmoid, no norm of one channel
            layer.update(norm="none", act="sigmoid")
        return layer

    def plain(self, scope: Scope, src: Out, change: int, out: Ch | None) -> tuple[dict, Out]:
        """One layer reading ``src`` (not naming it): size ``change`` (-1, 0, 1), output
        channels ``out`` (None: its own choice)."""
        draw = self.draw
        keeping = {-1: ["maxpool", "avgpool"], 0: ["act", "identity", "norm", "maxpool3"]}
        keeping[1] = ["nearest"]
        making = {-1: ["conv"], 0: ["conv", "conv", "basic"], 1: ["transposed"]}[change]
        if out is not None and out.gate:
            making = ["transposed" if change == 1 else "conv"]
        # a body's input channels are no key's value: only a layer that keeps them can
        wired = src.channels.a != 0
        if out is None:
            kinds = keeping[change] + making
        elif out == src.channels:
            kinds = keeping[change] + ([] if wired else making)
        else:
            assert out.a == 0, "no layer makes a body's input channels"
            kinds = making
        kind = draw(st.sampled_from(kinds))
        ch = (out or self.channels(scope)) if kind in making else src.channels
        layer = self.layer_of(kind, ch, change)
        result = Out("", ch, src.scale + change, layer=layer)
        self.scales.append(result.scale)
        if change == 0 and kind == "conv" and ch == src.channels and draw(_rarely(3)):
            layer["skip"] = "add"  # a local residual around a layer that may read a `from`
        elif change == 0 and kind in ("conv", "act", "identity") and draw(_rarely(3)):
            result = self.long_skip(scope, layer, result, concat=out is None)
        if draw(_rarely(8)):
            layer["checkpoint"] = True
        self.budget -= 1
        return layer, result

    def layer_of(self, kind: str, ch: Ch, change: int) -> dict[str, Any]:
        """A layer of ``kind`` (as :meth:`plain` names them) with ``ch`` output channels."""
        if kind == "conv":
            return self.conv(ch, stride=2 if change == -1 else 1)
        if kind in ("maxpool", "avgpool"):
            return {"type": kind, "kernel": 2, "stride": 2}
        if kind == "maxpool3":
            return {"type": "maxpool", "kernel": 3, "stride": 1}
        if kind == "transposed":
            layer = {"type": "upsample", "channels": ch.text, "mode": "transposed"}
            if ch.gate:
                layer.update(norm="none", act="sigmoid")
            return layer
        if kind == "nearest":
            return {"type": "upsample", "mode": "nearest"}
        if kind == "act":
            return {"type": "act", "act": self.draw(st.sampled_from(["relu", "silu", "sigmoid"]))}
        if kind in ("identity", "norm"):
            return {"type": kind}
        return {"type": "basic", "channels": ch.text}  # projected where the channels change

    def long_skip(self, scope: Scope, layer: dict[str, Any], out: Out, concat: bool) -> Out:
        """Maybe a long skip onto ``layer`` from an earlier output of its size: an add, or
        (``concat``: its channels may grow) a concat."""
        sources = [
            o for o in self.readable(scope, out.scale) if concat or o.channels == out.channels
        ]
        if not sources:
            return out
        source = self.draw(st.sampled_from(sources))
        if source.channels == out.channels and (not concat or self.draw(st.booleans())):
            layer["skip"] = {"mode": "add", "from": source.handle}
            return out
        layer["skip"] = {"mode": "concat", "from": source.handle}
        return replace(out, channels=source.channels + out.channels)

    def readable(self, scope: Scope, scale: int) -> list[Out]:
        """The outputs a `from` in ``scope`` may name at ``scale`` (at any depth)."""
        return [o for o in scope.avail if o.scale == scale]

    def take(self, scope: Scope, out: Out) -> Out:
        """``out`` (of a layer just drawn in ``scope``) with a handle, now readable."""
        assert out.layer is not None
        named = replace(out, handle=self.handle(scope, out.layer), depth=scope.depth)
        scope.avail.append(named)
        return named

    # -- motifs ---------------------------------------------------------------------------

    def motifs(self, scope: Scope, layers: list[dict[str, Any]], count: int) -> None:
        """Draw ``count`` motifs into ``layers`` (at least one)."""
        for n in range(count):
            if n and self.budget <= 0:
                break
            here = scope.body or not self.defect_in_body
            if self.defect_left and here and self.draw(_rarely(2 if scope.body else 3)):
                self.defect_motif(scope, layers)
                continue
            options = ["chain", "diamond", "diamond", "diamond"]
            if scope.depth < 3 and self.budget > 3:
                options += ["sequence"]
            if not scope.body and scope.depth < 2:
                options += ["composite", "repeated"]
                if len(scope.avail) > 2:
                    options += ["composite"]
                if self.defect_left and self.defect_in_body:
                    options += ["composite", "composite"]
            motif = self.draw(st.sampled_from(options))
            if motif == "chain":
                change = self.size_change(scope, scope.cur)
                layer, scope.cur = self.plain(scope, scope.cur, change, None)
                layers.append(layer)
            elif motif == "diamond":
                self.diamond(scope, layers)
            elif motif == "sequence":
                self.sequence(scope, layers, reads=None)
            elif motif == "repeated":
                self.repeated(scope, layers)
            else:
                change = 0 if scope.fixed else None
                layer, scope.cur = self.composite(scope, scope.cur, None, change)
                layers.append(layer)

    def size_change(self, scope: Scope, src: Out) -> int:
        """A change of size from ``src``'s that keeps within the bounds (none in a fixed
        scope)."""
        changes = [0, 0, 0]
        if not scope.fixed and src.scale > MIN_SCALE:
            changes.append(-1)
        if not scope.fixed and src.scale < MAX_SCALE:
            changes.append(1)
        return self.draw(st.sampled_from(changes))

    def branch(
        self,
        scope: Scope,
        layers: list[dict[str, Any]],
        src: Out,
        reads: bool,
        change: int,
        out: Ch | None,
    ) -> Out:
        """A branch from ``src`` (naming it when ``reads``): a few layers, a sequence or a
        composite block, that change the size by ``change`` and end with ``out`` channels
        (None: any); returns its end, with a handle."""
        draw = self.draw
        form = draw(st.sampled_from(["plain", "plain", "plain", "sequence", "composite"]))
        if form == "composite" and (scope.body or scope.depth >= 2 or out is not None):
            form = "plain"
        if form == "sequence" and scope.depth >= 3:
            form = "plain"
        if form == "sequence":
            return self.sequence(scope, layers, src if reads else None, change, out, src)
        if form == "composite":
            layer, end = self.composite(scope, src, src if reads else None, change)
            layers.append(layer)
            return self.take(scope, end)
        steps = draw(st.integers(1, 2 if self.budget > 4 else 1))
        at = draw(st.integers(0, steps - 1))  # the step that changes the size
        cur = src
        for k in range(steps):
            last = k == steps - 1
            layer, cur = self.plain(scope, cur, change if k == at else 0, out if last else None)
            if k == 0 and reads:
                layer = {"type": layer.pop("type"), "from": src.handle, **layer}
                cur = replace(cur, layer=layer)
            layers.append(layer)
        return self.take(scope, cur)

    def diamond(self, scope: Scope, layers: list[dict[str, Any]]) -> None:
        """Two or three branches from earlier outputs of the previous layer's size, merged."""
        draw = self.draw
        cur = scope.cur
        if cur.handle == "":
            cur = self.take(scope, cur)
        change = self.size_change(scope, cur)
        merge = draw(st.sampled_from(["concat", "add", "mul"]))
        sources = self.readable(scope, cur.scale)
        count = draw(st.integers(2, 3))
        srcs = [draw(st.sampled_from(sources)) for _ in range(count)]
        go_on = draw(st.booleans())  # the first branch goes on from the previous layer
        if not go_on and cur not in srcs:
            srcs[0] = cur  # the previous layer is read by a branch that names it
        far = [o for o in sources if o.outside]
        if far and draw(st.booleans()):
            srcs[-1] = draw(st.sampled_from(far))  # a body reads the network's layers
        end_ch: list[Ch | None] = [None] * count
        if merge == "add":
            end_ch = [self.channels(scope)] * count
        elif merge == "mul":
            common = self.channels(scope)
            end_ch = [common if draw(st.booleans()) else Ch(k=1) for _ in range(count)]
            end_ch[0] = common
        ends = []
        for i in range(count):
            first = i == 0 and go_on
            src = cur if first else srcs[i]
            ends.append(self.branch(scope, layers, src, not first, change, end_ch[i]))
        extra = [
            o
            for o in self.readable(scope, cur.scale + change)
            if o not in ends and self.merges(merge, [*ends, o])
        ]
        if extra and draw(_rarely(3)):
            ends.append(draw(st.sampled_from(extra)))  # e.g. the residual `input`
        order = draw(st.permutations(ends))
        layer: dict[str, Any] = {"type": merge, "from": [o.handle for o in order]}
        if draw(_rarely(8)):
            layer["checkpoint"] = True
        layers.append(layer)
        self.budget -= 1
        scope.cur = Out("", self.merged(merge, ends), cur.scale + change, layer=layer)

    @staticmethod
    def merges(kind: str, outs: list[Out]) -> bool:
        """Whether a ``kind`` of ``outs`` agrees in channels (for every use of a body)."""
        chans = {o.channels for o in outs}
        if kind == "add":
            return len(chans) == 1
        if kind == "mul":
            return len(chans - {Ch(k=1)}) <= 1
        return True

    @staticmethod
    def merged(kind: str, outs: list[Out]) -> Ch:
        if kind == "concat":
            total = Ch()
            for o in outs:
                total = total + o.channels
            return total
        wide = [o.channels for o in outs if not o.channels.gate]
        return wide[0] if wide else Ch(k=1)

    def sequence(
        self,
        scope: Scope,
        layers: list[dict[str, Any]],
        reads: Out | None,
        change: int = 0,
        out: Ch | None = None,
        src: Out | None = None,
    ) -> Out:
        """A sequence of a few motifs. As a branch (``src`` given, named when ``reads``), it
        changes the size by ``change`` in its first layer and ends with ``out`` channels;
        its other motifs keep the size."""
        seq: dict[str, Any] = {"type": "sequence"}
        if reads is not None:
            seq["from"] = reads.handle
        if scope.body or self.draw(st.booleans()):
            seq["name"] = self.fresh("s")
        start = src or scope.cur
        fixed = scope.fixed or src is not None
        inner = Scope(scope.avail, start, scope.body, scope.depth + 1, fixed)
        body: list[dict[str, Any]] = []
        if src is not None:
            layer, inner.cur = self.plain(inner, start, change, None if out is None else out)
            body.append(layer)
        self.motifs(inner, body, self.draw(st.integers(0 if src is not None else 1, 1)))
        if out is not None and inner.cur.channels != out:
            layer, inner.cur = self.plain(inner, inner.cur, 0, out)
            body.append(layer)
        seq["layers"] = body
        layers.append(seq)
        end = replace(inner.cur, layer=seq, handle="")
        if src is None:
            scope.cur = end
            return end
        return self.take(scope, end)

    def repeated(self, scope: Scope, layers: list[dict[str, Any]]) -> None:
        """A sequence that repeats, of layers that keep the channels and size: nothing
        inside may be read, and nothing inside reads."""
        src = scope.cur
        body = []
        for _ in range(self.draw(st.integers(1, 2))):
            layer, _ = self.plain(scope, src, 0, src.channels)
            layer.pop("skip", None)
            layer.pop("checkpoint", None)
            body.append(layer)
        layers.append({"type": "sequence", "repeat": 2, "layers": body})
        scope.cur = Out("", src.channels, src.scale, layer=layers[-1])

    # -- composite blocks ---------------------------------------------------------------

    def composite(
        self, scope: Scope, src: Out, reads: Out | None, change: int | None
    ) -> tuple[dict[str, Any], Out]:
        """A use of a composite block on ``src`` (naming it when ``reads``) that changes the
        size by ``change`` (None: any): an earlier block that fits, or a new one."""
        draw = self.draw
        fits = [
            b
            for b in self.blocks
            if not b.once
            and (change is None or b.delta == change)
            and src.scale + b.low >= MIN_SCALE
            and src.scale + b.high <= MAX_SCALE
        ]
        block = draw(st.sampled_from(fits)) if fits and draw(st.booleans()) else None
        if block is None:
            block = self.new_block(scope, src, change)
        c = draw(st.sampled_from([2, 4]))
        cin = src.channels.k
        out = Ch(k=block.out.at(cin, c))
        layer: dict[str, Any] = {"type": block.name}
        if reads is not None:
            layer["from"] = reads.handle
        layer["c"] = c
        # (a layer checkpointed in the body of a repeated use is refused: see the report)
        repeatable = not block.once and "checkpoint" not in str(block.definition)
        if block.delta == 0 and out.k == cin and repeatable and draw(_rarely(3)):
            layer["repeat"] = 2
        elif block.low == block.high == 0 and not block.once and draw(_rarely(4)):
            # (not where the body reads outside: an output reached from there has no chain
            # of strides back to the block's input, so a projection could not cross it)
            layer["skip"] = "add"  # projected where the channels differ
        self.budget -= 1
        return layer, Out("", out, src.scale + block.delta, layer=layer)

    def new_block(self, scope: Scope, src: Out, change: int | None) -> Block:
        """A composite block drawn for a use on ``src``; one that reads a layer outside it
        (only ever used there) holds the spec's defect if one is left to draw."""
        draw = self.draw
        name = f"unit{len(self.blocks) + 1}"
        # the network's outputs a body may read by handle (its `input` is the block's own)
        outside = [o for o in scope.avail if o.handle != "input"]
        once = bool(outside) and ((self.defect_left and self.defect_in_body) or draw(_rarely(2)))
        inp = Out("input", Ch(a=1), src.scale)
        outside = [replace(o, outside=True) for o in outside] if once else []
        inner = Scope([inp, *outside], inp, body=True, fixed=change == 0)
        body: list[dict[str, Any]] = []
        saved, self.defect_left = self.defect_left, self.defect_left and once
        seen, self.scales = self.scales, []
        self.motifs(inner, body, draw(st.integers(1, 2)))
        while change is not None and inner.cur.scale != src.scale + change:
            step = 1 if inner.cur.scale < src.scale + change else -1
            layer, inner.cur = self.plain(inner, inner.cur, step, None)
            body.append(layer)
        self.defect_left = self.defect_left or (saved and not once)
        scales = [s - src.scale for s in [*self.scales, src.scale]]
        self.scales = seen + self.scales
        definition: dict[str, Any] = {"params": {"c": "int"}, "layers": body}
        delta = inner.cur.scale - src.scale
        if min(scales) == max(scales) == 0 and not once and draw(_rarely(4)):
            definition["skip"] = "add"  # projected where the channels differ
        block = Block(name, definition, inner.cur.channels, delta, min(scales), max(scales), once)
        self.blocks.append(block)
        return block

    # -- defects ------------------------------------------------------------------------

    def defect_motif(self, scope: Scope, layers: list[dict[str, Any]]) -> None:
        """A motif that must be refused, and where; the draw goes on after it as though it
        were valid."""
        self.defect_left = False
        kinds = list(DEFECTS)
        if not self.sized or scope.cur.scale <= MIN_SCALE:
            kinds.remove("merge_sizes")
        if scope.depth >= 3:
            kinds.remove("holds_reader")
            kinds.remove("repeated_read")
        kind = self.draw(st.sampled_from(kinds))
        if scope.cur.handle == "":
            scope.cur = self.take(scope, scope.cur)
        family = {
            "add_channels": self.mismatched,
            "mul_channels": self.mismatched,
            "merge_sizes": self.mismatched,
            "unknown_from": self.misread,
            "later_from": self.misread,
            "self_from": self.misread,
            "repeated_read": self.misread,
            "dead_layer": self.dead,
            "holds_reader": self.holds_reader,
        }.get(kind, self.bad_merge)
        layer, key, says = family(kind, scope, layers)
        self.defect = Defect(kind, layer, key, says)

    def mismatched(self, kind: str, scope: Scope, layers: list[dict[str, Any]]) -> Where:
        """Two branches from the previous layer merged where they disagree: in channels
        (two more in one, so at every use of a body), or in size (one halves)."""
        cur = scope.cur
        one = self.channels(scope)
        other = one if kind == "merge_sizes" else one + Ch(k=2)
        a, a_out = self.plain(scope, cur, 0, one)
        layers.append(a)
        a_end = self.take(scope, a_out)
        b, b_out = self.plain(scope, cur, -1 if kind == "merge_sizes" else 0, other)
        b = {"type": b.pop("type"), "from": cur.handle, **b}
        layers.append(b)
        b_end = self.take(scope, replace(b_out, layer=b))
        merge = {"add_channels": "add", "mul_channels": "mul"}.get(kind)
        merge = merge or self.draw(st.sampled_from(["concat", "add", "mul"]))
        layer = {"type": merge, "from": [a_end.handle, b_end.handle]}
        layers.append(layer)
        scope.cur = Out("", one, cur.scale, layer=layer)
        says = {"add_channels": "cannot add these outputs", "mul_channels": "cannot mul these"}
        return layer, "from", says.get(kind, "size")  # differ, or come at other scales

    def misread(self, kind: str, scope: Scope, layers: list[dict[str, Any]]) -> Where:
        """A branch whose `from` names no layer, a later one, itself, or one inside a
        sequence that repeats; merged with the previous layer, which is read."""
        prev, hidden = scope.cur, ""
        if kind == "repeated_read":  # the previous layer: a repeated sequence around `hidden`
            inner, _ = self.plain(scope, prev, 0, prev.channels)
            inner.pop("skip", None)
            inner.pop("checkpoint", None)
            hidden = self.handle(scope, inner)
            layers.append({"type": "sequence", "repeat": 2, "layers": [inner]})
            prev = self.take(scope, Out("", prev.channels, prev.scale, layer=layers[-1]))
        layer, out = self.plain(scope, prev, 0, None)
        says = {
            "unknown_from": "no layer is named",
            "later_from": "which comes later",
            "self_from": "this layer itself",
            "repeated_read": "a sequence that repeats",
        }[kind]
        name = {"unknown_from": prev.handle + "x", "repeated_read": hidden}.get(kind, "")
        if kind == "self_from":
            name = self.handle(scope, layer)
        layer = {"type": layer.pop("type"), "from": name, **layer}
        layers.append(layer)
        end = self.take(scope, replace(out, layer=layer))
        merge = {"type": "concat", "from": [prev.handle, end.handle]}
        layers.append(merge)
        scope.cur = Out("", prev.channels + end.channels, prev.scale, layer=merge)
        if kind == "later_from":
            layer["from"] = self.handle(scope, merge)
        return layer, "from", says

    def bad_merge(self, kind: str, scope: Scope, layers: list[dict[str, Any]]) -> Where:
        """A merge of one output, of one output twice, that repeats, or with a skip."""
        cur = scope.cur
        a, a_out = self.plain(scope, cur, 0, cur.channels)
        layers.append(a)
        a_end = self.take(scope, a_out)
        layer: dict[str, Any] = {"type": self.draw(st.sampled_from(["concat", "add", "mul"]))}
        layer["from"] = [a_end.handle, cur.handle]
        where: Where = (layer, "from", None)  # the wording is pydantic's today
        if kind == "merge_one":
            layer["from"] = [a_end.handle]
        elif kind == "merge_twice":
            layer["from"].append(a_end.handle)
            where = (layer, "from", "is named twice")
        elif kind == "merge_repeat":
            layer["repeat"] = 2
            where = (layer, "repeat", "a merge cannot repeat")
        else:
            layer["skip"] = "add"
            where = (layer, "skip", "a merge has no skip of its own")
        layers.append(layer)
        scope.cur = Out("", cur.channels, cur.scale, layer=layer)
        return where

    def dead(self, kind: str, scope: Scope, layers: list[dict[str, Any]]) -> Where:
        """A layer that nothing reads: the layer after it names the one before it."""
        cur = scope.cur
        dead, _ = self.plain(scope, cur, 0, None)
        dead.pop("skip", None)
        layers.append(dead)
        layer, out = self.plain(scope, cur, 0, None)
        layer = {"type": layer.pop("type"), "from": cur.handle, **layer}
        layers.append(layer)
        scope.cur = replace(out, layer=layer)
        return dead, None, "nothing reads this layer's output"

    def holds_reader(self, kind: str, scope: Scope, layers: list[dict[str, Any]]) -> Where:
        """A sequence whose first layer reads the sequence."""
        seq: dict[str, Any] = {"type": "sequence", "name": self.fresh("s")}
        layer, out = self.plain(scope, scope.cur, 0, None)
        layer = {"type": layer.pop("type"), "from": seq["name"], **layer}
        seq["layers"] = [layer]
        layers.append(seq)
        scope.cur = replace(out, layer=seq)
        return layer, "from", "which holds this layer"

    # -- the spec -----------------------------------------------------------------------

    def spec(self) -> dict[str, Any]:
        draw = self.draw
        channels = draw(st.sampled_from([2, 4]))
        inp: dict[str, Any] = {"channels": channels, "dims": self.dims}
        if self.sized:
            inp["size"] = INPUT_SIZE[self.dims]
        top = Scope([], Out("input", Ch(k=channels), 0))
        top.avail.append(top.cur)
        layers: list[dict[str, Any]] = []
        self.motifs(top, layers, draw(st.integers(1, 4)))
        if self.defect_left:
            self.defect_motif(top, layers)
        spec: dict[str, Any] = {"name": "Net", "input": inp}
        defaults: dict[str, Any] = {}
        norm = draw(st.sampled_from(["batch", "batch", "none", "layer"]))
        if norm != "batch":
            defaults["norm"] = norm
        if draw(st.booleans()):
            defaults["act"] = draw(st.sampled_from(["silu", "gelu"]))
        if defaults:
            spec["defaults"] = defaults
        if self.blocks:
            spec["blocks"] = {b.name: b.definition for b in self.blocks}
        spec["layers"] = layers
        outs = [o for o in top.avail if o.handle != "input"]
        if outs and not self.defect and draw(_rarely(4)):  # (layers after are left out)
            picked = draw(st.lists(st.sampled_from(outs), min_size=1, max_size=2, unique=True))
            spec["outputs"] = [o.handle for o in picked]
        return spec


def render(spec: dict[str, Any]) -> tuple[str, dict[int, tuple[int, int, str]]]:
    """The spec as YAML, each leaf layer a flow mapping on one line (as the configs write
    them), and where each layer is: its line, column, and the text of that line."""
    lines: list[str] = []
    where: dict[int, tuple[int, int, str]] = {}

    def layer_list(layers: list[dict[str, Any]], indent: int) -> None:
        pad = " " * indent
        for layer in layers:
            if "layers" not in layer:
                text = f"{pad}- {_flow(layer)}"
                lines.append(text)
                where[id(layer)] = (len(lines), indent + 3, text)
                continue
            first = f"{pad}- type: {layer['type']}"
            lines.append(first)
            where[id(layer)] = (len(lines), indent + 3, first)
            for key, value in layer.items():
                if key not in ("type", "layers"):
                    lines.append(f"{pad}  {key}: {_flow(value)}")
            lines.append(f"{pad}  layers:")
            layer_list(layer["layers"], indent + 4)

    lines.append(f"name: {spec['name']}")
    lines.append(f"input: {_flow(spec['input'])}")
    if "defaults" in spec:
        lines.append(f"defaults: {_flow(spec['defaults'])}")
    if "blocks" in spec:
        lines.append("blocks:")
        for name, definition in spec["blocks"].items():
            lines.append(f"  {name}:")
            for key, value in definition.items():
                if key != "layers":
                    lines.append(f"    {key}: {_flow(value)}")
            lines.append("    layers:")
            layer_list(definition["layers"], 6)
    lines.append("layers:")
    layer_list(spec["layers"], 2)
    if "outputs" in spec:
        lines.append(f"outputs: {_flow(spec['outputs'])}")
    return "\n".join(lines) + "\n", where


def _flow(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=10**9)
    return text.split("\n...")[0].strip()


@st.composite
def graph_draws(draw: st.DrawFn, defect: bool = False) -> GraphDraw:
    """A graph spec: valid, or (``defect``) with one mistake that must be refused."""
    dims = draw(st.sampled_from([2, 2, 1, 3]))
    sized = defect or draw(st.sampled_from([True, True, True, False]))
    drawer = _Drawer(draw, dims, sized, defect)
    spec = drawer.spec()
    text, lines = render(spec)
    return GraphDraw(spec, text, lines, drawer.defect)
