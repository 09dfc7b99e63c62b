"""What ends when something is removed: a deleted customer or test clock cancels the
subscriptions at once; a detached card is never charged again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.billing.scenario import DAY, Scenario
from sandbox.testing import running_sandbox

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z


@pytest.fixture
def s() -> Iterator[Scenario]:
    with running_sandbox(seed="removals", frozen_time=T0) as sb:
        yield Scenario(sb)


def _past_due(s: Scenario, clock: str) -> tuple[str, str, dict, dict]:
    """A customer whose renewal failed: its subscription past_due, a retry scheduled."""
    customer, pm = s.customer(clock)
    sub = s.subscribe(customer, s.price(2500))
    s.decline(pm, "insufficient_funds")
    s.advance(clock, days=31, seconds=3700)
    invoice = s.latest_invoice(sub["id"])
    assert invoice["status"] == "open" and invoice["next_payment_attempt"] is not None
    assert s.get(f"/v1/subscriptions/{sub['id']}")["status"] == "past_due"
    return customer, pm, sub, invoice


def test_deleting_a_customer_cancels_its_subscriptions_and_stops_retries(s: Scenario) -> None:
    clock = s.clock(T0)
    customer, _pm, sub, invoice = _past_due(s, clock)
    other = s.subscribe(customer, s.price(900), trial_period_days=7)
    s.client.v1.customers.delete(customer)
    for sub_id in (sub["id"], other["id"]):
        ended = s.get(f"/v1/subscriptions/{sub_id}")
        assert ended["status"] == "canceled" and ended["canceled_at"] == ended["ended_at"]
        assert ended["cancellation_details"]["reason"] == "cancellation_requested"
    deleted = {e["data"]["object"]["id"] for e in s.events("customer.subscription.deleted")}
    assert deleted == {sub["id"], other["id"]}
    types = [e["type"] for e in s.events()]
    # The subscriptions end before the customer goes, as on Stripe.
    assert types.index("customer.subscription.deleted") < types.index("customer.deleted")
    after = s.get(f"/v1/invoices/{invoice['id']}")
    assert after["next_payment_attempt"] is None and after["auto_advance"] is False
    charges = len(s.get("/v1/charges", customer=customer)["data"])
    s.advance(clock, days=20)  # past every retry the schedule had
    assert s.get(f"/v1/invoices/{invoice['id']}")["attempt_count"] == invoice["attempt_count"]
    assert len(s.get("/v1/charges", customer=customer)["data"]) == charges
    assert not [e for e in s.events("invoice.created") if e["created"] > T0 + 32 * DAY]


def test_deleting_a_test_clock_cancels_its_customers_subscriptions(s: Scenario) -> None:
    clock = s.clock(T0)
    customer, _pm, sub, invoice = _past_due(s, clock)
    s.client.v1.test_helpers.test_clocks.delete(clock)
    assert s.get(f"/v1/subscriptions/{sub['id']}")["status"] == "canceled"
    assert s.get(f"/v1/customers/{customer}")["deleted"] is True
    types = {e["type"] for e in s.events()}
    assert {"customer.subscription.deleted", "customer.deleted"} <= types
    assert "test_helpers.test_clock.deleted" in types
    assert s.get(f"/v1/invoices/{invoice['id']}")["next_payment_attempt"] is None


def test_a_detached_card_is_nobodys_default_and_is_never_charged(s: Scenario) -> None:
    clock = s.clock(T0)
    customer, pm = s.customer(clock)
    sub = s.subscribe(customer, s.price(2500), default_payment_method=pm)
    assert sub["default_payment_method"] == pm
    s.client.v1.payment_methods.detach(pm)
    after = s.get(f"/v1/subscriptions/{sub['id']}")
    assert after["default_payment_method"] is None
    updated = s.events("customer.subscription.updated")[-1]
    assert updated["data"]["previous_attributes"] == {"default_payment_method": pm}
    assert s.get(f"/v1/customers/{customer}")["invoice_settings"]["default_payment_method"] is None
    charges = len(s.get("/v1/charges", customer=customer)["data"])
    s.advance(clock, days=31, seconds=3700)
    invoice = s.latest_invoice(sub["id"])
    # The renewal fails for want of a payment method: no charge on the detached card.
    assert invoice["status"] == "open" and invoice["attempt_count"] == 1
    assert len(s.get("/v1/charges", customer=customer)["data"]) == charges
    assert s.events("invoice.payment_failed")

    # Paying with it, or making it a default again, answers Stripe's 400s.
    status, body = s.post(f"/v1/invoices/{invoice['id']}/pay", {"payment_method": pm})
    assert status == 400 and body["error"]["param"] == "payment_method"
    assert "detached from a Customer" in body["error"]["message"]
    status, body = s.post(f"/v1/invoices/{invoice['id']}/pay")
    assert status == 400 and "default_payment_method" in body["error"]["message"]
    status, body = s.post(f"/v1/subscriptions/{sub['id']}", {"default_payment_method": pm})
    assert status == 400 and body["error"]["param"] == "default_payment_method"
    assert body["error"]["message"] == (
        f"The customer does not have a payment method with the ID {pm}. The payment method "
        "must be attached to the customer."
    )
    status, body = s.post(f"/v1/payment_methods/{pm}/attach", {"customer": customer})
    assert status == 400 and "may not be used again" in body["error"]["message"]
    status, body = s.post(
        "/v1/payment_intents",
        {"amount": "900", "currency": "usd", "payment_method": pm, "confirm": "true"},
    )
    assert status == 400 and body["error"]["type"] == "invalid_request_error"
    assert len(s.get("/v1/charges", customer=customer)["data"]) == charges


def test_paying_with_another_customers_card_is_refused(s: Scenario) -> None:
    clock = s.clock(T0)
    _customer, _pm, _sub, invoice = _past_due(s, clock)
    _stranger, stranger_pm = s.customer(clock, email="stranger@example.test")
    status, body = s.post(f"/v1/invoices/{invoice['id']}/pay", {"payment_method": stranger_pm})
    assert status == 400 and body["error"]["param"] == "payment_method"
    assert "must be attached to the customer" in body["error"]["message"]
    assert s.get(f"/v1/invoices/{invoice['id']}")["attempt_count"] == invoice["attempt_count"]
