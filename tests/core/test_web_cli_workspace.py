"""`secondloop workspace create NAME --owner EMAIL`."""

from __future__ import annotations

import asyncio

import pytest

from core import db
from core.cli import main
from core.models.workspaces import Membership, Role, User, Workspace
from core.plugins import build_plugin_host
from core.settings import Settings
from core.tenancy import unscoped


def test_creates_workspace_and_owner(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SECONDLOOP_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SECONDLOOP_SECRET_KEY", settings.secret_key)
    assert main(["workspace", "create", "CLI Co", "--owner", "Root@Example.com"]) == 0
    out = capsys.readouterr().out
    assert "'CLI Co'" in out and "root@example.com (new user)" in out

    async def check() -> tuple[str, str]:
        await db.init_db(settings, build_plugin_host(settings.plugins))
        try:
            workspace = await Workspace.get(name="CLI Co")
            user = await User.get(email="root@example.com")
            with unscoped():
                membership = await Membership.get(workspace_id=workspace.id, user_id=user.id)
            return workspace.slug, membership.role
        finally:
            await db.close_db()

    slug, role = asyncio.run(check())
    assert slug == "cli-co" and role == Role.OWNER


def test_bad_owner_is_refused(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SECONDLOOP_DATABASE_URL", settings.database_url)
    assert main(["workspace", "create", "X", "--owner", "not-an-email"]) == 2
    assert "not an email address" in capsys.readouterr().err


