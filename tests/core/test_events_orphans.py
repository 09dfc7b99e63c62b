"""Events no workspace claims: counted as `orphaned` at intake, shown to the platform's operator
(metrics, `secondloop events orphans`), never to a workspace that does not own the account."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

import core.events.intake
from core import db
from core.cli import main
from core.events.health import orphan_counts, orphaned_accounts, webhook_health
from core.events.testing import connected_account, signed, stripe_event
from core.metrics import ACCEPTED_OUTCOMES, REJECTED_OUTCOMES, Metrics
from core.models import Event, Workspace
from core.models.accounts import ConnectionMode, ConnectionStatus
from core.models.events import EventStatus
from core.plugins import build_plugin_host
from core.runtime import Runtime
from core.settings import Settings
from core.tenancy import unscoped

CONNECT_SECRET = "whsec_connect_" + "c" * 20


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(stripe_connect_webhook_secret=CONNECT_SECRET, plugins=())


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def _deliver(client: httpx.AsyncClient, account: str, event_id: str) -> httpx.Response:
    payload = stripe_event(
        "customer.created", {"object": "customer", "id": "cus_1"}, id=event_id, account=account
    )
    return await client.post("/webhooks/stripe/connect", **signed(payload, CONNECT_SECRET))


async def _setup(runtime: Runtime) -> Workspace:
    """A workspace with a live Connect account and a revoked one; `acct_stranger` is nobody's."""
    ws = await Workspace.create(name="Shop", slug="shop")
    await connected_account(
        runtime, ws.id, stripe_account_id="acct_mine", mode=ConnectionMode.OAUTH
    )
    await connected_account(
        runtime,
        ws.id,
        stripe_account_id="acct_gone",
        mode=ConnectionMode.OAUTH,
        status=ConnectionStatus.REVOKED,
    )
    return ws


async def test_orphans_are_counted_apart_from_stored_events(
    app: object, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await _setup(runtime)
    mine = await _deliver(client, "acct_mine", "evt_1")
    assert mine.json() == {"received": True, "stored": 1, "duplicates": 0}
    for event_id in ("evt_2", "evt_3"):
        stranger = await _deliver(client, "acct_stranger", event_id)
        assert stranger.json() == {"received": True, "stored": 1, "duplicates": 0, "orphaned": True}
    assert (await _deliver(client, "acct_gone", "evt_4")).json()["orphaned"] is True
    assert (await _deliver(client, "acct_stranger", "evt_2")).json()["duplicates"] == 1

    samples = _samples((await client.get("/metrics")).text)
    received = "secondloop_webhook_received_total"
    assert samples[(received, (("outcome", "stored"),))] == 1
    assert samples[(received, (("outcome", "orphaned"),))] == 3
    assert samples[(received, (("outcome", "duplicate"),))] == 1
    orphaned = "secondloop_orphaned_events"
    assert samples[(orphaned, (("account", "unknown"),))] == 2
    assert samples[(orphaned, (("account", "revoked"),))] == 1


async def test_the_operator_sees_orphans_per_account_a_workspace_only_its_own(
    app: object, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    ws = await _setup(runtime)
    for event_id in ("evt_a", "evt_b"):
        await _deliver(client, "acct_stranger", event_id)
    await _deliver(client, "acct_gone", "evt_c")

    assert await orphan_counts() == {"unknown": 2, "revoked": 1}
    accounts = {a.stripe_account_id: a for a in await orphaned_accounts()}
    assert set(accounts) == {"acct_stranger", "acct_gone"}
    assert (accounts["acct_stranger"].events, accounts["acct_stranger"].known) == (2, False)
    assert (accounts["acct_gone"].events, accounts["acct_gone"].known) == (1, True)

    health = {h.stripe_account_id: h.orphaned for h in await webhook_health(ws.id)}
    assert health == {"acct_mine": 0, "acct_gone": 1}  # the stranger is nobody's business here


def test_secondloop_events_orphans_lists_them(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def seed() -> None:
        await db.init_db(settings, build_plugin_host(()))
        try:
            with unscoped():
                for n in range(2):
                    await Event.create(
                        workspace_id=None,
                        stripe_event_id=f"evt_{n}",
                        stripe_account_id="acct_stranger",
                        type="customer.created",
                        created=datetime.now(UTC),
                        received_at=datetime.now(UTC),
                        status=EventStatus.ORPHANED,
                        payload={},
                    )
        finally:
            await db.close_db()

    asyncio.run(seed())
    monkeypatch.setenv("SECONDLOOP_ENV", "test")
    monkeypatch.setenv("SECONDLOOP_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SECONDLOOP_PLUGINS", "")
    assert main(["events", "orphans"]) == 0
    out = capsys.readouterr().out
    assert "orphaned events: 2 for accounts nobody connected, 0 for revoked connections" in out
    assert re.search(r"acct_stranger\s+unknown\s+2 events, last \d{4}-\d\d-\d\d", out)
    assert main(["events", "orphans", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["counts"] == {"unknown": 2, "revoked": 0}
    assert [(a["stripe_account_id"], a["events"]) for a in data["accounts"]] == [
        ("acct_stranger", 2)
    ]


def test_the_outcome_labels_are_the_intakes_own() -> None:
    """The help text names every outcome label; no label is named that the intake cannot give."""
    source = Path(core.events.intake.__file__).read_text()
    codes = set(re.findall(r'Rejected\(\s*\d{3},\s*"([a-z_]+)"', source))
    assert codes == set(REJECTED_OUTCOMES)
    help_text = Metrics().webhook_received_total._documentation
    for label in (*ACCEPTED_OUTCOMES, *REJECTED_OUTCOMES):
        assert label in help_text
    assert "bad_signature" not in help_text
