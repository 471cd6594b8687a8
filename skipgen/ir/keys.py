"""The keys of a list of layers beyond plain names: `register` (the keys registered first),
`alias` (a second key of a module) and paths into containers (`inner_blocks.3`). A mixin of
the name resolver (:mod:`skipgen.ir.names`), which reports at the key."""

from __future__ import annotations

from collections.abc import Sequence

from skipgen.ir.reach import Reach
from skipgen.ir.tree import scaled_repeats
from skipgen.kinds.base import Layer
from skipgen.kinds.composite import Composite
from skipgen.language import models as m
from skipgen.language.load import Path
from skipgen.language.locate import did_you_mean


class Keys(Reach):
    """The checks of keys, over the resolver's tables."""

    spec: m.Spec
    walked: set[Path]  # sequences run layer by layer

    def registers(self, layers: Sequence[Layer], list_path: Path, attrs: dict[Path, str]) -> None:
        """Check the `register` of the list's owner (a sequence, a block, the network): every
        key it lists is a key of the list's layers, once. A sequence that registers its
        modules in another order than they run is run layer by layer."""
        owner: Path = list_path[:-1]
        order = self.spec.register_ if not owner else getattr(self.layers[owner], "register_", None)
        if not order:
            return
        keys: list[str] = []
        for i, layer in enumerate(layers):
            first = attrs[(*list_path, i)].split(".")[0]
            copies = 1
            if layer.name is None and first.isdigit():  # one number per copy, as attrs()
                copies = scaled_repeats(layer, self.spec.scaling)
            keys += [str(int(first) + r) for r in range(copies)] if first.isdigit() else [first]
        where: Path = (*owner, "register")
        seen: set[str] = set()
        for k, key in enumerate(order):
            if key in seen:
                self.report((*where, k), f"{key!r} is listed twice", "list each key once")
            elif key not in keys:
                hint = did_you_mean(key, keys) or f"the keys here are {', '.join(keys[:8])}"
                self.report((*where, k), f"no module here has the key {key!r}", hint)
            seen.add(key)
        if owner and not isinstance(self.layers[owner], Composite):
            self.walked.add(owner)  # an nn.Sequential runs in the order it registers

    def aliases(self, layers: Sequence[Layer], list_path: Path, names: set[str]) -> set[str]:
        """The second keys of the list's layers: only an attribute of the network or of a
        block's class, and no other key or alias of the list."""
        keyed = list_path == ("layers",) or isinstance(self.layers.get(list_path[:-1]), Composite)
        found: set[str] = set()
        for i, layer in enumerate(layers):
            alias = layer.alias
            if alias is None:
                continue
            where = (*list_path, i, "alias")
            if not keyed:
                self.report(
                    where,
                    "an alias is a second attribute of the network or of a block's class, and "
                    "this layer is inside a sequence",
                    "give the alias to a layer at the top level or in a composite block's body",
                )
            elif layer.name is not None and "." in layer.name:
                self.report(
                    where,
                    "an alias is a second attribute of the class, and this layer is in a "
                    f"container ({layer.name})",
                    "give the alias to a layer that is an attribute of its own",
                )
            elif alias in names or alias in found:
                self.report(where, f"{alias!r} is already a key here", "choose another alias")
            found.add(alias)
        return found

    def containers(self, layers: Sequence[Layer], list_path: Path, keyed: bool) -> None:
        """Check the keys of one list's layers that are paths into containers: a class's
        attribute is a Python name, a container's keys are 0, 1, 2, ... (a list) or no
        number at all (a dict), and no layer has the key of a container."""
        named = [(i, layer.name) for i, layer in enumerate(layers) if layer.name is not None]
        owner = "network" if list_path == ("layers",) else "block"
        for i, name in named:
            first = name.split(".")[0]
            if keyed and not first.isidentifier():
                self.report(
                    (*list_path, i, "name"),
                    f"{first!r} would be an attribute of the {owner} class, and is not a "
                    "Python name",
                    "name it with letters, digits and _, or put it in a sequence or a "
                    "container (`blocks.0`)",
                )
        held: dict[str, list[tuple[int, str]]] = {}  # container path -> (layer, key) in it
        for i, name in named:
            parts = name.split(".")
            for k in range(1, len(parts)):
                held.setdefault(".".join(parts[:k]), []).append((i, parts[k]))
        plain = {name: i for i, name in named}
        for container, keys in held.items():
            where = (*list_path, keys[0][0], "name")
            if container in plain:
                self.report(
                    (*list_path, plain[container], "name"),
                    f"{container!r} is the key of a container that other layers are in "
                    f"({', '.join(repr(layers[i].name) for i, _ in keys[:3])})",
                    "rename this layer, or the container",
                )
                continue
            found = sorted({key for _, key in keys}, key=lambda k: (not k.isdigit(), k))
            numbers = [k for k in found if k.isdigit()]
            if numbers and (
                len(numbers) < len(found) or sorted(map(int, numbers)) != list(range(len(numbers)))
            ):
                self.report(
                    where,
                    f"the container {container!r} holds the keys {', '.join(found)}: a list's "
                    "keys are 0, 1, 2, ... and a dict's are names",
                    "number its members from 0 without gaps, or name them all",
                )
        if held and not keyed:  # its members are not one chain in the order of their keys
            self.walked.add(list_path[:-1])
