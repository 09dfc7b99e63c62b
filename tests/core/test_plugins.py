from __future__ import annotations

import importlib.metadata
import types

import pluggy
import pytest

from core.contributions import NavLink
from core.plugins import build_plugin_host, hookimpl


def _eps() -> list[importlib.metadata.EntryPoint]:
    return [
        importlib.metadata.EntryPoint(name=name, value=f"plugins.{name}.plugin", group="secondloop")
        for name in ("audit", "recovery", "disputes", "intelligence")
    ]


def test_builtin_plugins_load_through_the_entry_point_group() -> None:
    names = {p.name for p in build_plugin_host().plugins()}
    assert {"core", "audit", "recovery", "disputes", "intelligence"} <= names


def test_secondloop_plugins_restricts_what_loads() -> None:
    host = build_plugin_host(["audit"], entry_points=_eps)
    assert {p.name for p in host.plugins()} == {"core", "audit"}


def test_an_unknown_plugin_name_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown plugins: nope"):
        build_plugin_host(["nope"], entry_points=_eps)


def test_a_misspelt_hook_fails_at_start_up() -> None:
    typo = types.SimpleNamespace(dashbord_panels=hookimpl(lambda: []))
    with pytest.raises(pluggy.PluginValidationError):
        build_plugin_host([], [("typo", typo)], entry_points=_eps)


async def test_gather_isolates_a_failing_plugin_and_accepts_async_results() -> None:
    def boom(workspace: object, request: object) -> list[NavLink]:
        raise RuntimeError("broken plugin")

    async def later(workspace: object) -> list[NavLink]:
        return [NavLink("Async", "/a", order=2)]

    good = types.SimpleNamespace(
        nav_links=hookimpl(lambda request: [NavLink("Sync", "/s", order=1)])
    )
    bad = types.SimpleNamespace(nav_links=hookimpl(boom))
    coro = types.SimpleNamespace(nav_links=hookimpl(later))
    host = build_plugin_host([], [("good", good), ("bad", bad), ("coro", coro)], entry_points=_eps)
    links, failures = await host.gather("nav_links", workspace=None, request=None)
    assert sorted(link.label for link in links) == ["Async", "Sync"]
    assert [f.plugin for f in failures] == ["bad"]


def test_plugins_lists_hooks_per_plugin() -> None:
    info = {p.name: p for p in build_plugin_host().plugins()}
    assert "register_models" in info["core"].hooks


def test_register_models_collects_every_app_and_refuses_a_duplicate_label() -> None:
    from core.contributions import ModelApp
    from core.db import model_apps

    labels = {app.label for app in model_apps(build_plugin_host())}
    assert {"core", "audit", "recovery"} <= labels
    clash = types.SimpleNamespace(
        register_models=hookimpl(lambda: [ModelApp("audit", ["x.models"], "x.migrations")])
    )
    with pytest.raises(ValueError, match="audit"):
        model_apps(build_plugin_host(None, [("clash", clash)]))
