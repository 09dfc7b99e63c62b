"""``POST /v1/invoices/{id}/pay``, hosted invoice page, 3D Secure, refunds, card updater."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from sandbox.billing.scenario import Scenario
from sandbox.testing import running_sandbox

T0 = 1_767_225_600


@pytest.fixture
def s() -> Iterator[Scenario]:
    with running_sandbox(seed="pay", frozen_time=T0) as sb:
        yield Scenario(sb)


def _open_invoice(
    s: Scenario, decline_code: str = "insufficient_funds"
) -> tuple[str, str, str, dict]:
    clock = s.clock(T0)
    customer, pm = s.customer(clock)
    s.subscribe(customer, s.price(4200))
    s.decline(pm, decline_code)
    s.advance(clock, days=31, seconds=3700)
    invoice = s.events("invoice.payment_failed")[-1]["data"]["object"]
    return clock, customer, pm, invoice


def test_pay_with_declining_card_is_a_402_card_error_and_updates_the_invoice(s: Scenario) -> None:
    _, _customer, _pm, invoice = _open_invoice(s)
    status, body = s.post(f"/v1/invoices/{invoice['id']}/pay")
    assert status == 402
    error = body["error"]
    assert error["type"] == "card_error"
    assert error["code"] == "card_declined" and error["decline_code"] == "insufficient_funds"
    assert error["message"] == "Your card has insufficient funds."
    assert error["charge"].startswith("ch_")
    assert error["payment_intent"]["last_payment_error"]["decline_code"] == "insufficient_funds"
    after = s.get(f"/v1/invoices/{invoice['id']}")
    assert after["attempt_count"] == invoice["attempt_count"] + 1
    assert after["status"] == "open"
    # A manual attempt does not move the automatic retry schedule.
    assert after["next_payment_attempt"] == invoice["next_payment_attempt"]
    charge = s.get(f"/v1/charges/{error['charge']}")
    assert charge["status"] == "failed" and charge["outcome"]["reason"] == "insufficient_funds"


def test_pay_is_idempotent(s: Scenario) -> None:
    _, customer, _pm, invoice = _open_invoice(s)
    first = s.post(f"/v1/invoices/{invoice['id']}/pay", idempotency_key="pay-1")
    second = s.post(f"/v1/invoices/{invoice['id']}/pay", idempotency_key="pay-1")
    assert first == second and first[0] == 402
    assert s.get(f"/v1/invoices/{invoice['id']}")["attempt_count"] == invoice["attempt_count"] + 1
    status, body = s.post(
        f"/v1/invoices/{invoice['id']}/pay", {"off_session": "true"}, idempotency_key="pay-1"
    )
    assert status == 400 and body["error"]["type"] == "idempotency_error"
    # Paying with a good card succeeds once; replaying the same key replays the success.
    good = s.client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer})
    ok = s.post(
        f"/v1/invoices/{invoice['id']}/pay", {"payment_method": good.id}, idempotency_key="pay-2"
    )
    again = s.post(
        f"/v1/invoices/{invoice['id']}/pay", {"payment_method": good.id}, idempotency_key="pay-2"
    )
    assert ok[0] == 200 and ok == again
    assert (
        ok[1]["status"] == "paid"
        and ok[1]["amount_paid"] == 4200
        and ok[1]["amount_remaining"] == 0
    )
    assert len(s.events("invoice.paid")) == 2  # the first invoice and this one, once
    status, body = s.post(f"/v1/invoices/{invoice['id']}/pay")
    assert status == 400 and body["error"]["type"] == "invalid_request_error"


def test_paying_restores_the_subscription_and_stops_retries(s: Scenario) -> None:
    clock, customer, pm, invoice = _open_invoice(s)
    sub_id = invoice["parent"]["subscription_details"]["subscription"]
    assert s.get(f"/v1/subscriptions/{sub_id}")["status"] == "past_due"
    assert s.get(f"/v1/customers/{customer}")["delinquent"] is True
    s.approve(pm)
    status, paid = s.post(f"/v1/invoices/{invoice['id']}/pay")
    assert status == 200 and paid["status"] == "paid" and paid["next_payment_attempt"] is None
    assert s.get(f"/v1/subscriptions/{sub_id}")["status"] == "active"
    assert s.get(f"/v1/customers/{customer}")["delinquent"] is False
    payments = s.get(f"/v1/invoices/{invoice['id']}", **{"expand[]": "payments"})["payments"]
    assert payments["data"][0]["status"] == "paid" and payments["data"][0]["amount_paid"] == 4200
    s.advance(clock, days=10)
    assert s.get(f"/v1/invoices/{invoice['id']}")["attempt_count"] == 2


def test_hosted_invoice_page_pays_with_a_new_card(s: Scenario) -> None:
    _, _customer, _pm, invoice = _open_invoice(s)
    url = invoice["hosted_invoice_url"]
    page = HTMLParser(s.sb.http.get(url).text)
    assert page.css_first("#status").text() == "open"
    declined = HTMLParser(
        s.sb.http.post(
            url,
            data={
                "action": "pay",
                "number": "4000000000000002",
                "exp_month": "12",
                "exp_year": "2030",
            },
        ).text
    )
    assert "Your card was declined." in declined.css_first(".error").text()
    paid = HTMLParser(
        s.sb.http.post(
            url,
            data={
                "action": "pay",
                "number": "4242424242424242",
                "exp_month": "12",
                "exp_year": "2030",
            },
        ).text
    )
    assert paid.css_first("#status").text() == "paid"
    assert s.get(f"/v1/invoices/{invoice['id']}")["status"] == "paid"


def test_authentication_required_is_completed_on_the_hosted_page(s: Scenario) -> None:
    clock = s.clock(T0)
    customer, pm = s.customer(clock)
    sub = s.subscribe(customer, s.price(1500))
    s.require_authentication(pm)
    s.advance(clock, days=31, seconds=3700)
    assert s.events("invoice.payment_action_required")
    invoice = s.events("invoice.payment_failed")[-1]["data"]["object"]
    intent = s.get("/v1/payment_intents", customer=customer)["data"][0]
    assert intent["status"] == "requires_action"
    assert intent["last_payment_error"]["code"] == "authentication_required"
    page = HTMLParser(
        s.sb.http.post(invoice["hosted_invoice_url"], data={"action": "authenticate"}).text
    )
    assert page.css_first("#status").text() == "paid"
    assert s.get(f"/v1/payment_intents/{intent['id']}")["status"] == "succeeded"
    assert s.get(f"/v1/subscriptions/{sub['id']}")["status"] == "active"


def test_payment_intent_confirm_and_refund(s: Scenario) -> None:
    customer, pm = s.customer(None)
    status, intent = s.post(
        "/v1/payment_intents",
        {
            "amount": "5000",
            "currency": "eur",
            "customer": customer,
            "payment_method": pm,
            "confirm": "true",
        },
    )
    assert status == 200 and intent["status"] == "succeeded"
    charge_id = intent["latest_charge"]
    status, refund = s.post(
        "/v1/refunds", {"charge": charge_id, "amount": "2000", "reason": "requested_by_customer"}
    )
    assert status == 200 and refund["amount"] == 2000 and refund["status"] == "succeeded"
    charge = s.get(f"/v1/charges/{charge_id}")
    assert charge["amount_refunded"] == 2000 and charge["refunded"] is False
    refunded = s.events("charge.refunded")
    assert refunded[-1]["data"]["previous_attributes"] == {"amount_refunded": 0, "refunded": False}
    status, _body = s.post("/v1/refunds", {"charge": charge_id, "amount": "4000"})
    assert status == 400
    status, declined = s.post(
        "/v1/payment_intents",
        {
            "amount": "5000",
            "currency": "eur",
            "payment_method": "pm_card_chargeDeclinedFraudulent",
            "confirm": "true",
        },
    )
    assert status == 402 and declined["error"]["decline_code"] == "fraudulent"
    failed = s.get(f"/v1/charges/{declined['error']['charge']}")
    assert failed["outcome"]["type"] == "blocked" and failed["outcome"]["risk_level"] == "highest"


def test_card_account_updater_helper(s: Scenario) -> None:
    clock = s.clock(T0)
    customer, pm = s.customer(clock)
    s.subscribe(customer, s.price(1000))
    s.decline(pm, "expired_card", code="expired_card")
    response = s.sb.http.post(
        f"/_sandbox/payment_methods/{pm}/automatic_update", json={"exp_year": 2031, "exp_month": 8}
    )
    assert response.status_code == 200
    event = s.events("payment_method.automatically_updated")[-1]
    assert event["data"]["object"]["card"]["exp_year"] == 2031
    assert event["data"]["previous_attributes"]["card"]["exp_month"] != 8
    s.advance(clock, days=31, seconds=3700)
    assert not s.events("invoice.payment_failed")  # the updated card charges fine


def test_invoice_payments_lead_from_an_intent_back_to_its_invoice(s: Scenario) -> None:
    _, customer, _pm, invoice = _open_invoice(s)
    intent = s.get("/v1/payment_intents", customer=customer)["data"][0]
    found = s.get(
        "/v1/invoice_payments",
        **{"payment[type]": "payment_intent", "payment[payment_intent]": intent["id"]},
    )
    assert [p["invoice"] for p in found["data"]] == [invoice["id"]]
    assert found["data"][0]["status"] == "open"
    none = s.get(
        "/v1/invoice_payments",
        **{"payment[type]": "payment_intent", "payment[payment_intent]": "pi_x"},
    )
    assert none["data"] == []


def test_an_uncollectible_invoice_can_still_be_paid(s: Scenario) -> None:
    _, _customer, pm, invoice = _open_invoice(s)
    status, marked = s.post(f"/v1/invoices/{invoice['id']}/mark_uncollectible")
    assert status == 200 and marked["status"] == "uncollectible"
    status, _body = s.post(f"/v1/invoices/{invoice['id']}/pay")
    assert status == 402
    assert s.get(f"/v1/invoices/{invoice['id']}")["status"] == "uncollectible"
    s.approve(pm)
    status, paid = s.post(f"/v1/invoices/{invoice['id']}/pay")
    assert status == 200 and paid["status"] == "paid"
    assert paid["status_transitions"]["marked_uncollectible_at"] is not None
