"""The expiring-card scan leaves renewed cards alone (network updater, or a changed expiry)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from core.events.testing import connected_account
from core.models.accounts import ConnectionMode
from core.models.email import OutboundEmail
from core.runtime import Runtime
from core.settings import Settings
from core.stripe.access import seal
from core.tenancy import unscoped, workspace_scope
from plugins.recovery import expiring, handlers
from plugins.recovery.models import CardAlert, CardUpdate, RecoverySettings
from sandbox.billing.scenario import Scenario
from sandbox.testing import RunningSandbox, running_sandbox
from tests.plugins.recovery.conftest import enabled_workspace, event


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox(seed=None) as sb:
        yield sb


@pytest.fixture
def settings(settings: Settings, sandbox: RunningSandbox) -> Settings:
    return settings.replace(
        stripe_api_base=sandbox.url,
        stripe_connect_base=sandbox.url,
        stripe_secret_key=sandbox.platform_key,
        stripe_client_id=sandbox.client_id,
    )


async def _shop(runtime: Runtime, sandbox: RunningSandbox) -> tuple[int, Scenario]:
    account = sandbox.create_account(name="Shop")
    ws = await enabled_workspace("shop")
    row, _ = await connected_account(
        runtime, ws, stripe_account_id=account["id"], mode=ConnectionMode.RESTRICTED_KEY
    )
    with unscoped():
        seal(runtime, row, "api_key", account["restricted_key"])
        await row.save()
    with workspace_scope(ws):
        await RecoverySettings.filter(workspace_id=ws).update(expiring_card_lead_days=90)
    return ws, Scenario(sandbox, account=account["id"])


def _set_expiry(s: Scenario, pm: str, month: int, year: int) -> dict[str, Any]:
    """The network updater renews the card; returns its `automatically_updated` event."""
    s.sb.http.post(
        f"/_sandbox/payment_methods/{pm}/automatic_update",
        json={"account": s.account, "exp_month": month, "exp_year": year},
    ).raise_for_status()
    return s.events("payment_method.automatically_updated")[-1]


def _next_month(now: datetime) -> tuple[int, int]:
    return (1, now.year + 1) if now.month == 12 else (now.month + 1, now.year)


async def _emails(ws: int) -> int:
    with unscoped():
        return await OutboundEmail.filter(workspace_id=ws).count()


async def test_a_card_the_updater_renewed_gets_no_warning(
    app: object, runtime: Runtime, sandbox: RunningSandbox
) -> None:
    ws, s = await _shop(runtime, sandbox)
    customer, pm = s.customer(None, email="ada@example.test", name="Ada")
    s.subscribe(customer, s.price(2900))
    now = runtime.now()
    updated = _set_expiry(s, pm, now.month, now.year)  # renewed, to a card that expires soon
    with workspace_scope(ws):
        ev = event(
            updated["type"],
            updated["data"]["object"],
            datetime.fromtimestamp(updated["created"], UTC),
            account=s.account or "",
        )
        await handlers.payment_method_changed(ev, ws, runtime)
        await handlers.payment_method_changed(ev, ws, runtime)  # a duplicate delivery
        assert await CardUpdate.filter(payment_method_id=pm).count() == 1
        assert await expiring.scan_workspace(runtime) == 0
    assert await _emails(ws) == 0

    # Another customer's card, not renewed, is warned about as usual.
    other, other_pm = s.customer(None, email="bob@example.test", name="Bob")
    s.subscribe(other, s.price(2900))
    _set_expiry(s, other_pm, now.month, now.year)  # the event is not delivered to us
    with workspace_scope(ws):
        assert await expiring.scan_workspace(runtime) == 1
    assert await _emails(ws) == 1


async def test_a_card_whose_expiry_changed_since_the_warning_gets_no_more(
    app: object, runtime: Runtime, sandbox: RunningSandbox
) -> None:
    ws, s = await _shop(runtime, sandbox)
    customer, pm = s.customer(None, email="ada@example.test", name="Ada")
    s.subscribe(customer, s.price(2900))
    now = runtime.now()
    _set_expiry(s, pm, now.month, now.year)
    with workspace_scope(ws):
        assert await expiring.scan_workspace(runtime) == 1
        first = await CardAlert.get(payment_method_id=pm)
    assert (first.exp_month, first.exp_year) == (now.month, now.year)

    # The card now shows a later expiry (within the 90-day lead time, so without the rule a
    # new series of warnings would start for it).
    month, year = _next_month(now)
    _set_expiry(s, pm, month, year)
    with workspace_scope(ws):
        assert await expiring.scan_workspace(runtime) == 0
        assert await CardAlert.filter(payment_method_id=pm).count() == 1
    assert await _emails(ws) == 1


async def test_a_warning_recorded_by_a_worker_that_died_before_sending_is_sent_once(
    app: object, runtime: Runtime, sandbox: RunningSandbox
) -> None:
    ws, s = await _shop(runtime, sandbox)
    customer, pm = s.customer(None, email="ada@example.test", name="Ada")
    s.subscribe(customer, s.price(2900))
    now = runtime.now()
    _set_expiry(s, pm, now.month, now.year)
    with workspace_scope(ws):
        assert await expiring.scan_workspace(runtime) == 1
        # As if the worker died between recording the alert and sending its email.
        alert = await CardAlert.get(payment_method_id=pm)
        await CardAlert.filter(id=alert.id).update(email_id=None)
    with unscoped():
        await OutboundEmail.filter(workspace_id=ws).delete()
    with workspace_scope(ws):
        assert await expiring.scan_workspace(runtime) == 1
        assert await expiring.scan_workspace(runtime) == 0
        # Died after sending, before recording the email: the same key sends nothing new.
        await CardAlert.filter(id=alert.id).update(email_id=None)
        await expiring.scan_workspace(runtime)
        assert (await CardAlert.get(id=alert.id)).email_id is not None
    assert await _emails(ws) == 1
