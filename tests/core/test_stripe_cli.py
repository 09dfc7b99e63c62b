"""`secondloop stripe connect` end to end: the real CLI entry point against the sandbox."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import pytest

from core import db
from core.cli import main
from core.crypto import hash_token
from core.models.accounts import ConnectionStatus, StripeAccount
from core.models.workspaces import Workspace
from core.plugins import build_plugin_host
from core.settings import Settings
from core.tenancy import unscoped
from sandbox.testing import RunningSandbox, running_sandbox

T = TypeVar("T")


@pytest.fixture(scope="module")
def sb() -> Iterator[RunningSandbox]:
    with running_sandbox(seed="stripe-cli") as sandbox:
        yield sandbox


@pytest.fixture
def cli_env(settings: Settings, sb: RunningSandbox, monkeypatch: pytest.MonkeyPatch) -> Settings:
    env = {
        "SECONDLOOP_ENV": "test",
        "SECONDLOOP_DATABASE_URL": settings.database_url,
        "SECONDLOOP_SECRET_KEY": settings.secret_key,
        "SECONDLOOP_BASE_URL": "https://secondloop.example",
        "SECONDLOOP_STRIPE_API_BASE": sb.url,
        "SECONDLOOP_STRIPE_CONNECT_BASE": sb.url,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings.from_env()


def in_db(settings: Settings, coro_fn: Callable[[], Awaitable[T]]) -> T:
    async def run() -> T:
        await db.init_db(settings, build_plugin_host(settings.plugins))
        try:
            with unscoped():
                return await coro_fn()
        finally:
            await db.close_db()

    return asyncio.run(run())


def test_connect_by_cli_prints_the_webhook_url_and_creates_the_endpoint(
    cli_env: Settings, sb: RunningSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = in_db(cli_env, lambda: Workspace.create(name="Cli", slug="cli-shop"))
    shop = sb.create_account(name="Cli Shop")

    assert main(["stripe", "connect", "cli-shop", "--api-key", shop["restricted_key"]]) == 0
    out = capsys.readouterr().out
    assert f"connected Cli Shop ({shop['id']}) to cli-shop" in out
    url_line = next(line for line in out.splitlines() if line.startswith("webhook URL: "))
    url = url_line.removeprefix("webhook URL: ")
    assert url.startswith("https://secondloop.example/webhooks/stripe/")
    assert "created webhook endpoint we_" in out
    assert shop["restricted_key"] not in out

    account = in_db(cli_env, lambda: StripeAccount.get(stripe_account_id=shop["id"]))
    assert account.workspace_id == ws.id and account.status == ConnectionStatus.ACTIVE
    assert account.webhook_token_hash == hash_token(url.rsplit("/", 1)[1])
    (endpoint,) = sb.client(shop["secret_key"]).v1.webhook_endpoints.list().data
    assert endpoint.url == url

    # By id, with a secret: the operator's own endpoint, and the same URL as before.
    other = in_db(cli_env, lambda: Workspace.create(name="Cli2", slug="cli-two"))
    argv = ["stripe", "connect", str(other.id), "--api-key", shop["read_only_key"]]
    assert main([*argv, "--webhook-secret", "whsec_pasted_by_operator"]) == 0
    out = capsys.readouterr().out
    assert "using the webhook signing secret you gave" in out
    assert "Retry invoice payments: grant “Invoices: Write”" in out


def test_bad_input_gets_a_message_and_a_non_zero_exit(
    cli_env: Settings, sb: RunningSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    in_db(cli_env, lambda: Workspace.create(name="Bad", slug="bad"))
    shop = sb.create_account(name="Narrow Cli")
    key = sb.http.post(
        "/_sandbox/keys", json={"account": shop["id"], "permissions": {"customers": "read"}}
    ).json()["secret"]

    assert main(["stripe", "connect", "nope", "--api-key", shop["restricted_key"]]) == 1
    assert "no workspace with slug or id 'nope'" in capsys.readouterr().err
    assert main(["stripe", "connect", "bad", "--api-key", "rk_test_" + "0" * 30]) == 1
    assert "rejected this key" in capsys.readouterr().err
    assert main(["stripe", "connect", "bad", "--api-key", "whatever"]) == 1
    assert "rk_test_" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["stripe", "connect", "bad"])
    assert exit_info.value.code == 2
    capsys.readouterr()

    # A key that may not create endpoints: told what to paste where.
    assert main(["stripe", "connect", "bad", "--api-key", key]) == 0
    out = capsys.readouterr().out
    assert "Add endpoint" in out and "whsec_" in out and "Disputes: Read" in out
