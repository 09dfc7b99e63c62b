"""The plugin host: builds a pluggy manager per app (no import-time global) and calls hooks.

Built-in plugins load through the `secondloop` entry-point group, exactly like third-party ones.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from core import hookspecs
from core.settings import SettingsError

ENTRY_POINT_GROUP = "secondloop"
hookimpl = pluggy.HookimplMarker("secondloop")
log = logging.getLogger(__name__)


async def await_me_maybe(value: Any) -> Any:
    """A hook may return a value, an awaitable, or an async function to call."""
    if callable(value) and not isinstance(value, type):
        value = value()
    if inspect.isawaitable(value):
        value = await value
    return value


@dataclass(frozen=True)
class HookFailure:
    plugin: str
    error: BaseException


@dataclass(frozen=True)
class PluginInfo:
    name: str
    module: str
    hooks: tuple[str, ...]
    template_dir: Path | None
    static_dir: Path | None


class PluginHost:
    def __init__(self, manager: pluggy.PluginManager) -> None:
        self.pm = manager

    @property
    def hook(self) -> Any:
        return self.pm.hook

    def collect(self, hook_name: str, **kwargs: Any) -> list[Any]:
        """Call a registration hook and flatten the lists every plugin returned."""
        results = getattr(self.pm.hook, hook_name)(**kwargs)
        flat: list[Any] = []
        for result in reversed(results):  # registration order, first plugin first
            flat.extend(result or [])
        return flat

    async def gather(self, hook_name: str, **kwargs: Any) -> tuple[list[Any], list[HookFailure]]:
        """Call a render-time hook plugin by plugin, so one failure costs only its own output."""
        items: list[Any] = []
        failures: list[HookFailure] = []
        caller = getattr(self.pm.hook, hook_name)
        for impl in reversed(caller.get_hookimpls()):
            plugin_name = self.pm.get_name(impl.plugin) or str(impl.plugin)
            try:
                args = {name: kwargs[name] for name in impl.argnames if name in kwargs}
                result = await await_me_maybe(impl.function(**args))
            except Exception as exc:
                log.exception("hook %s failed in plugin %s", hook_name, plugin_name)
                failures.append(HookFailure(plugin_name, exc))
                continue
            if result is not None:
                items.extend(result if isinstance(result, list | tuple) else [result])
        return items, failures

    async def notify(self, hook_name: str, **kwargs: Any) -> list[HookFailure]:
        """Call a notification hook; failures are logged and returned, never raised."""
        _, failures = await self.gather(hook_name, **kwargs)
        return failures

    def plugins(self) -> list[PluginInfo]:
        infos = []
        for name, plugin in self.pm.list_name_plugin():
            if name is None or plugin is None:
                continue
            hooks = tuple(sorted(h.name for h in self.pm.get_hookcallers(plugin) or []))
            module = plugin if isinstance(plugin, ModuleType) else inspect.getmodule(plugin)
            base = Path(module.__file__).parent if module and module.__file__ else None
            infos.append(
                PluginInfo(
                    name=name,
                    module=getattr(module, "__name__", repr(plugin)),
                    hooks=hooks,
                    template_dir=_existing(base / "templates") if base else None,
                    static_dir=_existing(base / "static") if base else None,
                )
            )
        return sorted(infos, key=lambda p: p.name)


def _existing(path: Path) -> Path | None:
    return path if path.is_dir() else None


def build_plugin_host(
    enabled: Sequence[str] | None = None,
    extra_plugins: Iterable[tuple[str, object]] = (),
    *,
    entry_points: Callable[[], Iterable[importlib.metadata.EntryPoint]] | None = None,
) -> PluginHost:
    """Load entry-point plugins (restricted to `enabled` when given) plus `extra_plugins`."""
    pm = pluggy.PluginManager("secondloop")
    pm.add_hookspecs(hookspecs)
    eps = list(
        entry_points() if entry_points else importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    )
    available = {ep.name for ep in eps}
    if enabled is not None:
        unknown = sorted(set(enabled) - available - {name for name, _ in extra_plugins})
        if unknown:
            raise SettingsError(
                f"SECONDLOOP_PLUGINS names unknown plugins: {', '.join(unknown)} "
                f"(installed: {', '.join(sorted(available)) or 'none'})"
            )
    for ep in sorted(eps, key=lambda e: e.name):
        if enabled is not None and ep.name not in enabled:
            continue
        if pm.has_plugin(ep.name):
            continue
        pm.register(ep.load(), name=ep.name)
    from core import builtin

    pm.register(builtin, name="core")
    for name, plugin in extra_plugins:
        pm.register(plugin, name=name)
    # A plugin's own extension points must be known before check_pending() judges its callers.
    for spec in PluginHost(pm).collect("register_hookspecs"):
        pm.add_hookspecs(spec)
    pm.check_pending()
    return PluginHost(pm)


AsyncHook = Callable[..., Awaitable[Any]]
