"""Kinds from other packages, registered under the entry-point group ``skipgen.kinds``.

A package adds kinds with an entry point whose name is the plugin's name (what a spec
lists under ``plugins:``) and whose value names a torch-free module holding a ``KINDS``
sequence, or the sequence itself::

    [project.entry-points."skipgen.kinds"]
    convnext = "skipgen_convnext.kinds"          # the module's KINDS
    # convnext = "skipgen_convnext.kinds:KINDS"  # the same, spelled out

Only the plugins a spec names are imported. Their nn classes (the kinds' ``blocks``) are
imported only when a module is built, and read as text when source is generated.
"""

from __future__ import annotations

import importlib.metadata
import types
from dataclasses import dataclass
from typing import Any

from skipgen.kinds.base import Kind
from skipgen.kinds.macs import Formula
from skipgen.kinds.registry import KINDS, NN_BLOCKS, type_tag
from skipgen.library.plugins import record_blocks

GROUP = "skipgen.kinds"


class PluginError(ValueError):
    """A plugin cannot be used; ``hint`` says what to do about it."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True)
class Plugin:
    name: str  # the entry point's name, as specs list it
    target: str  # the entry point's value
    kinds: tuple[type[Kind], ...]


# The plugins loaded so far, by name: a built graph calls their blocks by class name.
_LOADED: dict[str, Plugin] = {}


def installed() -> list[str]:
    """The names of the installed plugins, sorted."""
    return sorted({ep.name for ep in importlib.metadata.entry_points(group=GROUP)})


def _entry_point(name: str) -> importlib.metadata.EntryPoint:
    found = importlib.metadata.entry_points(group=GROUP, name=name)
    if not found:
        names = installed()
        hint = "installed plugins: " + ", ".join(names) if names else "no plugin is installed"
        raise PluginError(f"no installed package provides the skipgen plugin {name!r}", hint)
    return next(iter(found))


def _kind_classes(name: str, value: Any) -> tuple[type[Kind], ...]:
    kinds = getattr(value, "KINDS", None) if isinstance(value, types.ModuleType) else value
    if not isinstance(kinds, list | tuple) or not kinds:
        raise PluginError(
            f"plugin {name!r} gives no kinds",
            "its entry point names a module with a KINDS tuple, or the tuple itself",
        )
    for kind in kinds:
        if not (isinstance(kind, type) and issubclass(kind, Kind)) or "type" not in getattr(
            kind, "model_fields", {}
        ):
            raise PluginError(
                f"plugin {name!r} gives {kind!r}, which is not a kind",
                "a kind subclasses skipgen.kinds.base.Kind and declares `type: Literal[...]`",
            )
    return tuple(kinds)


def _check_clashes(plugin: Plugin) -> None:
    blocks = {ref.partition(":")[2]: ref for kind in plugin.kinds for ref in kind.blocks}
    for kind in plugin.kinds:
        tag = type_tag(kind)
        if tag in KINDS:
            raise PluginError(
                f"plugin {plugin.name!r} defines the kind {tag!r}, which skipgen already has",
                "the plugin must give its kind another `type`",
            )
    for name, ref in blocks.items():
        if name in NN_BLOCKS:
            raise PluginError(
                f"plugin {plugin.name!r} calls its block {ref!r} by the name of skipgen's "
                f"block {NN_BLOCKS[name]!r}",
                "the plugin must give its nn class another name",
            )


def load_plugin(name: str) -> Plugin:
    """The kinds the installed plugin ``name`` registers (imported on first use)."""
    if name in _LOADED:
        return _LOADED[name]
    entry = _entry_point(name)
    try:
        value = entry.load()
    except Exception as exc:  # any failure of foreign code is the plugin's error
        raise PluginError(
            f"plugin {name!r} cannot be loaded from {entry.value!r}: {type(exc).__name__}: {exc}",
            "reinstall the package that provides it, or remove it from `plugins`",
        ) from None
    plugin = Plugin(name, entry.value, _kind_classes(name, value))
    _check_clashes(plugin)
    _LOADED[name] = plugin
    record_blocks(name, [ref for kind in plugin.kinds for ref in kind.blocks])
    return plugin


def plugin_kinds(names: tuple[str, ...]) -> dict[str, type[Kind]]:
    """The kinds of the plugins ``names`` (already loaded), by ``type``; a clash is an error."""
    kinds: dict[str, type[Kind]] = {}
    owners: dict[str, str] = {}
    for name in names:
        for kind in load_plugin(name).kinds:
            tag = type_tag(kind)
            if tag in owners and kinds[tag] is not kind:
                raise PluginError(
                    f"plugins {owners[tag]!r} and {name!r} both define the kind {tag!r}",
                    "use one of them",
                )
            kinds[tag], owners[tag] = kind, name
    return kinds


def loaded_macs() -> dict[str, Formula]:
    """What the nn blocks of the loaded plugins cost, where their kinds state it."""
    return {
        name: formula
        for plugin in _LOADED.values()
        for kind in plugin.kinds
        for name, formula in kind.macs.items()
    }
