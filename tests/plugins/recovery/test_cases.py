from __future__ import annotations

from datetime import timedelta
from typing import Any

from core.clock import FrozenClock
from core.models.email import OutboundEmail
from core.runtime import Runtime
from core.tenancy import unscoped, workspace_scope
from plugins.recovery import handlers, lookup
from plugins.recovery.declines import Category
from plugins.recovery.models import AttemptLedger, Case, CaseStatus, CaseStep, StepStatus
from plugins.recovery.sequences import DEFAULTS
from tests.plugins.recovery.conftest import ACCOUNT, enabled_workspace, event, invoice, settle


async def _fail(runtime: Runtime, ws: int, inv: dict[str, Any], at: Any, **kw: Any) -> None:
    with workspace_scope(ws):
        await handlers.payment_failed(event("invoice.payment_failed", inv, at, **kw), ws, runtime)
        await settle()


async def test_a_failure_opens_one_case_and_sends_the_day0_email_once(
    app: object, runtime: Runtime, clock: FrozenClock, declines: dict[str, Any]
) -> None:
    ws = await enabled_workspace("a")
    first = event("invoice.payment_failed", invoice(), clock.now())
    with workspace_scope(ws):
        await handlers.payment_failed(first, ws, runtime)
        await settle()
        await handlers.payment_failed(first, ws, runtime)  # a duplicate delivery
        await settle()
        case = await Case.get(invoice_id="in_1")
        steps = await CaseStep.filter(case_id=case.id).order_by("index")
    assert case.status == CaseStatus.OPEN and case.category == "funds"
    assert case.decline_code == "insufficient_funds" and case.amount == 2900
    assert [s.type for s in steps] == [s["type"] for s in DEFAULTS[Category.FUNDS]]
    assert steps[0].status == StepStatus.DONE  # ran within the handler, not at the next tick
    assert all(s.status == StepStatus.PENDING for s in steps[1:])
    with unscoped():
        emails = await OutboundEmail.filter(workspace_id=ws)
    assert len(emails) == 1 and emails[0].to_address == "ada@example.test"
    assert "/r/" in emails[0].text_body and "29.00 USD" in emails[0].text_body


async def test_stripe_retries_update_the_same_case_and_append_to_the_ledger(
    app: object, runtime: Runtime, clock: FrozenClock, declines: dict[str, Any]
) -> None:
    ws = await enabled_workspace("a")
    await _fail(runtime, ws, invoice(), clock.now())
    declines["decline"] = lookup.Decline(
        code="card_declined", decline_code="do_not_honor", charge_id="ch_2"
    )
    await _fail(runtime, ws, invoice(attempt=2), clock.now() + timedelta(days=3))
    # An older event delivered late must not roll the decline back.
    declines["decline"] = lookup.Decline(code="card_declined", decline_code="x", charge_id="ch_1")
    await _fail(runtime, ws, invoice(), clock.now() + timedelta(seconds=1))
    with workspace_scope(ws):
        cases = await Case.all()
        ledger = await AttemptLedger.filter(invoice_id="in_1").order_by("at")
        steps = await CaseStep.filter(case_id=cases[0].id).count()
    assert len(cases) == 1 and cases[0].decline_code == "do_not_honor"
    assert [row.charge_id for row in ledger] == ["ch_1", "ch_2"]
    assert steps == len(DEFAULTS[Category.FUNDS])


async def test_recovery_is_off_until_enabled(
    app: object, runtime: Runtime, clock: FrozenClock, declines: dict[str, Any]
) -> None:
    ws = await enabled_workspace("a", enabled=False)
    await _fail(runtime, ws, invoice(), clock.now())
    with workspace_scope(ws):
        assert await Case.all().count() == 0


async def test_paid_before_failed_opens_no_case(
    app: object, runtime: Runtime, clock: FrozenClock, declines: dict[str, Any]
) -> None:
    ws = await enabled_workspace("a")
    paid = invoice(status="paid", amount_paid=2900)
    with workspace_scope(ws):
        await handlers.invoice_paid(event("invoice.paid", paid, clock.now()), ws, runtime)
        await settle()
    await _fail(runtime, ws, invoice(), clock.now() - timedelta(minutes=1))
    with workspace_scope(ws):
        assert await Case.all().count() == 0


