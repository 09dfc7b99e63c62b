"""Coupons on subscriptions: ``discounts[][coupon]``, what they take off each invoice, and
when they end — in Stripe's 2025+ shapes (checked against the SDK)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.billing.scenario import Scenario
from sandbox.conformance import check_object
from sandbox.testing import running_sandbox

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z


@pytest.fixture
def s() -> Iterator[Scenario]:
    with running_sandbox(seed="discounts", frozen_time=T0) as sb:
        yield Scenario(sb)


def _coupon(s: Scenario, **params: object) -> str:
    return str(s.client.v1.coupons.create(params=params).id)


def test_a_once_coupon_discounts_the_first_invoice_only(s: Scenario) -> None:
    coupon = _coupon(s, percent_off=20, duration="once")
    clock = s.clock(T0)
    customer, _pm = s.customer(clock)
    sub = s.subscribe(customer, s.price(2500), discounts=[{"coupon": coupon}])
    assert len(sub["discounts"]) == 1 and sub["discounts"][0].startswith("di_")
    expanded = s.get(f"/v1/subscriptions/{sub['id']}", **{"expand[]": "discounts"})
    discount = expanded["discounts"][0]
    assert discount["object"] == "discount" and discount["source"] == {
        "coupon": coupon,
        "type": "coupon",
    }
    assert discount["subscription"] == sub["id"] and discount["customer"] == customer
    assert discount["start"] == T0 and discount["end"] is None
    assert not check_object(expanded), check_object(expanded)
    invoice = s.get(f"/v1/invoices/{sub['latest_invoice']}", **{"expand[]": "discounts"})
    assert not check_object(invoice), check_object(invoice)
    assert (invoice["subtotal"], invoice["total"], invoice["amount_paid"]) == (2500, 2000, 2000)
    assert invoice["total_discount_amounts"] == [{"amount": 500, "discount": discount["id"]}]
    assert [d["id"] for d in invoice["discounts"]] == [discount["id"]]
    line = invoice["lines"]["data"][0]
    assert line["amount"] == 2500
    assert line["discount_amounts"] == [{"amount": 500, "discount": discount["id"]}]
    assert s.get(f"/v1/charges/{_charge_of(s, customer)}")["amount"] == 2000
    assert s.get(f"/v1/coupons/{coupon}")["times_redeemed"] == 1
    assert [e["data"]["object"]["id"] for e in s.events("customer.discount.created")] == [
        discount["id"]
    ]

    s.advance(clock, days=31, seconds=3700)
    renewal = s.latest_invoice(sub["id"])
    assert renewal["id"] != invoice["id"]
    assert (renewal["total"], renewal["total_discount_amounts"], renewal["discounts"]) == (
        2500,
        [],
        [],
    )
    assert s.get(f"/v1/subscriptions/{sub['id']}")["discounts"] == []
    deleted = s.events("customer.discount.deleted")
    assert [e["data"]["object"]["id"] for e in deleted] == [discount["id"]]
    renewed = [
        e
        for e in s.events("customer.subscription.updated")
        if "discounts" in e["data"].get("previous_attributes", {})
    ]
    assert renewed and renewed[-1]["data"]["previous_attributes"]["discounts"] == [discount["id"]]


def _charge_of(s: Scenario, customer: str) -> str:
    return str(s.get("/v1/charges", customer=customer)["data"][0]["id"])


def test_a_repeating_amount_off_coupon_added_later_lasts_its_months(s: Scenario) -> None:
    coupon = _coupon(s, amount_off=1000, currency="usd", duration="repeating", duration_in_months=2)
    clock = s.clock(T0)
    customer, _pm = s.customer(clock)
    sub = s.subscribe(customer, s.price(2500))
    s.advance(clock, days=1)  # the discount starts a day into the first period
    status, updated = s.post(f"/v1/subscriptions/{sub['id']}", {"discounts[0][coupon]": coupon})
    assert status == 200 and len(updated["discounts"]) == 1
    event = s.events("customer.subscription.updated")[-1]
    assert event["data"]["previous_attributes"] == {"discounts": []}
    status, preview = s.post("/v1/invoices/create_preview", {"subscription": sub["id"]})
    assert status == 200 and preview["total"] == 1500
    totals = []
    for _ in range(3):
        s.advance(clock, days=31, seconds=3700)
        totals.append(s.latest_invoice(sub["id"])["total"])
    assert totals == [1500, 1500, 2500]
    # Keeping a discount by id, then clearing them all.
    discount = updated["discounts"][0]
    status, body = s.post(f"/v1/subscriptions/{sub['id']}", {"discounts": ""})
    assert status == 200 and body["discounts"] == []
    assert discount in {e["data"]["object"]["id"] for e in s.events("customer.discount.deleted")}


def test_a_forever_percent_coupon_is_split_over_the_lines(s: Scenario) -> None:
    coupon = _coupon(s, percent_off=10, duration="forever")
    clock = s.clock(T0)
    customer, _pm = s.customer(clock)
    created = s.client.v1.subscriptions.create(
        params={
            "customer": customer,
            "items": [{"price": s.price(2500)}, {"price": s.price(1005)}],
            "discounts": [{"coupon": coupon}],
        }
    )
    invoice = s.get(f"/v1/invoices/{created.latest_invoice}")
    assert invoice["subtotal"] == 3505 and invoice["total"] == 3154  # 350.5 rounds half up
    shares = [line["discount_amounts"][0]["amount"] for line in invoice["lines"]["data"]]
    assert sum(shares) == 351 and all(share > 0 for share in shares)
    s.advance(clock, days=31, seconds=3700)
    assert s.latest_invoice(created.id)["total"] == 3154


def test_bad_discounts_answer_stripes_errors(s: Scenario) -> None:
    clock = s.clock(T0)
    customer, _pm = s.customer(clock)
    price = s.price(2500)
    base = {"customer": customer, "items[0][price]": price}
    status, body = s.post("/v1/subscriptions", {**base, "discounts[0][coupon]": "nope"})
    assert status == 404 and body["error"]["param"] == "discounts[0][coupon]"
    # The pinned API version has no top-level `coupon` any more.
    status, body = s.post("/v1/subscriptions", {**base, "coupon": "nope"})
    assert status == 400 and body["error"]["code"] == "parameter_unknown"
    euros = _coupon(s, amount_off=500, currency="eur", duration="once")
    status, body = s.post("/v1/subscriptions", {**base, "discounts[0][coupon]": euros})
    assert status == 400 and body["error"]["param"] == "discounts[0][coupon]"
    limited = _coupon(s, percent_off=5, duration="once", max_redemptions=1)
    status, _ = s.post("/v1/subscriptions", {**base, "discounts[0][coupon]": limited})
    assert status == 200
    status, body = s.post("/v1/subscriptions", {**base, "discounts[0][coupon]": limited})
    assert status == 400 and "no longer valid" in body["error"]["message"]


def test_a_trial_keeps_a_once_coupon_for_the_first_paid_invoice(s: Scenario) -> None:
    coupon = _coupon(s, percent_off=50, duration="once")
    clock = s.clock(T0)
    customer, _pm = s.customer(clock)
    sub = s.subscribe(customer, s.price(2500), trial_period_days=7, discounts=[{"coupon": coupon}])
    trial_invoice = s.get(f"/v1/invoices/{sub['latest_invoice']}")
    assert trial_invoice["total"] == 0 and trial_invoice["discounts"] == []
    s.advance(clock, days=7, seconds=3700)
    assert s.latest_invoice(sub["id"])["total"] == 1250
