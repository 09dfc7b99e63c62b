"""The retry step against the real sandbox: a declined renewal, retried without double charges."""

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
from plugins.recovery import engine, handlers, signals
from plugins.recovery.models import AttemptLedger, Case, CaseStatus, CaseStep, StepStatus
from sandbox.billing.scenario import Scenario
from sandbox.testing import RunningSandbox, running_sandbox
from tests.plugins.recovery.conftest import enabled_workspace, event, settle


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox(seed=None) as sb:
        yield sb


@pytest.fixture
def settings(settings: Settings, sandbox: RunningSandbox) -> Settings:
    return settings.replace(
        stripe_api_base=sandbox.url, stripe_connect_base=sandbox.url,
        stripe_secret_key=sandbox.platform_key, stripe_client_id=sandbox.client_id,
    )


async def _connect(runtime: Runtime, ws: int, account: dict[str, Any]) -> None:
    row, _ = await connected_account(
        runtime, ws, stripe_account_id=account["id"], mode=ConnectionMode.RESTRICTED_KEY
    )
    with unscoped():
        seal(runtime, row, "api_key", account["secret_key"])
        await row.save()


def _failed_renewal(sb: RunningSandbox, account: str) -> tuple[Scenario, dict[str, Any], str]:
    s = Scenario(sb, account=account)  # the platform acting on the connected account
    clock = s.clock()
    customer, pm = s.customer(clock, email="ada@example.test", name="Ada")
    sub = s.subscribe(customer, s.price(2900))
    s.decline(pm, "insufficient_funds")
    s.advance_past_renewal(clock, sub, seconds=7200)
    return s, s.latest_invoice(sub["id"]), pm


async def _rerun(runtime: Runtime, step_id: int) -> str:
    """Run a finished step again, as if its worker had died before recording the result."""
    await CaseStep.filter(id=step_id).update(status=StepStatus.PENDING, locked_until=None)
    return await engine.run_step(runtime, step_id)


async def test_a_retry_declines_then_recovers_and_never_charges_twice(
    app: object, runtime: Runtime, sandbox: RunningSandbox
) -> None:
    account = sandbox.create_account(name="Shop")
    ws = await enabled_workspace("shop")
    await _connect(runtime, ws, account)
    s, inv, pm = _failed_renewal(sandbox, account["id"])
    assert inv["status"] == "open" and inv["attempt_count"] == 1
    created = datetime.fromtimestamp(inv["created"], UTC)
    with workspace_scope(ws):
        ev = event("invoice.payment_failed", inv, created, account=account["id"])
        await handlers.payment_failed(ev, ws, runtime)  # the decline is looked up in Stripe
        await settle()
        case = await Case.get(invoice_id=inv["id"])
        assert (case.category, case.decline_code) == ("funds", "insufficient_funds")
        retry = await CaseStep.get(case_id=case.id, index=1)
        assert retry.type == "retry"
        await CaseStep.filter(id=retry.id).update(due_at=runtime.now())
        assert await engine.run_step(runtime, retry.id) == StepStatus.DONE
        assert await _rerun(runtime, retry.id) == StepStatus.DONE
        ledger = await AttemptLedger.filter(invoice_id=inv["id"]).order_by("id")
        assert [row.source for row in ledger] == ["stripe", "secondloop"]
        assert ledger[1].decline_code == "insufficient_funds"
    # Two attempts on Stripe's side: the renewal and one retry (the re-run was replayed).
    assert s.get(f"/v1/invoices/{inv['id']}")["attempt_count"] == 2

    s.approve(pm)  # the customer sorted their card out
    with workspace_scope(ws):
        await signals.payment_method_changed(
            runtime, account["id"], case.customer_id, pm, runtime.now()
        )
        await settle()
        case = await Case.get(id=case.id)
        assert case.status == CaseStatus.RECOVERED and case.recovered_amount == 2900
        immediate = await CaseStep.get(case_id=case.id, type="retry", index=7)
        await _rerun(runtime, immediate.id)
    paid = s.get(f"/v1/invoices/{inv['id']}")
    assert paid["status"] == "paid" and paid["attempt_count"] == 3
    charges = s.get("/v1/charges", customer=case.customer_id, limit=100)["data"]
    assert sum(1 for c in charges if c["status"] == "succeeded") == 2  # sign-up and this one


async def test_the_email_link_opens_a_fresh_portal_session(
    client: Any, runtime: Runtime, sandbox: RunningSandbox
) -> None:
    account = sandbox.create_account(name="Shop")
    ws = await enabled_workspace("shop")
    await _connect(runtime, ws, account)
    _, inv, _ = _failed_renewal(sandbox, account["id"])
    created = datetime.fromtimestamp(inv["created"], UTC)
    with workspace_scope(ws):
        ev = event("invoice.payment_failed", inv, created, account=account["id"])
        await handlers.payment_failed(ev, ws, runtime)
        await settle()
        case = await Case.get(invoice_id=inv["id"])
        first = await CaseStep.get(case_id=case.id, index=0)
    with unscoped():
        email = await OutboundEmail.get(workspace_id=ws)
    link = next(w for w in email.text_body.split() if "/r/" in w)
    path = link.removeprefix(runtime.settings.base_url)
    response = await client.get(path)
    assert response.status_code == 303
    portal = response.headers["location"]
    assert portal.startswith(sandbox.url)
    page = sandbox.http.get(portal.removeprefix(sandbox.url))
    assert page.status_code == 200
    with workspace_scope(ws):
        clicked = await CaseStep.get(id=first.id)
    assert "clicked_at" in clicked.result
    forged = await client.get(path[:-3] + "abc")
    assert forged.status_code == 404


async def test_expiring_cards_are_emailed_once_per_stage_with_a_portal_link(
    client: Any, runtime: Runtime, sandbox: RunningSandbox
) -> None:
    from plugins.recovery import expiring
    from plugins.recovery.models import CardAlert

    account = sandbox.create_account(name="Shop")
    ws = await enabled_workspace("shop")
    await _connect(runtime, ws, account)
    s = Scenario(sandbox, account=account["id"])
    customer, pm = s.customer(None, email="ada@example.test", name="Ada")
    s.subscribe(customer, s.price(2900))
    now = runtime.now()
    sandbox.http.post(
        f"/_sandbox/payment_methods/{pm}/automatic_update",
        json={"account": account["id"], "exp_month": now.month, "exp_year": now.year},
    ).raise_for_status()
    days_left = (expiring.expires_at(now.month, now.year) - now).days
    with workspace_scope(ws):
        assert await expiring.scan_workspace(runtime) == 1
        assert await expiring.scan_workspace(runtime) == 0  # the same stage is never resent
        alert = await CardAlert.get(customer_id=customer)
    assert alert.stage == expiring.stage_for(days_left, 30)
    with unscoped():
        email = await OutboundEmail.get(workspace_id=ws)
    assert email.to_address == "ada@example.test" and f"in {days_left} days" in email.text_body
    link = next(w for w in email.text_body.split() if "/r/" in w)
    response = await client.get(link.removeprefix(runtime.settings.base_url))
    assert response.status_code == 303 and response.headers["location"].startswith(sandbox.url)


def test_alert_stages() -> None:
    from plugins.recovery.expiring import stage_for

    assert [stage_for(d, 30) for d in (-1, 0, 7, 8, 30, 31)] == [None, 7, 7, 30, 30, None]