async def test_paid_after_failed_recovers_and_cancels_pending_steps(
    app: object, runtime: Runtime, clock: FrozenClock, declines: dict[str, Any]
) -> None:
    ws = await enabled_workspace("a")
    await _fail(runtime, ws, invoice(), clock.now())
    clock.advance(timedelta(hours=5))
    paid = invoice(status="paid", amount_paid=2900)
    with workspace_scope(ws):
        for _ in range(2):  # duplicate delivery
            await handlers.invoice_paid(event("invoice.paid", paid, clock.now()), ws, runtime)
            await settle()
        case = await Case.get(invoice_id="in_1")
        pending = await CaseStep.filter(case_id=case.id, status=StepStatus.PENDING).count()
        cancelled = await CaseStep.filter(case_id=case.id, status=StepStatus.CANCELLED).count()
    assert case.status == CaseStatus.RECOVERED and case.recovered_amount == 2900
    assert case.time_to_recover == 5 * 3600 and case.recovered_by_step == "0:email"
    assert pending == 0 and cancelled == len(DEFAULTS[Category.FUNDS]) - 1


async def test_voided_invoice_and_deleted_subscription_close_as_lost(
    app: object, runtime: Runtime, clock: FrozenClock, declines: dict[str, Any]
) -> None:
    ws = await enabled_workspace("a")
    await _fail(runtime, ws, invoice("in_1"), clock.now())
    second = invoice("in_2", parent={"subscription_details": {"subscription": "sub_2"}})
    await _fail(runtime, ws, second, clock.now())
    voided = event("invoice.voided", invoice("in_1", status="void"), clock.now())
    sub = {"id": "sub_2", "object": "subscription", "customer": "cus_1", "status": "canceled"}
    deleted = event("customer.subscription.deleted", sub, clock.now())
    with workspace_scope(ws):
        await handlers.invoice_voided(voided, ws, runtime)
        await settle()
        await handlers.subscription_deleted(deleted, ws, runtime)
        await settle()
        cases = {c.invoice_id: c for c in await Case.all()}
        pending = await CaseStep.filter(status=StepStatus.PENDING).count()
    assert cases["in_1"].status == CaseStatus.LOST
    assert cases["in_1"].closed_reason == "invoice voided"
    assert cases["in_2"].status == CaseStatus.LOST and pending == 0


async def test_a_voided_invoice_seen_at_lookup_time_opens_no_case(
    app: object, runtime: Runtime, clock: FrozenClock, declines: dict[str, Any]
) -> None:
    ws = await enabled_workspace("a")
    declines["status"] = "void"
    await _fail(runtime, ws, invoice(), clock.now())
    with workspace_scope(ws):
        assert await Case.all().count() == 0


async def test_authentication_required_classifies_without_a_lookup(
    app: object, runtime: Runtime, clock: FrozenClock, declines: dict[str, Any]
) -> None:
    ws = await enabled_workspace("a")
    declines["decline"] = None  # would classify as other if consulted
    with workspace_scope(ws):
        ev = event("invoice.payment_action_required", invoice(), clock.now())
        await handlers.payment_failed(ev, ws, runtime)
        await settle()
        case = await Case.get(invoice_id="in_1")
    assert case.category == "authentication"


async def test_lookup_failure_falls_back_to_other(
    app: object, runtime: Runtime, clock: FrozenClock, monkeypatch: Any
) -> None:
    async def broken(*args: object) -> lookup.InvoiceState:
        raise RuntimeError("stripe is down")

    monkeypatch.setattr(lookup, "fetch_invoice_state", broken)
    ws = await enabled_workspace("a")
    await _fail(runtime, ws, invoice(), clock.now())  # no job row: this is the last attempt
    with workspace_scope(ws):
        case = await Case.get(invoice_id="in_1")
    assert case.category == "other"


async def test_dispute_suspends_retries_and_a_won_dispute_resumes_them(
    app: object, runtime: Runtime, clock: FrozenClock, declines: dict[str, Any], monkeypatch: Any
) -> None:
    async def customer_of(runtime: object, account: str, charge: str) -> str:
        return "cus_1" if charge == "ch_old" else ""

    monkeypatch.setattr(lookup, "charge_customer", customer_of)
    ws = await enabled_workspace("a")
    await _fail(runtime, ws, invoice(), clock.now())
    dispute = {"id": "dp_1", "object": "dispute", "charge": "ch_old", "status": "needs_response"}
    with workspace_scope(ws):
        await handlers.dispute(event("charge.dispute.created", dispute, clock.now()), ws, runtime)
        await settle()
        suspended = await Case.get(invoice_id="in_1")
        won = {**dispute, "status": "won"}
        await handlers.dispute(event("charge.dispute.closed", won, clock.now()), ws, runtime)
        await settle()
        resumed = await Case.get(invoice_id="in_1")
    assert suspended.disputed and suspended.retries_suspended
    assert resumed.disputed and not resumed.retries_suspended


