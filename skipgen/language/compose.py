"""Compose a YAML document into nodes within the limits, before anything is built from it.

What would make building a document fail or explode is refused first: nesting deeper than
:data:`~skipgen.language.limits.MAX_DEPTH`, an alias inside the node it refers to (an
endless structure), and more than :data:`~skipgen.language.limits.MAX_NODES` nodes, counting
what aliases expand to. The pure-Python reader checks each event before its composer acts
on it, and so does libyaml's parser under the same composer; libyaml composing a short
text whole is checked on the tree it gives. Any refusal or error is read again by the
pure-Python reader, whose words and position make the diagnostic.
"""

from __future__ import annotations

from typing import Any

import yaml

from skipgen.language.limits import MAX_DEPTH, MAX_NODES
from skipgen.language.yaml12 import ComposingYaml12Loader, FastYaml12Loader, Yaml12Loader


class Refused(Exception):
    """A document that cannot be composed safely, and where."""

    def __init__(self, mark: Any, message: str, hint: str) -> None:  # a yaml Mark
        super().__init__(message)
        self.mark, self.message, self.hint = mark, message, hint


class _Limits:
    """Checks every event as the composer takes it, before the composer acts on it: mixed
    into a loader, before it.

    PyYAML composes (and we build) recursively, one call per level, so the depth is checked
    here, one event at a time. Each alias counts as the nodes of its anchor, as it will once
    expanded. One pass: the events are not parsed twice.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)  # type: ignore[call-arg]
        self.open_anchors: list[str | None] = []  # anchors of the collections around here
        self.starts: list[int] = []  # the expanded count where each of those began
        self.sizes: dict[str, int] = {}  # an anchor's expanded size, in nodes
        self.plain = self.expanded = 0

    def get_event(self) -> yaml.Event:
        event = super().get_event()  # type: ignore[misc]
        if type(event) is yaml.ScalarEvent and event.anchor is None and self.expanded < MAX_NODES:
            self.plain += 1  # the most common event, and no limit it can cross: at once
            self.expanded += 1
            return event
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self.open_anchors:
                raise Refused(event.start_mark, _CYCLE, _CYCLE_HINT)
            self._count(event, self.sizes.get(event.anchor or "", 1))
        elif isinstance(event, yaml.ScalarEvent):
            self._count(event, 1)
            if event.anchor:
                self.sizes[event.anchor] = 1
        elif isinstance(event, yaml.CollectionStartEvent):
            if len(self.open_anchors) == MAX_DEPTH:
                raise Refused(event.start_mark, _DEEP.format(MAX_DEPTH), _DEEP_HINT)
            self._count(event, 1)
            self.open_anchors.append(event.anchor)
            self.starts.append(self.expanded - 1)
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, begun = self.open_anchors.pop(), self.starts.pop()
            if anchor:
                self.sizes[anchor] = self.expanded - begun
        return event

    def _count(self, event: yaml.Event, nodes: int) -> None:
        self.plain += 1
        self.expanded += nodes
        if self.plain > MAX_NODES:
            raise Refused(event.start_mark, _LARGE.format(MAX_NODES), _LARGE_HINT)
        if self.expanded > MAX_NODES:
            raise Refused(event.start_mark, _EXPANDS.format(MAX_NODES), _EXPANDS_HINT)


class CheckedLoader(_Limits, Yaml12Loader):
    """The pure-Python reader, with the limits: the reference for every error's words and
    position."""


FastCheckedLoader = (
    None if FastYaml12Loader is None else type("FastCheckedLoader", (_Limits, FastYaml12Loader), {})
)


# A text this short composes, aliases unexpanded, to at most some 30,000 nodes whatever it
# holds: libyaml may compose it whole, and the limits are checked on the tree it gives.
SMALL_TEXT = 65_536


def compose(text: str) -> yaml.Node | None:
    """The node tree of ``text``. Where PyYAML has libyaml, libyaml reads it (several times
    faster): a short text it composes whole, its tree then checked against the limits; a
    longer one it parses under the checking composer. On any error or refusal the
    pure-Python reader reads it again, and its message and position make the diagnostic
    (errors are rare: reading twice costs nothing that counts)."""
    try:
        if ComposingYaml12Loader is not None and len(text) <= SMALL_TEXT:
            root = yaml.compose(text, Loader=ComposingYaml12Loader)
            if root is None or within_limits(root):
                return root
        elif FastCheckedLoader is not None:
            return yaml.compose(text, Loader=FastCheckedLoader)
    except (Refused, yaml.YAMLError):
        pass
    return yaml.compose(text, Loader=CheckedLoader)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [item for pair in node.value for item in pair]
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def within_limits(root: yaml.Node) -> bool:
    """Whether a tree libyaml composed keeps the limits that the event checks keep: at most
    MAX_DEPTH collections nested where each is written, no node inside itself (an alias of
    a node it is in), and at most MAX_NODES nodes once every alias is expanded. Walked in
    document order, so a node's first visit is where it is written and the next ones are
    its aliases; without recursion."""
    sizes: dict[int, int] = {}  # a node walked to its end -> its size, aliases expanded
    inside: set[int] = {id(root)}
    stack: list[list[Any]] = [[root, iter(_children(root)), 1]]  # node, children left, size
    while stack:
        frame = stack[-1]
        child = next(frame[1], None)
        if child is None:
            stack.pop()
            inside.discard(id(frame[0]))
            sizes[id(frame[0])] = frame[2]
            if stack:
                stack[-1][2] += frame[2]
        elif id(child) in inside:
            return False
        elif id(child) in sizes:
            frame[2] += sizes[id(child)]
        elif isinstance(child, yaml.CollectionNode):
            if len(stack) >= MAX_DEPTH:
                return False
            inside.add(id(child))
            stack.append([child, iter(_children(child)), 1])
        else:
            sizes[id(child)] = 1
            frame[2] += 1
    return sizes[id(root)] <= MAX_NODES


_CYCLE = "this alias refers to the node that contains it"
_CYCLE_HINT = "the node would contain itself without end: refer to a node defined before"
_DEEP = "the document is nested more than {} levels deep"
_DEEP_HINT = "a spec needs about five levels (layers, a layer, its skip): flatten the nesting"
_LARGE = "the document has over {} nodes, the most a spec may have"
_LARGE_HINT = "a network of a thousand blocks needs about ten thousand"
_EXPANDS = "aliases expand the document to over {} nodes"
_EXPANDS_HINT = "each alias repeats the whole node it refers to: use fewer or smaller ones"
