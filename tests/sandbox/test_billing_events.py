"""The order of the events the engine sends for the journeys SecondLoop cares about."""

from __future__ import annotations

from sandbox.billing.scenario import DAY, Scenario
from sandbox.testing import running_sandbox

T0 = 1_767_225_600


def _types_since(s: Scenario, seen: set[str]) -> list[str]:
    """Types of the events not in ``seen`` (oldest first), test-clock events left out."""
    fresh = [e for e in s.events() if e["id"] not in seen]
    seen.update(e["id"] for e in fresh)
    return [e["type"] for e in fresh if not e["type"].startswith("test_helpers.")]


def test_event_sequences_for_signup_failed_renewal_and_recovery() -> None:
    with running_sandbox(seed="sequence", frozen_time=T0) as sb:
        s = Scenario(sb)
        clock = s.clock(T0)
        customer, pm = s.customer(clock)
        price = s.price(1000)
        seen = {e["id"] for e in s.events()}

        s.subscribe(customer, price)
        assert _types_since(s, seen) == [
            "customer.subscription.created",  # status incomplete
            "invoice.created",
            "payment_intent.created",
            "invoice.finalized",
            "charge.succeeded",
            "payment_intent.succeeded",
            "invoice.updated",
            "invoice.paid",
            "invoice_payment.paid",
            "invoice.payment_succeeded",
            "customer.subscription.updated",  # incomplete -> active
        ]

        s.decline(pm, "insufficient_funds")
        s.advance(clock, days=28)
        assert _types_since(s, seen) == ["invoice.upcoming"]
        s.advance(clock, days=3)
        assert _types_since(s, seen) == ["invoice.created", "customer.subscription.updated"]
        s.advance(clock, seconds=3600)  # Stripe finalises and charges about an hour later
        assert _types_since(s, seen) == [
            "payment_intent.created",
            "invoice.finalized",
            "charge.failed",
            "payment_intent.payment_failed",
            "customer.updated",  # delinquent
            "invoice.updated",
            "invoice.payment_failed",
            "customer.subscription.updated",  # active -> past_due
        ]

        s.approve(pm)
        s.advance(clock, days=4)
        assert _types_since(s, seen) == [
            "charge.succeeded",
            "payment_intent.succeeded",
            "invoice.updated",
            "invoice.paid",
            "invoice_payment.paid",
            "invoice.payment_succeeded",
            "customer.updated",  # no longer delinquent
            "customer.subscription.updated",  # past_due -> active
        ]
        assert s.events("invoice.paid")[-1]["created"] - s.events("invoice.payment_failed")[-1][
            "created"
        ] == int(3.5 * DAY)