async def test_a_case_opened_during_a_dispute_starts_suspended_until_all_are_won(
    app: object, runtime: Runtime, clock: FrozenClock, declines: dict[str, Any], monkeypatch: Any
) -> None:
    async def customer_of(runtime: object, account: str, charge: str) -> str:
        return "cus_1"

    monkeypatch.setattr(lookup, "charge_customer", customer_of)
    ws = await enabled_workspace("a")
    first = {"id": "dp_1", "object": "dispute", "charge": "ch_old", "status": "needs_response"}
    second = {**first, "id": "dp_2", "charge": "ch_older"}

    async def deliver(type_: str, dispute: dict[str, Any]) -> None:
        with workspace_scope(ws):
            await handlers.dispute(event(type_, dispute, clock.now()), ws, runtime)
            await settle()

    async def case() -> Case:
        with workspace_scope(ws):
            return await Case.get(invoice_id="in_1")

    await deliver("charge.dispute.created", first)
    await deliver("charge.dispute.created", first)  # delivered twice
    await deliver("charge.dispute.created", second)
    await _fail(runtime, ws, invoice(), clock.now())  # the renewal fails during the disputes
    opened = await case()
    assert opened.disputed and opened.retries_suspended
    await deliver("charge.dispute.closed", {**first, "status": "won"})
    assert (await case()).retries_suspended  # the second dispute is still open
    await deliver("charge.dispute.closed", {**second, "status": "won"})
    assert not (await case()).retries_suspended


async def test_a_dispute_closed_before_its_opening_arrives_stays_closed(
    app: object, runtime: Runtime, clock: FrozenClock, declines: dict[str, Any], monkeypatch: Any
) -> None:
    async def customer_of(runtime: object, account: str, charge: str) -> str:
        return "cus_1"

    monkeypatch.setattr(lookup, "charge_customer", customer_of)
    ws = await enabled_workspace("a")
    dispute = {"id": "dp_1", "object": "dispute", "charge": "ch_old", "status": "won"}
    with workspace_scope(ws):
        await handlers.dispute(event("charge.dispute.closed", dispute, clock.now()), ws, runtime)
        opened = {**dispute, "status": "needs_response"}
        await handlers.dispute(event("charge.dispute.created", opened, clock.now()), ws, runtime)
        await settle()
    await _fail(runtime, ws, invoice(), clock.now())
    with workspace_scope(ws):
        case = await Case.get(invoice_id="in_1")
    assert not case.disputed and not case.retries_suspended


async def test_two_workspaces_never_see_each_others_cases(
    app: object, runtime: Runtime, clock: FrozenClock, declines: dict[str, Any]
) -> None:
    ws_a = await enabled_workspace("a")
    ws_b = await enabled_workspace("b")
    await _fail(runtime, ws_a, invoice("in_1"), clock.now())
    await _fail(runtime, ws_b, invoice("in_1"), clock.now(), account="acct_other")
    paid = invoice("in_1", status="paid", amount_paid=2900)
    with workspace_scope(ws_a):
        # Paying A's invoice must not touch B's case, even with the same invoice id.
        await handlers.invoice_paid(event("invoice.paid", paid, clock.now()), ws_a, runtime)
        await settle()
        mine = await Case.all()
        steps = await CaseStep.all().count()
    with workspace_scope(ws_b):
        theirs = await Case.all()
    assert [c.workspace_id for c in mine] == [ws_a] and mine[0].status == CaseStatus.RECOVERED
    assert [c.workspace_id for c in theirs] == [ws_b] and theirs[0].status == CaseStatus.OPEN
    assert steps == len(DEFAULTS[Category.FUNDS])
    assert ACCOUNT != "acct_other"


async def test_a_failed_sign_up_invoice_is_not_a_renewal_to_recover(
    app: object, runtime: Runtime, clock: FrozenClock, declines: dict[str, Any]
) -> None:
    ws = await enabled_workspace("a")
    await _fail(runtime, ws, invoice(billing_reason="subscription_create"), clock.now())
    with workspace_scope(ws):
        assert await Case.all().count() == 0


async def test_fraud_flags_the_customer_and_tells_the_owner_without_retrying(
    app: object, runtime: Runtime, clock: FrozenClock, declines: dict[str, Any]
) -> None:
    from core.models import Membership, User
    from core.models.workspaces import Role

    ws = await enabled_workspace("a")
    owner = await User.create(email="owner@shop.test")
    with workspace_scope(ws):
        await Membership.create(user=owner, role=Role.OWNER)
    declines["decline"] = lookup.Decline(code="card_declined", decline_code="stolen_card")
    await _fail(runtime, ws, invoice(), clock.now())
    with workspace_scope(ws):
        case = await Case.get(invoice_id="in_1")
        steps = await CaseStep.filter(case_id=case.id).order_by("index")
    with unscoped():
        sent = sorted(e.to_address for e in await OutboundEmail.filter(workspace_id=ws))
    assert case.category == "fraud" and case.customer_flagged
    assert [(s.type, s.status) for s in steps] == [
        ("email", StepStatus.DONE), ("notify_operator", StepStatus.DONE)
    ]
    assert sent == ["ada@example.test", "owner@shop.test"]
