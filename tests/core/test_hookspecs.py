"""Meta-tests: every hook has a docstring, a section in docs/hooks.md, and a test that names it."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from core import hookspecs

ROOT = Path(__file__).resolve().parents[2]
HOOKS = sorted(
    name
    for name, fn in vars(hookspecs).items()
    if inspect.isfunction(fn) and hasattr(fn, "secondloop_spec")
)


def test_there_are_hooks() -> None:
    assert "register_models" in HOOKS and "dashboard_panels" in HOOKS


@pytest.mark.parametrize("name", HOOKS)
def test_hook_has_a_docstring(name: str) -> None:
    assert (getattr(hookspecs, name).__doc__ or "").strip(), f"{name} has no docstring"


@pytest.mark.parametrize("name", HOOKS)
def test_hook_is_documented(name: str) -> None:
    assert f"### {name}\n" in (ROOT / "docs" / "hooks.md").read_text()


@pytest.mark.parametrize("name", HOOKS)
def test_hook_has_a_test(name: str) -> None:
    sources = [
        p.read_text()
        for p in [*ROOT.joinpath("tests").rglob("test_*.py")]
        if p.name != "test_hookspecs.py"
    ]
    used = any(f"def {name}(" in s or f"{name}=hookimpl" in s for s in sources)
    assert used, f"no test uses {name}"
