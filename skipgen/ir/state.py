"""The ``state_dict`` of a lowered network, key by key with each tensor's shape, without torch.

The keys follow the modules as the runtime backend registers them (a sequential stage's
blocks numbered from 0, a long skip's projection ``<layer>_skip`` after its layer, a
composite block's ``shortcut`` after its body, the heads last); each block's tensors come
from its call (:mod:`skipgen.ir.block_state`). A plugin's block class is not known here:
its module path is listed in :attr:`StateShapes.unknown` instead of its tensors.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from skipgen.ir.block_state import UnknownBlock, call_state
from skipgen.ir.containers import Alias, Container, Item, registered
from skipgen.ir.graph import Call, Graph, Group, Member, Stage
from skipgen.ir.layer_state import Entries, Shape


@dataclass(frozen=True)
class StateShapes:
    """Every ``state_dict`` entry of a network with its shape, in the network's order."""

    entries: tuple[tuple[str, Shape], ...]
    unknown: tuple[str, ...] = ()  # module paths of blocks whose tensors are not known

    def shapes(self) -> dict[str, Shape]:
        return dict(self.entries)


def state_shapes(graph: Graph) -> StateShapes:
    """The keys and shapes of the ``state_dict`` of ``build_model(graph)``, in its order."""
    walk = _Walk()
    walk.members(graph.stages, "", graph.order)
    for head in graph.heads:
        walk.member(head.group, "")
    return StateShapes(tuple(walk.entries), tuple(walk.unknown))


@dataclass
class _Walk:
    entries: Entries = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    def members(
        self, members: tuple[Member, ...], prefix: str, order: tuple[str, ...] = ()
    ) -> None:
        """Each member, and the projection of each long skip after its layer, in the order
        they are registered (:mod:`skipgen.ir.containers`)."""
        self.items(registered(members, order), prefix)

    def items(self, items: tuple[tuple[str, Item], ...], prefix: str) -> None:
        # a holder's own parameters (layer scales) come before its modules, as torch lists them
        items = tuple(sorted(items, key=lambda i: not (isinstance(i[1], Stage) and i[1].scales)))
        for key, item in items:
            if isinstance(item, Call):
                self.call(item, prefix + key)
            elif isinstance(item, Container):
                self.items(item.items, f"{prefix}{key}.")
            elif isinstance(item, Alias):  # its tensors again, under the second key
                self.member(item.member, prefix, key)
            else:
                self.member(item, prefix, key)

    def member(self, member: Member, prefix: str, key: str | None = None) -> None:
        path = prefix + (member.attr if key is None else key)
        if isinstance(member, Group):
            self.members(member.members, path + ".", member.order)
            if member.block is not None and member.block.projection is not None:
                self.call(member.block.projection, path + ".shortcut")
            return
        for i, node in enumerate(member.nodes):
            self.call(node.call, f"{path}.{i}" if member.sequential else path)

    def call(self, call: Call, path: str) -> None:
        try:
            entries = call_state(call)
        except UnknownBlock:
            self.unknown.append(path)
            return
        self.entries.extend((f"{path}.{key}" if key else path, shape) for key, shape in entries)
