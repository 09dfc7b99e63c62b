"""Billing Portal: sessions, the hosted page, and a card update that pays the open invoice."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from sandbox.billing.scenario import Scenario
from sandbox.conformance import check_object
from sandbox.testing import running_sandbox

T0 = 1_767_225_600


@pytest.fixture
def s() -> Iterator[Scenario]:
    with running_sandbox(seed="portal", frozen_time=T0) as sb:
        yield Scenario(sb)


def _past_due(s: Scenario) -> tuple[str, str, str, dict]:
    clock = s.clock(T0)
    customer, pm = s.customer(clock, name="Ada Lovelace")
    sub = s.subscribe(customer, s.price(1900), default_payment_method=pm)
    s.decline(pm, "expired_card", code="expired_card")
    s.advance(clock, days=31, seconds=3700)
    return clock, customer, pm, sub


def _session(s: Scenario, customer: str) -> dict:
    status, session = s.post(
        "/v1/billing_portal/sessions",
        {
            "customer": customer,
            "return_url": "https://app.example.test/account",
            "flow_data[type]": "payment_method_update",
            "flow_data[after_completion][type]": "redirect",
            "flow_data[after_completion][redirect][return_url]": "https://app.example.test/done",
        },
    )
    assert status == 200, session
    return session


def test_session_shape_and_configuration(s: Scenario) -> None:
    customer, _ = s.customer(None)
    session = _session(s, customer)
    assert session["object"] == "billing_portal.session"
    assert session["flow"]["type"] == "payment_method_update"
    assert (
        session["flow"]["after_completion"]["redirect"]["return_url"]
        == "https://app.example.test/done"
    )
    assert session["return_url"] == "https://app.example.test/account"
    config = s.get(f"/v1/billing_portal/configurations/{session['configuration']}")
    assert (
        config["is_default"] is True
        and config["features"]["payment_method_update"]["enabled"] is True
    )
    status, body = s.post("/v1/billing_portal/sessions", {"customer": "cus_missing"})
    assert status == 404 and body["error"]["code"] == "resource_missing"
    status, body = s.post(
        "/v1/billing_portal/sessions", {"customer": customer, "flow_data[type]": "nope"}
    )
    assert status == 400 and body["error"]["param"] == "flow_data[type]"


def test_card_update_in_the_portal_pays_the_open_invoice(s: Scenario) -> None:
    clock, customer, old_pm, sub = _past_due(s)
    open_invoice = s.events("invoice.payment_failed")[-1]["data"]["object"]
    session = _session(s, customer)
    page = HTMLParser(s.sb.http.get(session["url"]).text)
    assert "visa •••• 4242" in page.css_first("#payment-method").text()
    assert [n.text() for n in page.css(".invoice-status")] == ["open", "paid"]
    before = len(s.events())

    # A card that is refused outright: nothing changes.
    rejected = HTMLParser(
        s.sb.http.post(
            session["url"],
            data={
                "action": "update_payment_method",
                "number": "4242424242424241",
                "exp_month": "4",
                "exp_year": "2031",
            },
        ).text
    )
    assert "Your card number is incorrect." in rejected.css_first(".error").text()
    assert len(s.events()) == before

    done = HTMLParser(
        s.sb.http.post(
            session["url"],
            data={
                "action": "update_payment_method",
                "number": "5555555555554444",
                "exp_month": "4",
                "exp_year": "2031",
                "cvc": "123",
            },
        ).text
    )
    assert "Payment method updated." in done.text()
    assert done.css_first("#continue").attributes["href"] == "https://app.example.test/done"
    assert f"Invoice {open_invoice['number']} paid." in done.text()
    assert "mastercard •••• 4444" in done.css_first("#payment-method").text()

    new_events = [e["type"] for e in s.events()[before:]]
    assert new_events.index("payment_method.attached") < new_events.index("customer.updated")
    assert new_events.index("customer.updated") < new_events.index("invoice.paid")
    customer_obj = s.get(f"/v1/customers/{customer}")
    new_pm = customer_obj["invoice_settings"]["default_payment_method"]
    assert new_pm != old_pm and s.get(f"/v1/payment_methods/{new_pm}")["customer"] == customer
    assert s.get(f"/v1/subscriptions/{sub['id']}")["default_payment_method"] == new_pm
    paid = s.get(f"/v1/invoices/{open_invoice['id']}")
    assert paid["status"] == "paid" and paid["attempt_count"] == open_invoice["attempt_count"] + 1
    assert s.get(f"/v1/subscriptions/{sub['id']}")["status"] == "active"
    # Retries stop: nothing more is attempted on the paid invoice.
    s.advance(clock, days=15)
    assert s.get(f"/v1/invoices/{open_invoice['id']}")["attempt_count"] == paid["attempt_count"]


def test_portal_card_update_with_a_declining_card_keeps_the_invoice_open(s: Scenario) -> None:
    _clock, customer, _old_pm, _sub = _past_due(s)
    session = _session(s, customer)
    page = HTMLParser(
        s.sb.http.post(
            session["url"],
            data={
                "action": "update_payment_method",
                "number": "4000000000000341",
                "exp_month": "4",
                "exp_year": "2031",
            },
        ).text
    )
    assert "Your card was declined." in page.css_first(".error").text()
    assert next(n.text() for n in page.css(".invoice-status")) == "open"
    assert s.events("payment_method.attached")


def test_portal_cancel_at_period_end(s: Scenario) -> None:
    clock = s.clock(T0)
    customer, _ = s.customer(clock)
    sub = s.subscribe(customer, s.price(1000))
    session = _session(s, customer)
    s.sb.http.post(
        session["url"], data={"action": "cancel_subscription", "subscription": sub["id"]}
    )
    assert s.get(f"/v1/subscriptions/{sub['id']}")["cancel_at_period_end"] is True
    s.advance(clock, days=32)
    assert s.get(f"/v1/subscriptions/{sub['id']}")["status"] == "canceled"


def test_flow_data_for_every_flow_is_returned_as_stripe_shapes_it(s: Scenario) -> None:
    customer, _ = s.customer(None)
    price = s.price(1000)
    sub = s.subscribe(customer, price)
    item = sub["items"]["data"][0]["id"]
    confirm = {
        "subscription": sub["id"],
        "items": [{"id": item, "price": price, "quantity": 2}],
        "discounts": [{"coupon": "SAVE10"}],
    }
    retention = {"type": "coupon_offer", "coupon_offer": {"coupon": "STAY"}}
    flows: list[dict[str, Any]] = [
        {"type": "subscription_update", "subscription_update": {"subscription": sub["id"]}},
        {"type": "subscription_update_confirm", "subscription_update_confirm": confirm},
        {"type": "subscription_pause", "subscription_pause": {"subscription": sub["id"]}},
        {
            "type": "subscription_cancel",
            "subscription_cancel": {"subscription": sub["id"], "retention": retention},
        },
        {"type": "customer_update"},
    ]
    keys = {
        "after_completion",
        "customer_update",
        "subscription_cancel",
        "subscription_pause",
        "subscription_update",
        "subscription_update_confirm",
        "type",
    }
    for flow_data in flows:
        session = s.client.v1.billing_portal.sessions.create(
            params={"customer": customer, "flow_data": flow_data}
        )
        assert check_object(session.to_dict()) == []
        flow = session.to_dict()["flow"]
        kind = flow_data["type"]
        assert flow["type"] == kind and set(flow) == keys
        assert all(flow[key] is None for key in keys - {"after_completion", "type", kind})
        assert flow["after_completion"]["type"] == "portal_homepage"
        if kind in flow_data:
            assert flow[kind]["subscription"] == sub["id"]
    last = s.client.v1.billing_portal.sessions.create(
        params={"customer": customer, "flow_data": flows[1]}
    )
    shown = last.to_dict()["flow"]["subscription_update_confirm"]
    assert shown["items"] == [{"id": item, "price": price, "quantity": 2}]
    assert shown["discounts"] == [{"coupon": "SAVE10", "promotion_code": None}]
    cancel = s.client.v1.billing_portal.sessions.create(
        params={"customer": customer, "flow_data": flows[3]}
    )
    assert cancel.to_dict()["flow"]["subscription_cancel"]["retention"] == retention
    status, body = s.post(
        "/v1/billing_portal/sessions",
        {"customer": customer, "flow_data[type]": "subscription_update"},
    )
    assert status == 400 and body["error"]["param"] == "flow_data[subscription_update]"
    other, _ = s.customer(None, email="other@example.test")
    status, body = s.post(
        "/v1/billing_portal/sessions",
        {
            "customer": other,
            "flow_data[type]": "subscription_pause",
            "flow_data[subscription_pause][subscription]": sub["id"],
        },
    )
    assert status == 404
    assert body["error"]["param"] == "flow_data[subscription_pause][subscription]"
