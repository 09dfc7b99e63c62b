"""The billing engine over HTTP: failed renewals, Smart-Retries-like schedule, end states."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.billing.scenario import DAY, Scenario
from sandbox.testing import running_sandbox

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z


@pytest.fixture
def s() -> Iterator[Scenario]:
    with running_sandbox(seed="billing", frozen_time=T0) as sb:
        yield Scenario(sb)


def _failing_renewal(s: Scenario, decline_code: str) -> tuple[str, str, Scenario, dict]:
    clock = s.clock(T0)
    customer, pm = s.customer(clock)
    sub = s.subscribe(customer, s.price(2500))
    assert sub["status"] == "active"
    s.decline(pm, decline_code)
    s.advance(clock, days=31, seconds=3600 + 60)  # renewal draft + ~1 h to finalise and charge
    return clock, customer, s, sub


def test_failing_renewal_reports_decline_code_and_attempt_count(s: Scenario) -> None:
    _clock, customer, s, sub = _failing_renewal(s, "insufficient_funds")
    failed = s.events("invoice.payment_failed")
    assert len(failed) == 1
    invoice = failed[0]["data"]["object"]
    assert invoice["attempt_count"] == 1 and invoice["attempted"] is True
    assert invoice["billing_reason"] == "subscription_cycle"
    assert invoice["status"] == "open" and invoice["amount_remaining"] == 2500
    assert invoice["parent"]["subscription_details"]["subscription"] == sub["id"]
    assert invoice["next_payment_attempt"] is not None
    intent = s.get("/v1/payment_intents", customer=customer)["data"][0]
    assert intent["status"] == "requires_payment_method"
    assert intent["last_payment_error"]["decline_code"] == "insufficient_funds"
    assert intent["last_payment_error"]["code"] == "card_declined"
    charge = s.get(f"/v1/charges/{intent['latest_charge']}")
    assert charge["status"] == "failed" and charge["failure_code"] == "card_declined"
    assert charge["outcome"]["reason"] == "insufficient_funds"
    assert charge["outcome"]["type"] == "issuer_declined"
    assert charge["failure_message"] == "Your card has insufficient funds."
    assert s.get(f"/v1/subscriptions/{sub['id']}")["status"] == "past_due"
    updated = [
        e
        for e in s.events("customer.subscription.updated")
        if e["data"].get("previous_attributes", {}).get("status") == "active"
    ]
    assert updated and updated[-1]["data"]["object"]["status"] == "past_due"


def test_retries_follow_the_schedule_on_the_test_clock(s: Scenario) -> None:
    s.settings(retries=3, retry_window_days=9)  # retries 3, 6 and 9 days after the failure
    clock, _customer, s, _sub = _failing_renewal(s, "generic_decline")
    first = s.events("invoice.payment_failed")[0]
    first_at = first["created"]
    invoice_id = first["data"]["object"]["id"]
    assert first["data"]["object"]["next_payment_attempt"] == first_at + 3 * DAY
    s.advance(clock, to=first_at + 3 * DAY - 60)
    assert s.get(f"/v1/invoices/{invoice_id}")["attempt_count"] == 1  # not yet
    s.advance(clock, to=first_at + 9 * DAY + 60)
    failures = s.events("invoice.payment_failed")
    assert [e["created"] - first_at for e in failures] == [0, 3 * DAY, 6 * DAY, 9 * DAY]
    assert [e["data"]["object"]["attempt_count"] for e in failures] == [1, 2, 3, 4]
    assert failures[-1]["data"]["object"]["next_payment_attempt"] is None
    assert [e["data"]["object"]["next_payment_attempt"] for e in failures[:-1]] == [
        first_at + 3 * DAY,
        first_at + 6 * DAY,
        first_at + 9 * DAY,
    ]


@pytest.mark.parametrize("decline_code", ["lost_card", "stolen_card", "authentication_required"])
def test_codes_smart_retries_never_retries_are_not_retried(s: Scenario, decline_code: str) -> None:
    clock, _customer, s, _sub = _failing_renewal(s, decline_code)
    failure = s.events("invoice.payment_failed")[-1]["data"]["object"]
    assert failure["next_payment_attempt"] is None
    s.advance(clock, days=20)
    invoice = s.get(f"/v1/invoices/{failure['id']}")
    assert invoice["attempt_count"] == 1
    assert len(s.events("invoice.payment_failed")) == 1


@pytest.mark.parametrize(
    ("behaviour", "outcome_type"),
    [
        # An issuer decline whose advice is do_not_try_again (the code alone is retryable).
        ({"outcome": "decline", "decline_code": "fraudulent"}, "issuer_declined"),
        # Radar blocked it before the network saw it (highest_risk_level).
        ({"outcome": "blocked", "decline_code": "fraudulent"}, "blocked"),
    ],
)
def test_outcomes_that_say_do_not_try_again_are_not_retried(
    s: Scenario, behaviour: dict, outcome_type: str
) -> None:
    clock = s.clock(T0)
    customer, pm = s.customer(clock)
    s.subscribe(customer, s.price(2500))
    s.sb.http.post(
        f"/_sandbox/payment_methods/{pm}/behaviour", json={**behaviour, "code": "card_declined"}
    ).raise_for_status()
    s.advance(clock, days=31, seconds=3700)
    failure = s.events("invoice.payment_failed")[-1]["data"]["object"]
    charge = s.get("/v1/charges", customer=customer)["data"][0]
    assert charge["outcome"]["type"] == outcome_type
    assert charge["outcome"]["advice_code"] == "do_not_try_again"
    assert failure["next_payment_attempt"] is None
    s.advance(clock, days=20)
    assert s.get(f"/v1/invoices/{failure['id']}")["attempt_count"] == 1
    assert len(s.events("invoice.payment_failed")) == 1


def test_retryable_code_is_retried(s: Scenario) -> None:
    _clock, _customer, s, _sub = _failing_renewal(s, "do_not_honor")
    failure = s.events("invoice.payment_failed")[-1]["data"]["object"]
    assert failure["next_payment_attempt"] is not None


@pytest.mark.parametrize(
    ("sub_end", "invoice_end", "expected_sub", "expected_invoice", "event"),
    [
        ("canceled", "open", "canceled", "open", "customer.subscription.deleted"),
        ("unpaid", "open", "unpaid", "open", None),
        ("past_due", "uncollectible", "past_due", "uncollectible", "invoice.marked_uncollectible"),
    ],
)
def test_end_state_after_last_retry(
    s: Scenario,
    sub_end: str,
    invoice_end: str,
    expected_sub: str,
    expected_invoice: str,
    event: str | None,
) -> None:
    s.settings(
        retries=2,
        retry_window_days=4,
        subscription_end_state=sub_end,
        invoice_end_state=invoice_end,
    )
    clock, _customer, s, sub = _failing_renewal(s, "insufficient_funds")
    invoice_id = s.events("invoice.payment_failed")[0]["data"]["object"]["id"]
    s.advance(clock, days=2)
    assert s.get(f"/v1/subscriptions/{sub['id']}")["status"] == "past_due"  # still retrying
    s.advance(clock, days=3)
    assert s.get(f"/v1/subscriptions/{sub['id']}")["status"] == expected_sub
    invoice = s.get(f"/v1/invoices/{invoice_id}")
    assert invoice["status"] == expected_invoice
    assert invoice["attempt_count"] == 3
    if event is not None:
        assert s.events(event)
    # Nothing more happens to a finished journey.
    s.advance(clock, days=10)
    assert s.get(f"/v1/invoices/{invoice_id}")["attempt_count"] == 3
    if expected_sub == "unpaid":
        # The next renewal is invoiced but left as a draft.
        s.advance(clock, days=20)
        assert (
            s.invoices(s.get(f"/v1/subscriptions/{sub['id']}")["customer"])[-1]["status"] == "draft"
        )


def test_expired_card_fails_with_expired_card_once_the_clock_passes_expiry(s: Scenario) -> None:
    clock = s.clock(T0)
    customer = s.client.v1.customers.create(params={"test_clock": clock})
    pm = s.client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4242424242424242", "exp_month": 1, "exp_year": 2026, "cvc": "123"},
        }
    )
    s.client.v1.payment_methods.attach(pm.id, params={"customer": customer.id})
    s.client.v1.customers.update(
        customer.id, params={"invoice_settings": {"default_payment_method": pm.id}}
    )
    sub = s.subscribe(customer.id, s.price(900))
    assert sub["status"] == "active"  # January: the card is still valid
    s.advance(clock, days=31, seconds=3700)
    invoice = s.events("invoice.payment_failed")[-1]["data"]["object"]
    intent = s.get("/v1/payment_intents", customer=customer.id)["data"][0]
    assert intent["last_payment_error"]["code"] == "expired_card"
    assert intent["last_payment_error"]["decline_code"] == "expired_card"
    assert invoice["attempt_count"] == 1


def test_upcoming_invoice_is_announced_before_renewal(s: Scenario) -> None:
    clock = s.clock(T0)
    customer, _ = s.customer(clock)
    sub = s.subscribe(customer, s.price(1200))
    renewal = sub["items"]["data"][0]["current_period_end"]
    s.advance(clock, days=29)
    upcoming = s.events("invoice.upcoming")
    assert len(upcoming) == 1
    assert upcoming[0]["created"] == renewal - 3 * DAY
    assert upcoming[0]["data"]["object"]["amount_due"] == 1200
    assert not s.events("invoice.payment_failed")


def test_successful_renewal_moves_the_item_period(s: Scenario) -> None:
    clock = s.clock(T0)
    customer, _ = s.customer(clock)
    sub = s.subscribe(customer, s.price(1200))
    end = sub["items"]["data"][0]["current_period_end"]
    s.advance(clock, days=32)
    current = s.get(f"/v1/subscriptions/{sub['id']}")
    item = current["items"]["data"][0]
    assert item["current_period_start"] == end
    assert current["status"] == "active"
    invoices = s.invoices(customer)
    assert [i["billing_reason"] for i in invoices] == ["subscription_create", "subscription_cycle"]
    assert [i["status"] for i in invoices] == ["paid", "paid"]
    # A renewal invoice's own period is the one that just ended; its line bills the next.
    assert invoices[1]["period_end"] == end
    assert invoices[1]["period_start"] == sub["items"]["data"][0]["current_period_start"]
    assert invoices[1]["lines"]["data"][0]["period"] == {
        "start": end,
        "end": item["current_period_end"],
    }
    assert s.get(f"/v1/subscription_items/{item['id']}")["current_period_start"] == end


def test_trial_then_first_charge(s: Scenario) -> None:
    clock = s.clock(T0)
    customer, _ = s.customer(clock)
    sub = s.subscribe(customer, s.price(3000), trial_period_days=14)
    assert sub["status"] == "trialing" and sub["trial_end"] == T0 + 14 * DAY
    assert s.get(f"/v1/invoices/{sub['latest_invoice']}")["amount_due"] == 0
    s.advance(clock, days=12)
    assert s.events("customer.subscription.trial_will_end")
    s.advance(clock, days=3)
    current = s.get(f"/v1/subscriptions/{sub['id']}")
    assert current["status"] == "active"
    assert s.get(f"/v1/invoices/{current['latest_invoice']}")["status"] == "paid"


def test_cancel_at_period_end_and_cancel_now(s: Scenario) -> None:
    clock = s.clock(T0)
    customer, _ = s.customer(clock)
    price = s.price(1000)
    later = s.subscribe(customer, price)
    now = s.subscribe(customer, price)
    s.client.v1.subscriptions.update(later["id"], params={"cancel_at_period_end": True})
    deleted = s.client.v1.subscriptions.cancel(now["id"])
    assert deleted.status == "canceled"
    s.advance(clock, days=32)
    ended = s.get(f"/v1/subscriptions/{later['id']}")
    assert ended["status"] == "canceled"
    assert ended["canceled_at"] is not None
    assert len(s.events("customer.subscription.deleted")) == 2
    assert len(s.invoices(customer)) == 2  # only the two first invoices


def test_pause_collection_voids_renewals(s: Scenario) -> None:
    clock = s.clock(T0)
    customer, _ = s.customer(clock)
    sub = s.subscribe(customer, s.price(1000))
    s.client.v1.subscriptions.update(sub["id"], params={"pause_collection": {"behavior": "void"}})
    s.advance(clock, days=32)
    invoices = s.invoices(customer)
    assert invoices[-1]["status"] == "void"
    assert s.events("invoice.voided")
    s.client.v1.subscriptions.update(sub["id"], params={"pause_collection": ""})
    assert s.get(f"/v1/subscriptions/{sub['id']}")["pause_collection"] is None


def test_first_invoice_failure_makes_the_subscription_incomplete(s: Scenario) -> None:
    clock = s.clock(T0)
    customer, _ = s.customer(clock, card="pm_card_chargeCustomerFail")
    sub = s.subscribe(customer, s.price(1000))
    assert sub["status"] == "incomplete"
    invoice = s.get(f"/v1/invoices/{sub['latest_invoice']}")
    assert invoice["status"] == "open" and invoice["next_payment_attempt"] is None
    s.advance(clock, days=1)
    assert s.get(f"/v1/subscriptions/{sub['id']}")["status"] == "incomplete_expired"
    assert s.get(f"/v1/invoices/{sub['latest_invoice']}")["status"] == "void"


def test_list_filters(s: Scenario) -> None:
    clock, customer, s, sub = _failing_renewal(s, "insufficient_funds")
    other, _ = s.customer(clock, email="other@example.test")
    s.subscribe(other, s.price(700))
    past_due = s.get("/v1/subscriptions", status="past_due", test_clock=clock)["data"]
    assert [x["id"] for x in past_due] == [sub["id"]]
    # As on Stripe: without `customer` or `test_clock`, test-clock subscriptions are left out.
    assert s.get("/v1/subscriptions", status="past_due")["data"] == []
    assert len(s.get("/v1/subscriptions", customer=other)["data"]) == 1
    open_invoices = s.get("/v1/invoices", status="open")["data"]
    assert len(open_invoices) == 1 and open_invoices[0]["customer"] == customer
    assert len(s.get("/v1/invoices", subscription=sub["id"])["data"]) == 2
    found = s.get("/v1/invoices/search", query=f"status:'open' AND customer:'{customer}'")
    assert [i["id"] for i in found["data"]] == [open_invoices[0]["id"]]
    found = s.get("/v1/subscriptions/search", query="status:'past_due'")
    assert [x["id"] for x in found["data"]] == [sub["id"]]
    charges = s.get("/v1/charges/search", query="status:'failed'")
    assert len(charges["data"]) == 1


def test_changing_the_price_bills_the_new_price_at_renewal(s: Scenario) -> None:
    clock = s.clock(T0)
    customer, _ = s.customer(clock)
    sub = s.subscribe(customer, s.price(1000))
    item = sub["items"]["data"][0]
    bigger = s.price(3000)
    status, updated = s.post(
        f"/v1/subscriptions/{sub['id']}",
        {"items[0][id]": item["id"], "items[0][price]": bigger, "items[0][quantity]": "2"},
    )
    assert status == 200
    assert updated["items"]["data"][0]["price"]["id"] == bigger
    assert updated["items"]["data"][0]["quantity"] == 2
    event = s.events("customer.subscription.updated")[-1]
    assert event["data"]["previous_attributes"]["items"]["data"][0]["price"]["id"] != bigger
    status, body = s.post(
        f"/v1/subscriptions/{sub['id']}", {"items[0][id]": "si_nope", "items[0][quantity]": "1"}
    )
    assert status == 400 and body["error"]["param"] == "items[0][id]"
    s.advance(clock, days=32)
    assert s.invoices(customer)[-1]["amount_paid"] == 6000


def test_connected_account_billing_is_isolated_and_events_carry_the_account(s: Scenario) -> None:
    account = s.sb.create_account(name="Connected Co")
    connected = Scenario(s.sb, account=account["id"])
    clock = connected.clock(T0)
    customer, pm = connected.customer(clock)
    sub = connected.subscribe(customer, connected.price(1500))
    connected.decline(pm, "insufficient_funds")
    connected.advance(clock, days=31, seconds=3700)
    failed = connected.events("invoice.payment_failed")
    assert failed and failed[-1]["account"] == account["id"]
    assert s.get(f"/v1/subscriptions/{sub['id']}")["error"]["code"] == "resource_missing"
    assert not s.events("invoice.payment_failed")  # the platform saw nothing of it
    invoice = failed[-1]["data"]["object"]
    page = s.sb.http.get(invoice["hosted_invoice_url"])
    assert page.status_code == 200 and "open" in page.text


def test_invoice_updated_reports_what_changed(s: Scenario) -> None:
    s.settings(retries=1, retry_window_days=2)
    clock, _customer, s, _sub = _failing_renewal(s, "insufficient_funds")
    failed = s.events("invoice.payment_failed")[0]["data"]["object"]
    updates = [e for e in s.events("invoice.updated") if e["data"]["object"]["id"] == failed["id"]]
    first = updates[0]["data"]["previous_attributes"]
    assert first["attempt_count"] == 0 and first["attempted"] is False
    assert first["next_payment_attempt"] is None
    s.advance(clock, days=3)
    last = [e for e in s.events("invoice.updated") if e["data"]["object"]["id"] == failed["id"]][-1]
    assert last["data"]["previous_attributes"]["attempt_count"] == 1
    assert last["data"]["object"]["attempt_count"] == 2


def test_default_incomplete_waits_for_the_customer_to_pay(s: Scenario) -> None:
    clock = s.clock(T0)
    customer, _ = s.customer(clock)
    sub = s.subscribe(customer, s.price(1000), payment_behavior="default_incomplete")
    assert sub["status"] == "incomplete"
    invoice = s.get(f"/v1/invoices/{sub['latest_invoice']}")
    assert invoice["status"] == "open" and invoice["attempt_count"] == 0
    s.sb.http.post(
        invoice["hosted_invoice_url"],
        data={"action": "pay", "number": "4242424242424242", "exp_month": "1", "exp_year": "2031"},
    )
    assert s.get(f"/v1/subscriptions/{sub['id']}")["status"] == "active"


def test_customer_expands_its_subscriptions(s: Scenario) -> None:
    clock = s.clock(T0)
    customer, _ = s.customer(clock)
    sub = s.subscribe(customer, s.price(1000))
    expanded = s.get(f"/v1/customers/{customer}", **{"expand[]": "subscriptions"})
    assert [x["id"] for x in expanded["subscriptions"]["data"]] == [sub["id"]]
    assert "subscriptions" not in s.get(f"/v1/customers/{customer}")


def test_invoices_carry_the_accounts_country(s: Scenario) -> None:
    account = s.sb.create_account(name="Berlin Shop", country="DE", default_currency="eur")
    shop = Scenario(s.sb, account=account["id"])
    customer, _pm = shop.customer(None)
    sub = shop.subscribe(customer, shop.price(900, currency="eur"))
    assert shop.get(f"/v1/invoices/{sub['latest_invoice']}")["account_country"] == "DE"
    assert s.get(f"/v1/accounts/{account['id']}")["country"] == "DE"
