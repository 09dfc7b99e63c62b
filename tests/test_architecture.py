"""The tree is the architecture: the core knows no plugin, plugins know no other plugin, and
plugins reach the core only through its public modules (docs/hooks.md, "The core's public API")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = sorted(p.name for p in (ROOT / "plugins").iterdir() if (p / "plugin.py").exists())
PUBLIC_CORE = {
    "core.api.errors",
    "core.api.pagination",
    "core.clock",
    "core.contributions",
    "core.crypto",
    "core.email",
    "core.events.clocks",
    "core.events.normalize",
    "core.jobs",
    "core.models",
    "core.models.accounts",
    "core.models.workspaces",
    "core.onboarding",
    "core.plugins",
    "core.runtime",
    "core.settings",
    "core.stripe.access",
    "core.stripe.accounts",
    "core.stripe.client",
    "core.stripe.permissions",
    "core.tenancy",
    "core.web.auth",
    "core.web.shell",
    "core.web.templating",
    "core.testing.fixtures",
    "core.testing.smtp",
}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _sources(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*.py") if "tests" not in p.parts]


def test_the_core_imports_no_plugin() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in _sources(ROOT / "core")
        for name in _imports(path)
        if name == "plugins" or name.startswith("plugins.")
    ]
    assert offenders == []


@pytest.mark.parametrize("plugin", PLUGINS)
def test_a_plugin_imports_no_other_plugin(plugin: str) -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in _sources(ROOT / "plugins" / plugin)
        for name in _imports(path)
        if name.startswith("plugins.") and not name.startswith(f"plugins.{plugin}")
    ]
    assert offenders == []


@pytest.mark.parametrize("plugin", PLUGINS)
def test_a_plugin_reaches_the_core_only_through_its_public_modules(plugin: str) -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in _sources(ROOT / "plugins" / plugin)
        for name in _imports(path)
        if name.startswith("core") and name not in PUBLIC_CORE
    ]
    assert offenders == []
