"""`secondloop keys rotate`: a round trip from one key to a new one, through the real CLI."""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import Iterator

import pytest

from core import db
from core.cli import main
from core.commands.keys import encryption_context
from core.crypto import Keyring, key_id
from core.models.accounts import StripeAccount
from core.models.workspaces import Workspace
from core.plugins import build_plugin_host
from core.settings import Settings
from core.stripe.access import SECRET_FIELDS
from core.tenancy import unscoped
from sandbox.testing import RunningSandbox, running_sandbox


def new_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


@pytest.fixture(scope="module")
def sb() -> Iterator[RunningSandbox]:
    with running_sandbox(seed="keys-rotate") as sandbox:
        yield sandbox


@pytest.fixture
def env(settings: Settings, sb: RunningSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECONDLOOP_ENV", "test")
    monkeypatch.setenv("SECONDLOOP_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SECONDLOOP_STRIPE_API_BASE", sb.url)
    monkeypatch.setenv("SECONDLOOP_STRIPE_CONNECT_BASE", sb.url)


def load_account(stripe_id: str) -> StripeAccount:
    settings = Settings.from_env()

    async def run() -> StripeAccount:
        await db.init_db(settings, build_plugin_host(settings.plugins))
        try:
            with unscoped():
                if not await Workspace.filter(slug="rot").exists():
                    await Workspace.create(name="Rot", slug="rot")
                account = await StripeAccount.filter(stripe_account_id=stripe_id).first()
                return account  # type: ignore[return-value]
        finally:
            await db.close_db()

    return asyncio.run(run())


def ciphertexts(account: StripeAccount) -> dict[str, str]:
    return {f: getattr(account, f"{f}_enc") for f in SECRET_FIELDS if getattr(account, f"{f}_enc")}


def test_rotation_round_trip(
    env: None,
    sb: RunningSandbox,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    old, new = new_key(), new_key()
    monkeypatch.setenv("SECONDLOOP_ENCRYPTION_KEYS", old)
    load_account("none")  # creates the workspace
    shop = sb.create_account(name="Rotating")
    assert main(["stripe", "connect", "rot", "--api-key", shop["restricted_key"]]) == 0
    before = load_account(shop["id"])
    sealed = ciphertexts(before)
    assert set(sealed) == {"api_key", "webhook_secret", "webhook_token"}
    old_ring = Keyring.from_strings([old])
    plain = {
        f: old_ring.decrypt(t, context=encryption_context(before, f)) for f, t in sealed.items()
    }
    assert plain["api_key"] == shop["restricted_key"]

    # The new key goes first; the old one stays so existing values still open.
    monkeypatch.setenv("SECONDLOOP_ENCRYPTION_KEYS", f"{new},{old}")
    capsys.readouterr()
    assert main(["keys", "rotate"]) == 0
    out = capsys.readouterr().out
    assert "StripeAccount.api_key_enc: 1 re-encrypted, 0 already current" in out

    after = load_account(shop["id"])
    new_id = key_id(base64.urlsafe_b64decode(new))
    new_only = Keyring.from_strings([new])
    for field, token in ciphertexts(after).items():
        assert token.split(":")[1] == new_id
        assert token != sealed[field]
        assert new_only.decrypt(token, context=encryption_context(after, field)) == plain[field]

    # Idempotent: a second run changes nothing.
    assert main(["keys", "rotate"]) == 0
    assert "StripeAccount.api_key_enc: 0 re-encrypted, 1 already current" in capsys.readouterr().out
    assert ciphertexts(load_account(shop["id"])) == ciphertexts(after)

    # Without any key that opens the values, rotation reports it and fails.
    monkeypatch.setenv("SECONDLOOP_ENCRYPTION_KEYS", f"{new_key()},{old}")
    assert main(["keys", "rotate"]) == 1
    assert "undecryptable" in capsys.readouterr().out
