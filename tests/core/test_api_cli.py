"""`secondloop apikey`: create (shown once), list, revoke, bad input; the key works on the API."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from core import db
from core.api.keys import authenticate
from core.app import create_runtime
from core.cli import main
from core.models import ApiKey, Workspace
from core.plugins import build_plugin_host
from core.settings import Settings
from core.tenancy import unscoped


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name, value in {
        "SECONDLOOP_ENV": "test",
        "SECONDLOOP_DATABASE_URL": settings.database_url,
        "SECONDLOOP_SECRET_KEY": settings.secret_key,
    }.items():
        monkeypatch.setenv(name, value)
    return Settings.from_env().replace(plugins=())


def in_db(settings: Settings, coro_fn: Any) -> Any:
    async def run() -> Any:
        await db.init_db(settings, build_plugin_host(settings.plugins))
        try:
            with unscoped():
                return await coro_fn()
        finally:
            await db.close_db()

    return asyncio.run(run())


def test_create_list_revoke(cli_env: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    ws = in_db(cli_env, lambda: Workspace.create(name="Shop", slug="shop"))
    assert main(["apikey", "create", "shop", "--scope", "write", "--name", "CI"]) == 0
    secret = capsys.readouterr().out.strip().splitlines()[-1]
    assert secret.startswith("sl_")

    keys = in_db(cli_env, lambda: ApiKey.filter(workspace_id=ws.id))
    assert [(k.scope, k.name) for k in keys] == [("write", "CI")]
    assert keys[0].key_hash != secret and secret.startswith(keys[0].prefix)

    runtime = create_runtime(cli_env)
    found = in_db(cli_env, lambda: authenticate(runtime, f"Bearer {secret}"))
    assert found is not None and found.workspace_id == ws.id

    assert main(["apikey", "list", str(ws.id)]) == 0
    listing = capsys.readouterr().out
    assert "live" in listing and secret not in listing

    assert main(["apikey", "revoke", "shop", "--id", str(keys[0].id)]) == 0
    assert in_db(cli_env, lambda: authenticate(runtime, f"Bearer {secret}")) is None
    assert main(["apikey", "revoke", "shop", "--id", str(keys[0].id)]) == 1


def test_bad_input_is_a_clear_error(cli_env: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["apikey", "create", "nowhere", "--scope", "read"]) == 1
    assert "no workspace" in capsys.readouterr().err
    assert main(["apikey", "create", "nowhere"]) == 1
    assert "--scope" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["apikey", "create", "shop", "--scope", "admin"])
    assert exit_.value.code == 2
