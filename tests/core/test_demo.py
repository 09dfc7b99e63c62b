"""The demo's set-up: two seeded sandbox businesses become two connected workspaces."""

from __future__ import annotations

from pathlib import Path

import httpx

from core import db
from core.commands.demo import DEMO_OWNER, _platform_settings, _prepare
from core.models import Membership, StripeAccount, User, Workspace
from core.models.accounts import ConnectionStatus
from core.plugins import build_plugin_host
from core.settings import Settings
from core.tenancy import unscoped
from sandbox.testing import WebhookReceiver, running_sandbox


async def test_prepare_connects_every_seeded_business(tmp_path: Path) -> None:
    with running_sandbox(seed="demo-test") as sandbox:
        async with httpx.AsyncClient(base_url=sandbox.url) as http:
            await http.post("/_sandbox/seed", json={"scenario": "demo", "customers": 6})
            seeded = (await http.get("/_sandbox/seed")).json()["businesses"]
        settings = Settings(
            environment="test",
            database_url=f"sqlite://{tmp_path}/demo.db",
            stripe_api_base=sandbox.url,
            stripe_connect_base=sandbox.url,
        )
        businesses = await _prepare(settings, seeded)
    assert len(businesses) == 2
    assert all(
        b["webhook_url"].startswith(f"{settings.base_url}/webhooks/stripe/") for b in businesses
    )
    await db.init_db(settings, build_plugin_host())
    try:
        owner = await User.get(email=DEMO_OWNER)
        with unscoped():
            accounts = await StripeAccount.all().values_list("stripe_account_id", "status")
            owned = await Membership.filter(user=owner).count()
        assert sorted(accounts) == sorted((b["account"], ConnectionStatus.ACTIVE) for b in seeded)
        assert owned == 2 and await Workspace.all().count() == 2
    finally:
        await db.close_db()


def test_the_platform_endpoint_gets_no_events_of_the_seeded_businesses(tmp_path: Path) -> None:
    """The demo's businesses are standalone accounts reached by restricted key, so the
    platform's Connect endpoint (created as the demo creates it) receives none of their events
    — no orphaned copies — while a connected account's events do reach it."""
    receiver = WebhookReceiver()
    try:
        with running_sandbox(seed="demo-test") as sandbox:
            base = receiver.url.removesuffix("/hook")
            settings = _platform_settings(Settings(environment="test"), sandbox.url, base)
            assert settings.stripe_connect_webhook_secret.startswith("whsec_")
            sandbox.http.post("/_sandbox/seed", json={"scenario": "demo", "customers": 6})
            seeded = sandbox.http.get("/_sandbox/seed").json()["businesses"]
            connected = sandbox.create_account(name="Connected Co")
            sandbox.client(connected["secret_key"]).v1.customers.create({"email": "a@b.test"})
            sandbox.wait_for(lambda: len(receiver.events()) >= 1)
            sandbox.wait_for_deliveries()
        accounts = {event.get("account") for event in receiver.events()}
        assert accounts == {connected["id"]}
        assert not accounts & {b["account"] for b in seeded}
    finally:
        receiver.close()
