"""One view of invoices and subscriptions for both the pre-2025 and the 2025+ API shapes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from core.events.normalize import InvoiceView, StripeEvent, SubscriptionView

START, END = 1_767_225_600, 1_769_904_000  # 2026-01-01, 2026-02-01


def _at(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


COMMON: dict[str, Any] = {
    "object": "invoice",
    "id": "in_1",
    "customer": "cus_1",
    "test_clock": "clock_1",
    "amount_due": 2000,
    "amount_paid": 0,
    "amount_remaining": 2000,
    "currency": "usd",
    "attempt_count": 2,
    "next_payment_attempt": END,
    "status": "open",
    "billing_reason": "subscription_cycle",
    "hosted_invoice_url": "https://invoice.example/in_1",
    # On both shapes the invoice's own period is when items were added, not the billed period.
    "period_start": START - 100,
    "period_end": START,
}

MODERN: dict[str, Any] = COMMON | {
    "parent": {
        "type": "subscription_details",
        "subscription_details": {"subscription": "sub_1", "metadata": {}},
    },
    "lines": {
        "object": "list",
        "data": [
            {
                "id": "il_0",
                "parent": {
                    "type": "invoice_item_details",
                    "invoice_item_details": {"invoice_item": "ii_1"},
                },
                "period": {"start": START - 50, "end": START - 50},
            },
            {
                "id": "il_1",
                "parent": {
                    "type": "subscription_item_details",
                    "subscription_item_details": {
                        "subscription": "sub_1",
                        "subscription_item": "si_1",
                    },
                },
                "period": {"start": START, "end": END},
            },
        ],
    },
    "payments": {
        "object": "list",
        "data": [
            {
                "object": "invoice_payment",
                "id": "inpay_old",
                "status": "canceled",
                "created": START + 1,
                "payment": {"type": "payment_intent", "payment_intent": "pi_old"},
            },
            {
                "object": "invoice_payment",
                "id": "inpay_1",
                "status": "open",
                "created": START + 2,
                "payment": {
                    "type": "payment_intent",
                    "payment_intent": {
                        "id": "pi_1",
                        "object": "payment_intent",
                        "latest_charge": "ch_1",
                    },
                },
            },
        ],
    },
}

LEGACY: dict[str, Any] = COMMON | {
    "subscription": "sub_1",
    "payment_intent": "pi_1",
    "charge": "ch_1",
    "lines": {
        "object": "list",
        "data": [
            {
                "id": "il_1",
                "type": "subscription",
                "subscription": "sub_1",
                "period": {"start": START, "end": END},
            }
        ],
    },
}


def test_both_invoice_shapes_read_the_same() -> None:
    modern, legacy = InvoiceView.from_object(MODERN), InvoiceView.from_object(LEGACY)
    assert (modern.legacy_shape, legacy.legacy_shape) == (False, True)
    for view in (modern, legacy):
        assert view.subscription_id == "sub_1"
        assert (view.payment_intent_id, view.charge_id) == ("pi_1", "ch_1")
        assert (view.period_start, view.period_end) == (_at(START), _at(END))
        assert (view.customer_id, view.test_clock) == ("cus_1", "clock_1")
        assert (view.amount_due, view.amount_paid, view.amount_remaining) == (2000, 0, 2000)
        assert (view.currency, view.attempt_count, view.status) == ("usd", 2, "open")
        assert view.next_payment_attempt == _at(END)
        assert view.billing_reason == "subscription_cycle"
        assert view.hosted_invoice_url == "https://invoice.example/in_1"


def test_a_modern_invoice_without_expanded_payments_has_no_payment_ids() -> None:
    bare = {k: v for k, v in MODERN.items() if k not in {"payments", "lines"}}
    view = InvoiceView.from_object(bare)
    assert (view.payment_intent_id, view.charge_id) == (None, None)
    assert view.subscription_id == "sub_1"
    assert (view.period_start, view.period_end) == (_at(START - 100), _at(START))  # the fallback


def test_a_paid_payment_wins_over_a_newer_failed_one() -> None:
    payments = {
        "data": [
            {"status": "paid", "created": 1, "payment": {"type": "charge", "charge": "ch_paid"}},
            {
                "status": "open",
                "created": 2,
                "payment": {"type": "payment_intent", "payment_intent": "pi_2"},
            },
        ]
    }
    view = InvoiceView.from_object(MODERN | {"payments": payments})
    assert (view.payment_intent_id, view.charge_id) == (None, "ch_paid")


def test_subscription_period_from_items_or_top_level() -> None:
    modern = {
        "object": "subscription",
        "id": "sub_1",
        "customer": {"id": "cus_1", "object": "customer"},
        "status": "past_due",
        "latest_invoice": "in_1",
        "items": {
            "data": [{"id": "si_1", "current_period_start": START, "current_period_end": END}]
        },
    }
    legacy = {
        "object": "subscription",
        "id": "sub_1",
        "customer": "cus_1",
        "status": "past_due",
        "latest_invoice": {"id": "in_1"},
        "current_period_start": START,
        "current_period_end": END,
        "items": {"data": [{"id": "si_1"}]},
    }
    for obj in (modern, legacy):
        view = SubscriptionView.from_object(obj)
        assert (view.current_period_start, view.current_period_end) == (_at(START), _at(END))
        assert (view.customer_id, view.latest_invoice_id, view.status) == (
            "cus_1",
            "in_1",
            "past_due",
        )


def _event(obj: dict[str, Any], type: str) -> StripeEvent:
    return StripeEvent(1, "evt_1", type, "acct_1", "2020-08-27", _at(START), obj, {})


def test_the_event_offers_the_view_matching_its_object() -> None:
    invoice_event = _event(LEGACY, "invoice.payment_failed")
    assert invoice_event.invoice is not None and invoice_event.subscription is None
    assert invoice_event.customer_id == "cus_1" and invoice_event.test_clock == "clock_1"
    clock_event = _event(
        {"object": "test_helpers.test_clock", "id": "clock_9"}, "test_helpers.test_clock.ready"
    )
    assert clock_event.test_clock == "clock_9" and clock_event.invoice is None
    customer_event = _event({"object": "customer", "id": "cus_7"}, "customer.created")
    assert customer_event.customer_id == "cus_7"
