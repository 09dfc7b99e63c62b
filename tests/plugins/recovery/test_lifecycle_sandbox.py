"""Lifecycle events on the real sandbox, its webhooks forwarded into the app's intake:
uncollectible invoices, customer changes, a cancellation delivered before the failure, and
the win-back journey through Stripe Checkout."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from core.events.testing import connected_account
from core.models.accounts import ConnectionMode
from core.models.email import OutboundEmail
from core.runtime import Runtime
from core.settings import Settings
from core.stripe.access import seal
from core.tenancy import unscoped, workspace_scope
from plugins.recovery import operations
from plugins.recovery.models import (
    Case,
    CaseKind,
    CaseStatus,
    CaseStep,
    EndedSubscription,
    StepStatus,
)
from sandbox.billing.scenario import Scenario
from sandbox.testing import RunningSandbox, WebhookReceiver, running_sandbox
from tests.plugins.recovery.conftest import enabled_workspace

Obj = dict[str, Any]
DAY = 86_400


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
        stripe_api_base=sandbox.url,
        stripe_connect_base=sandbox.url,
        stripe_secret_key=sandbox.platform_key,
        stripe_client_id=sandbox.client_id,
    )


@dataclass
class Shop:
    sb: RunningSandbox
    hook: WebhookReceiver
    client: httpx.AsyncClient
    drain: Any
    ws: int
    token: str
    s: Scenario

    async def deliver(
        self, first: tuple[str, ...] = (), skip: tuple[str, ...] = (), reverse: bool = False
    ) -> list[str]:
        """Forward what the sandbox sent: `first` types ahead of the rest, `skip` dropped,
        everything newest first when `reverse`."""
        self.sb.wait_for_deliveries()
        taken = self.hook.take()[:: -1 if reverse else 1]
        kinds = [json.loads(r["body"])["type"] for r in taken]
        order = [r for r, k in zip(taken, kinds, strict=True) if k in first] + [
            r for r, k in zip(taken, kinds, strict=True) if k not in first and k not in skip
        ]
        for request in order:
            response = await self.client.post(
                f"/webhooks/stripe/{self.token}",
                content=request["body"],
                headers={
                    "Content-Type": "application/json; charset=utf-8",
                    "Stripe-Signature": request["headers"]["Stripe-Signature"],
                },
            )
            assert response.status_code == 200, response.text
        await self.drain()
        return kinds

    def failed_renewal(self, **customer: str) -> tuple[str, str, str, Obj]:
        clock = self.s.clock()
        email = customer.get("email", "ada@example.test")
        cus, pm = self.s.customer(clock, email=email, name=customer.get("name", "Ada"))
        sub = self.s.subscribe(cus, self.s.price(2900))
        self.s.decline(pm, "insufficient_funds")
        # A day past the renewal whatever the month's length, so the tests' later advances land
        # on the same side of Stripe's last retry (day 14) and SecondLoop's final step (day 16).
        self.s.advance_past_renewal(clock, sub, seconds=DAY + 7200)
        return clock, cus, pm, sub

    async def cases(self, **match: Any) -> list[Case]:
        with workspace_scope(self.ws):
            return list(await Case.filter(**match).order_by("id"))


@pytest.fixture
async def shop(
    client: httpx.AsyncClient,
    runtime: Runtime,
    sandbox: RunningSandbox,
    receiver: WebhookReceiver,
    drain: Any,
) -> Shop:
    account = sandbox.create_account(name="Shop")
    endpoint = sandbox.client(account["secret_key"]).v1.webhook_endpoints.create(
        params={"url": receiver.url, "enabled_events": ["*"]}
    )
    ws = await enabled_workspace("shop")
    row, token = await connected_account(
        runtime,
        ws,
        stripe_account_id=account["id"],
        secret=endpoint.secret,
        mode=ConnectionMode.RESTRICTED_KEY,
    )
    with unscoped():
        # The restricted key SecondLoop asks operators for: it must be enough for all of this.
        seal(runtime, row, "api_key", account["restricted_key"])
        await row.save()
    return Shop(
        sandbox, receiver, client, drain, ws, token, Scenario(sandbox, account=account["id"])
    )


async def test_an_uncollectible_invoice_keeps_its_case_open_and_can_still_be_paid(
    shop: Shop, runtime: Runtime
) -> None:
    shop.s.settings(invoice_end_state="uncollectible", subscription_end_state="past_due")
    clock, _, pm, sub = shop.failed_renewal()
    await shop.deliver()
    [case] = await shop.cases()
    assert case.status == CaseStatus.OPEN and case.stripe_retries_active

    # Stripe's retries run out (14 days after the failure): it marks the invoice uncollectible.
    shop.s.advance(clock, days=13.5)
    kinds = await shop.deliver()
    assert "invoice.marked_uncollectible" in kinds
    invoice = shop.s.latest_invoice(sub["id"])
    assert invoice["status"] == "uncollectible"
    [case] = await shop.cases()
    # Stripe stopped; SecondLoop goes on until its final action (day 16).
    assert case.status == CaseStatus.OPEN
    assert not case.stripe_retries_active and case.stripe_next_attempt_at is None

    shop.s.approve(pm)  # the customer's bank lets it through now
    with workspace_scope(shop.ws):
        step = await operations.retry_now(runtime, case)
    assert step is not None
    await shop.deliver()
    [case] = await shop.cases()
    assert case.status == CaseStatus.RECOVERED and case.recovered_by_step.endswith(":retry")
    assert shop.s.get(f"/v1/invoices/{invoice['id']}")["status"] == "paid"


async def test_customer_updates_change_the_address_and_a_new_default_card_retries(
    shop: Shop,
) -> None:
    _, cus, _, sub = shop.failed_renewal()
    await shop.deliver()
    shop.s.client.v1.customers.update(cus, params={"email": "ada.old@example.test"})
    shop.s.client.v1.customers.update(
        cus, params={"email": "ada.new@example.test", "name": "Ada Lovelace"}
    )
    await shop.deliver(reverse=True)  # the newer update first: the older must not win
    [case] = await shop.cases()
    assert (case.customer_email, case.customer_name) == ("ada.new@example.test", "Ada Lovelace")
    with workspace_scope(shop.ws):
        pending = await CaseStep.filter(case_id=case.id, status=StepStatus.PENDING).count()
    assert pending == 6  # nothing else changed

    # A new default card; its `payment_method.attached` is lost on the way: the
    # `customer.updated` that makes it the default is enough to retry on it.
    new_pm = shop.s.client.v1.payment_methods.attach("pm_card_visa", params={"customer": cus})
    shop.s.client.v1.customers.update(
        cus, params={"invoice_settings": {"default_payment_method": new_pm.id}}
    )
    await shop.deliver(skip=("payment_method.attached",))
    await shop.deliver()  # invoice.paid from that retry
    [case] = await shop.cases()
    with workspace_scope(shop.ws):
        retry = await CaseStep.get(case_id=case.id, idempotency_key__endswith=f":pm:{new_pm.id}")
    assert retry.result.get("paid") is True
    assert case.status == CaseStatus.RECOVERED and case.recovered_by_step == f"{retry.index}:retry"
    assert shop.s.latest_invoice(sub["id"])["status"] == "paid"


async def test_a_cancellation_delivered_before_the_failure_opens_no_case(shop: Shop) -> None:
    _, cus, _, sub = shop.failed_renewal()
    shop.s.client.v1.subscriptions.cancel(sub["id"])  # the customer leaves; the invoice stays open
    kinds = await shop.deliver(first=("customer.subscription.deleted",))
    assert kinds.index("invoice.payment_failed") < kinds.index("customer.subscription.deleted")
    assert await shop.cases() == []
    with workspace_scope(shop.ws):
        ended = await EndedSubscription.get(subscription_id=sub["id"])
    with unscoped():
        emails = await OutboundEmail.filter(workspace_id=shop.ws).count()
    assert (ended.customer_id, ended.reason, emails) == (cus, "cancellation_requested", 0)


async def test_win_back_after_a_cancellation_for_non_payment_through_checkout(
    shop: Shop, runtime: Runtime
) -> None:
    clock, cus, _, sub = shop.failed_renewal()
    await shop.deliver()
    shop.s.advance(clock, days=13.5)  # retries exhausted: Stripe cancels (payment_failed)
    kinds = await shop.deliver()
    assert "customer.subscription.deleted" in kinds
    dunning, winback = await shop.cases()
    assert dunning.status == CaseStatus.LOST and dunning.closed_reason == "subscription cancelled"
    assert (winback.kind, winback.status, winback.invoice_id) == ("winback", "open", sub["id"])
    assert (winback.customer_email, winback.amount, winback.test_clock) == (
        "ada@example.test",
        2900,
        clock,
    )
    with workspace_scope(shop.ws):
        steps = list(await CaseStep.filter(case_id=winback.id).order_by("index"))
    delays = [(s.due_at - winback.opened_at).total_seconds() / 3600 for s in steps]
    assert delays == [1, 4 * 24, 14 * 24, 30 * 24]
    assert [s.type for s in steps] == ["email", "email", "email", "close"]

    shop.s.advance(clock, seconds=3700)  # an hour later in the customer's time
    await shop.deliver()
    with unscoped():
        email = await OutboundEmail.filter(workspace_id=shop.ws).order_by("-id").first()
    assert email is not None and email.subject.endswith("subscription has ended")
    assert email.to_address == "ada@example.test"
    link = next(w for w in email.text_body.split() if "/r/" in w)
    path = link.removeprefix(runtime.settings.base_url)

    clicked = await shop.client.get(path)
    assert clicked.status_code == 303
    checkout = clicked.headers["location"]
    assert checkout.startswith(f"{shop.sb.url}/_sandbox/checkout/")
    page = HTMLParser(shop.sb.http.get(checkout).text)
    total = page.css_first("#total")
    assert total is not None and total.text() == "29.00 USD"
    paid = shop.sb.http.post(
        checkout, data={"number": "4242424242424242", "exp_month": "12", "exp_year": "2034"}
    )
    assert paid.status_code == 303 and paid.headers["location"] == f"{link}/welcome"
    # Back from Checkout without paying: a page, not a new session.
    cancelled = await shop.client.get(f"{path}?cancelled=1")
    again = HTMLParser(cancelled.text).css_first("a#again")
    assert cancelled.status_code == 200 and again is not None
    assert again.attributes["href"] == link
    welcome = await shop.client.get(f"{path}/welcome")
    assert welcome.status_code == 200 and "Welcome back" in welcome.text

    kinds = await shop.deliver()
    assert {"checkout.session.completed", "customer.subscription.created"} <= set(kinds)
    _, winback = await shop.cases()
    assert winback.status == CaseStatus.RECOVERED and winback.recovered_amount == 2900
    assert winback.recovered_by_step == "0:email"
    assert winback.closed_reason.startswith("resubscribed (sub_")
    with workspace_scope(shop.ws):
        left = await CaseStep.filter(case_id=winback.id, status=StepStatus.PENDING).count()
    assert left == 0
    subs = shop.s.get("/v1/subscriptions", customer=cus, status="active")["data"]
    assert len(subs) == 1 and subs[0]["items"]["data"][0]["price"]["unit_amount"] == 2900
    # The old link now says so, rather than opening another checkout.
    again = await shop.client.get(path)
    assert again.status_code == 200 and "active again" in again.text
    assert (await shop.cases(kind=CaseKind.WINBACK))[0].id == winback.id
