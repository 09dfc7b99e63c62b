"""Checkout Sessions (subscription mode): create, retrieve, list, expire, the hosted page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import stripe
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from sandbox.billing.scenario import Scenario
from sandbox.conformance import check_object
from sandbox.testing import WebhookReceiver, running_sandbox

T0 = 1_767_225_600


@pytest.fixture
def s() -> Iterator[Scenario]:
    with running_sandbox(seed="checkout", frozen_time=T0) as sb:
        yield Scenario(sb)


def _session(s: Scenario, customer: str, price: str, **extra: str) -> dict:
    status, session = s.post(
        "/v1/checkout/sessions",
        {
            "mode": "subscription",
            "customer": customer,
            "line_items[0][price]": price,
            "line_items[0][quantity]": "2",
            "success_url": "https://shop.example.test/thanks?session={CHECKOUT_SESSION_ID}",
            "cancel_url": "https://shop.example.test/back",
            "metadata[source]": "winback",
            **extra,
        },
    )
    assert status == 200, session
    return session


def test_a_session_conforms_and_paying_it_creates_the_subscription(s: Scenario) -> None:
    receiver = WebhookReceiver()
    try:
        s.client.v1.webhook_endpoints.create(params={"url": receiver.url, "enabled_events": ["*"]})
        clock = s.clock(T0)
        customer, _ = s.customer(clock, email="ada@example.test", name="Ada")
        price = s.price(1500)
        session = _session(s, customer, price)
        assert check_object(session) == []
        assert (session["status"], session["payment_status"]) == ("open", "unpaid")
        assert session["amount_total"] == 3000 and session["customer"] == customer
        assert session["id"].startswith("cs_test_") and session["url"]
        # The SDK reads it back as a checkout.Session.
        again = s.client.v1.checkout.sessions.retrieve(session["id"])
        assert isinstance(again, stripe.checkout.Session) and again.mode == "subscription"

        page = HTMLParser(s.sb.http.get(session["url"]).text)
        total = page.css_first("#total")
        assert total is not None and total.text() == "30.00 USD"
        refused = s.sb.http.post(
            session["url"],
            data={"number": "4000000000000002", "exp_month": "12", "exp_year": "2034"},
        )
        assert refused.status_code == 200 and "declined" in refused.text
        assert s.get(f"/v1/checkout/sessions/{session['id']}")["status"] == "open"

        paid = s.sb.http.post(
            session["url"],
            data={"number": "4242424242424242", "exp_month": "12", "exp_year": "2034"},
        )
        assert paid.status_code == 303
        assert paid.headers["location"] == (
            f"https://shop.example.test/thanks?session={session['id']}"
        )
        done = s.get(f"/v1/checkout/sessions/{session['id']}")
        assert check_object(done) == []
        assert (done["status"], done["payment_status"]) == ("complete", "paid")
        sub = s.get(f"/v1/subscriptions/{done['subscription']}")
        assert sub["status"] == "active" and sub["customer"] == customer
        assert sub["test_clock"] == clock
        assert [(i["price"]["id"], i["quantity"]) for i in sub["items"]["data"]] == [(price, 2)]
        assert s.get(f"/v1/invoices/{done['invoice']}")["status"] == "paid"

        s.sb.wait_for_deliveries()
        types = [e["type"] for e in s.events()]
        assert "checkout.session.completed" in types and "customer.subscription.created" in types
        completed = s.events("checkout.session.completed")[-1]
        assert completed["data"]["object"]["subscription"] == sub["id"]
        assert check_object(completed) == []
        listed = s.get("/v1/checkout/sessions", customer=customer)["data"]
        assert [x["id"] for x in listed] == [session["id"]]
        # A completed session's page says so; it cannot be paid twice.
        assert (
            "complete" in s.sb.http.get(f"/_sandbox/checkout/{s.sb.platform_id}/{done['id']}").text
        )
    finally:
        receiver.close()


def test_customer_email_sessions_create_the_customer(s: Scenario) -> None:
    price = s.price(900)
    status, session = s.post(
        "/v1/checkout/sessions",
        {
            "mode": "subscription",
            "customer_email": "new@example.test",
            "line_items[0][price]": price,
            "success_url": "https://shop.example.test/ok",
        },
    )
    assert status == 200 and session["customer"] is None
    s.sb.http.post(
        session["url"], data={"number": "4242424242424242", "exp_month": "1", "exp_year": "2035"}
    )
    done = s.get(f"/v1/checkout/sessions/{session['id']}")
    assert done["customer"] and done["customer_details"]["email"] == "new@example.test"


def test_errors_and_expiry(s: Scenario) -> None:
    customer, _ = s.customer(None)
    price = s.price(900)
    status, body = s.post(
        "/v1/checkout/sessions",
        {"mode": "payment", "line_items[0][price]": price, "success_url": "https://x.test"},
    )
    assert status == 400 and body["error"]["param"] == "mode"
    status, body = s.post(
        "/v1/checkout/sessions",
        {
            "mode": "subscription",
            "line_items[0][price]": "price_nope",
            "success_url": "https://x.test",
        },
    )
    assert status == 404 and body["error"]["param"] == "line_items[0][price]"
    session = _session(s, customer, price)
    status, expired = s.post(f"/v1/checkout/sessions/{session['id']}/expire")
    assert status == 200 and expired["status"] == "expired" and expired["url"] is None
    status, body = s.post(f"/v1/checkout/sessions/{session['id']}/expire")
    assert status == 400
    status, body = s.post("/v1/checkout/sessions/cs_test_missing/expire")
    assert status == 404
