"""Where each module is registered: a member's key may be a path (``inner_blocks.3``), which
places its module in a container of the holder, as torchvision's feature pyramid keeps its
convolutions in ``inner_blocks`` and ``layer_blocks`` lists while running them top-down.

A container sits where its first member runs; inside it, keys that are numbers are
registered in their order (an ``nn.ModuleList``), others as they come (an
``nn.ModuleDict``). Both backends and the torch-free ``state_dict`` read this one layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from skipgen.ir.graph import Call, Member


@dataclass(frozen=True)
class Container:
    """Modules held under one key of their holder, each under its own key."""

    items: tuple[tuple[str, Item], ...]

    @property
    def listed(self) -> bool:
        """Whether its keys are 0, 1, 2, ...: an ``nn.ModuleList``."""
        return [key for key, _ in self.items] == [str(n) for n in range(len(self.items))]


@dataclass(frozen=True)
class Alias:
    """A member's module registered a second time, under another key."""

    member: Member


# a member's module, a long skip's projection, a container, a second key of a member's module
Item = Member | Call | Container | Alias


def registered(
    members: tuple[Member, ...], order: tuple[str, ...] = ()
) -> tuple[tuple[str, Item], ...]:
    """The modules a list of members holds, by key, in the order they are registered: the
    keys ``order`` lists first (a spec's `register`), then each as it runs, each long skip's
    projection after its layer and each container at its first member."""
    root: dict[str, Any] = {key: None for key in order}
    for member in members:
        _put(root, member.attr.split("."), member)
        if member.alias is not None:  # the same module under a second key, right after
            root[member.alias] = Alias(member)
        skip = member.long_skip
        if skip is not None and skip.projection is not None and skip.attr is not None:
            _put(root, [skip.attr], skip.projection)
    return _frozen({key: item for key, item in root.items() if item is not None}, top=True)


def _put(tree: dict[str, Any], parts: list[str], item: Member | Call) -> None:
    for part in parts[:-1]:
        tree = tree.setdefault(part, {})
    tree[parts[-1]] = item


def _frozen(tree: dict[str, Any], top: bool = False) -> tuple[tuple[str, Item], ...]:
    keys = list(tree)
    if not top and all(key.isdigit() for key in keys):
        keys.sort(key=int)
    return tuple(
        (key, Container(_frozen(tree[key])) if isinstance(tree[key], dict) else tree[key])
        for key in keys
    )
