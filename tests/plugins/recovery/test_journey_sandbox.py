"""A whole journey on the sandbox, its webhooks forwarded into the app's intake."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from core.events.testing import connected_account
from core.models.accounts import ConnectionMode
from core.models.email import OutboundEmail
from core.runtime import Runtime
from core.settings import Settings
from core.stripe.access import seal
from core.tenancy import unscoped, workspace_scope
from plugins.recovery.models import AttemptLedger, Case, CaseStatus, CaseStep, StepStatus
from sandbox.billing.scenario import Scenario
from sandbox.testing import RunningSandbox, WebhookReceiver, running_sandbox
from tests.plugins.recovery.conftest import enabled_workspace


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox(seed=None) as sb:
        yield sb


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver()
    yield hook
    hook.close()


@pytest.fixture
def settings(settings: Settings, sandbox: RunningSandbox) -> Settings:
    return settings.replace(
        stripe_api_base=sandbox.url, stripe_connect_base=sandbox.url,
        stripe_secret_key=sandbox.platform_key, stripe_client_id=sandbox.client_id,
    )


async def _deliver(
    sb: RunningSandbox, hook: WebhookReceiver, client: httpx.AsyncClient, token: str, drain: Any
) -> None:
    sb.wait_for_deliveries()
    for response in await hook.forward(client, f"/webhooks/stripe/{token}"):
        assert response.status_code == 200, response.text
    await drain()


async def test_failed_renewal_to_recovery_through_webhooks(
    client: httpx.AsyncClient, runtime: Runtime, sandbox: RunningSandbox,
    receiver: WebhookReceiver, drain: Any,
) -> None:
    account = sandbox.create_account(name="Shop")
    endpoint = sandbox.client(account["secret_key"]).v1.webhook_endpoints.create(
        params={"url": receiver.url, "enabled_events": ["*"]}
    )
    ws = await enabled_workspace("shop")
    row, token = await connected_account(
        runtime, ws, stripe_account_id=account["id"], secret=endpoint.secret,
        mode=ConnectionMode.RESTRICTED_KEY,
    )
    with unscoped():
        seal(runtime, row, "api_key", account["secret_key"])
        await row.save()

    s = Scenario(sandbox, account=account["id"])
    clock = s.clock()
    customer, pm = s.customer(clock, email="ada@example.test", name="Ada")
    sub = s.subscribe(customer, s.price(2900))
    await _deliver(sandbox, receiver, client, token, drain)
    with workspace_scope(ws):
        assert await Case.all().count() == 0  # sign-up paid: nothing to recover

    s.decline(pm, "insufficient_funds")
    s.advance_past_renewal(clock, sub, seconds=7200)
    await _deliver(sandbox, receiver, client, token, drain)
    invoice = s.latest_invoice(sub["id"])
    with workspace_scope(ws):
        case = await Case.get(invoice_id=invoice["id"])
        first = await CaseStep.get(case_id=case.id, index=0)
    assert (case.category, case.decline_code) == ("funds", "insufficient_funds")
    assert case.test_clock == clock and case.stripe_retries_active
    assert first.status == StepStatus.DONE

    # The card is updated by the network (account updater): an immediate retry pays.
    response = sandbox.http.post(
        f"/_sandbox/payment_methods/{pm}/automatic_update",
        json={"account": account["id"], "exp_month": 8, "exp_year": 2031},
    )
    response.raise_for_status()
    s.approve(pm)
    await _deliver(sandbox, receiver, client, token, drain)
    await _deliver(sandbox, receiver, client, token, drain)  # invoice.paid from our retry
    with workspace_scope(ws):
        case = await Case.get(id=case.id)
        pending = await CaseStep.filter(case_id=case.id, status=StepStatus.PENDING).count()
        ledger = await AttemptLedger.filter(invoice_id=invoice["id"]).count()
    with unscoped():
        emails = await OutboundEmail.filter(workspace_id=ws).count()
    assert case.status == CaseStatus.RECOVERED and case.recovered_amount == 2900
    assert case.recovered_by_step.endswith(":retry") and pending == 0
    assert emails == 1 and ledger >= 2
    assert s.get(f"/v1/invoices/{invoice['id']}")["status"] == "paid"
