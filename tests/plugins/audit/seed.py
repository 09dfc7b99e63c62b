"""What the demo seed lacks and the audit must get right, added over the sandbox's API.

The demo businesses are realistic, so they rarely hold the corner cases every figure of the
audit has to be checked on. `add_corner_cases` gives a seeded business, on its own test clock:
a trialing customer without an email, a daily-billed subscription left `unpaid` after its
retries (its invoice then marked uncollectible), one waiting for a retry, a past-due one whose
open invoice was voided (so no retry is scheduled), one on a card past its expiry, an open
dispute waiting for evidence and a subscription Stripe bills by emailed invoice, all in
`currency`, so that a second currency appears.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sandbox.testing import RunningSandbox

DAY = 86_400
Obj = dict[str, Any]


class Business:
    """One seeded business reached with its own secret key, as its owner would."""

    def __init__(self, sb: RunningSandbox, summary: Any) -> None:
        self.sb = sb
        self.account = summary.account
        self.clock = summary.test_clock
        self.client = sb.client(summary.secret_key)
        self.key = summary.secret_key

    def get(self, path: str, **params: Any) -> Obj:
        response = self.sb.http.get(
            path, params=params, headers={"Authorization": f"Bearer {self.key}"}
        )
        response.raise_for_status()
        body: Obj = response.json()
        return body

    def sandbox(self, path: str, **data: Any) -> None:
        self.sb.http.post(path, json={**data, "account": self.account}).raise_for_status()

    def price(self, amount: int, currency: str, interval: str) -> str:
        product = self.client.v1.products.create(params={"name": f"Audit {interval}"})
        price = self.client.v1.prices.create(
            params={
                "product": product.id,
                "currency": currency,
                "unit_amount": amount,
                "recurring": {"interval": interval},
            }
        )
        return str(price.id)

    def customer(self, email: str | None, card: bool = True) -> tuple[str, str | None]:
        params: Obj = {"test_clock": self.clock, **({"email": email} if email else {})}
        customer = self.client.v1.customers.create(params=params)
        if not card:
            return str(customer.id), None
        pm = self.client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
        self.client.v1.customers.update(
            customer.id, params={"invoice_settings": {"default_payment_method": pm.id}}
        )
        return str(customer.id), str(pm.id)

    def subscribe(self, customer: str, price: str, **params: Any) -> str:
        sub = self.client.v1.subscriptions.create(
            params={"customer": customer, "items": [{"price": price}], **params}
        )
        return str(sub.id)

    def failing_daily_subscription(self, email: str, currency: str) -> tuple[str, str]:
        """A daily plan paid once; its card declines from then on. (subscription, card)"""
        customer, card = self.customer(email)
        assert card is not None
        sub = self.subscribe(customer, self.price(300, currency, "day"))
        self.decline(card, "insufficient_funds")
        return sub, card

    def decline(self, card: str, decline_code: str) -> None:
        self.sandbox(
            f"/_sandbox/payment_methods/{card}/behaviour",
            outcome="decline",
            code="card_declined",
            decline_code=decline_code,
        )

    def expired_card_subscription(self, email: str, currency: str) -> str:
        """Active, on a card whose expiry month is already over and that nobody refreshed."""
        customer, card = self.customer(email)
        sub = self.subscribe(customer, self.price(1900, currency, "month"))
        now = datetime.fromtimestamp(self.now(), UTC)
        year, month = (now.year, now.month - 1) if now.month > 1 else (now.year - 1, 12)
        self.client.v1.payment_methods.update(
            str(card), params={"card": {"exp_month": month, "exp_year": year}}
        )
        return sub

    def now(self) -> int:
        return int(self.client.v1.test_helpers.test_clocks.retrieve(self.clock).frozen_time)

    def advance(self, days: float) -> None:
        self.client.v1.test_helpers.test_clocks.advance(
            self.clock, params={"frozen_time": self.now() + int(days * DAY)}
        )
        self.sb.wait_for_clock(self.account, self.clock, timeout=60)

    def invoices(self, **params: Any) -> list[Obj]:
        found: list[Obj] = self.get("/v1/invoices", limit=100, **params)["data"]
        return found


def add_corner_cases(sb: RunningSandbox, summary: Any, currency: str, tag: str) -> None:
    biz = Business(sb, summary)
    # One retry half a day after the first failure, then `unpaid`: a short, known story.
    biz.sandbox("/_sandbox/billing/settings", retry_days=[0.5], subscription_end_state="unpaid")
    trialing, _ = biz.customer(None, card=False)
    biz.subscribe(trialing, biz.price(1500, currency, "month"), trial_period_days=30)
    unpaid, unpaid_card = biz.failing_daily_subscription(f"unpaid.{tag}@example.test", currency)
    biz.advance(0.6)
    past_due, _ = biz.failing_daily_subscription(f"past-due.{tag}@example.test", currency)
    retrying, _ = biz.failing_daily_subscription(f"retrying.{tag}@example.test", currency)
    biz.advance(0.6)
    # The first renewal failed on insufficient funds; its one retry fails otherwise (an
    # invoice's decline is its first) and the subscription goes unpaid. The other two fail
    # once and wait for their retry when the clock stops; one of them is then voided.
    biz.decline(unpaid_card, "do_not_honor")
    biz.advance(0.6)
    assert biz.get(f"/v1/subscriptions/{unpaid}")["status"] == "unpaid"
    [owed] = biz.invoices(subscription=unpaid, status="open")
    biz.client.v1.invoices.mark_uncollectible(owed["id"])
    for sub in (past_due, retrying):
        [waiting] = biz.invoices(subscription=sub, status="open")
        assert waiting["next_payment_attempt"] and waiting["attempt_count"] == 1
    biz.client.v1.invoices.void_invoice(waiting["id"])  # past due, nothing left to retry
    assert biz.get(f"/v1/subscriptions/{retrying}")["status"] == "past_due"
    biz.expired_card_subscription(f"expired.{tag}@example.test", currency)

    disputer, card = biz.customer(f"dispute.{tag}@example.test")
    assert card is not None
    biz.sandbox(
        f"/_sandbox/payment_methods/{card}/behaviour",
        outcome="dispute",
        dispute_reason="product_not_received",
    )
    biz.subscribe(disputer, biz.price(4900, currency, "month"))
    invoiced, _ = biz.customer(f"invoiced.{tag}@example.test", card=False)
    biz.subscribe(
        invoiced,
        biz.price(9900, currency, "month"),
        collection_method="send_invoice",
        days_until_due=30,
    )


def add_stray_clock(sb: RunningSandbox, summary: Any, days_ahead: int = 40) -> str:
    """A test clock nobody lives on, later than the business's own: it must not move the
    audit's window."""
    biz = Business(sb, summary)
    clock = biz.client.v1.test_helpers.test_clocks.create(
        params={"frozen_time": biz.now() + days_ahead * DAY, "name": "stray"}
    )
    return str(clock.id)
