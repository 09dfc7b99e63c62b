"""Every kind of object the sandbox serves conforms to the stripe SDK's annotations.

One journey drives the sandbox over HTTP through every billing state (trial, renewal,
declines, retries, 3D Secure, portal card update, refunds, disputes won and lost, voids,
uncollectible invoices, cancellations) and then walks every object, list, search result,
expansion, error body and event it served through :func:`sandbox.conformance.check_object`.
A second account connected through OAuth drives the Connect side (authorize, setup
intents, payment method updates and detaches, a deleted customer, an expired Checkout
session, deauthorize). Every webhook delivery — to the platform's own endpoint and to its
Connect endpoint — must verify with ``stripe.Webhook.construct_event``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import stripe

from sandbox.billing.scenario import Scenario
from sandbox.conformance import check_error_body, check_object
from sandbox.testing import RunningSandbox, WebhookReceiver, running_sandbox

T0 = 1_767_225_600
Obj = dict[str, Any]

# Every object type the sandbox serves, and every event type the billing engine sends.
OBJECT_TYPES = {
    "account",
    "customer",
    "payment_method",
    "product",
    "price",
    "coupon",
    "subscription",
    "subscription_item",
    "invoice",
    "line_item",
    "invoice_payment",
    "payment_intent",
    "charge",
    "refund",
    "dispute",
    "balance_transaction",
    "billing_portal.session",
    "billing_portal.configuration",
    "checkout.session",
    "setup_intent",
    "application",
    "invoiceitem",
    "discount",
    "test_helpers.test_clock",
    "webhook_endpoint",
    "event",
    "list",
    "search_result",
    "plan",
}
EVENT_TYPES = {
    "checkout.session.completed",
    "invoice.created",
    "invoice.finalized",
    "invoice.payment_failed",
    "invoice.payment_succeeded",
    "invoice.paid",
    "invoice.payment_action_required",
    "invoice.upcoming",
    "invoice.marked_uncollectible",
    "invoice.voided",
    "invoice.updated",
    "invoice_payment.paid",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "customer.subscription.paused",
    "customer.subscription.resumed",
    "customer.subscription.trial_will_end",
    "payment_method.attached",
    "payment_method.automatically_updated",
    "charge.succeeded",
    "charge.failed",
    "charge.refunded",
    "refund.created",
    "charge.dispute.created",
    "charge.dispute.updated",
    "charge.dispute.closed",
    "charge.dispute.funds_withdrawn",
    "charge.dispute.funds_reinstated",
    "payment_intent.created",
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.requires_action",
    "payment_intent.canceled",
    "customer.updated",
    "customer.created",
    "test_helpers.test_clock.advancing",
    "test_helpers.test_clock.ready",
    "account.application.authorized",
    "account.application.deauthorized",
    "payment_method.detached",
    "payment_method.updated",
    "customer.deleted",
    "setup_intent.created",
    "setup_intent.succeeded",
    "setup_intent.setup_failed",
    "setup_intent.requires_action",
    "setup_intent.canceled",
    "checkout.session.expired",
    "customer.discount.created",
    "invoiceitem.created",
    "invoice.sent",
    "invoice.deleted",
}


class Walker:
    """Checks every object it is shown and remembers which kinds it saw."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.kinds: set[str] = set()

    def check(self, label: str, value: Obj) -> Obj:
        for message in check_object(value):
            self.errors.append(f"{label}: {message}")
        self._collect(value)
        return value

    def error(self, label: str, status: int, body: Obj, expected_status: int) -> None:
        if status != expected_status:
            self.errors.append(f"{label}: status {status}, expected {expected_status}: {body}")
        for message in check_error_body(body):
            self.errors.append(f"{label}: {message}")

    def _collect(self, value: Any) -> None:
        if isinstance(value, dict):
            kind = value.get("object")
            if isinstance(kind, str):
                self.kinds.add(kind)
            for item in value.values():
                self._collect(item)
        elif isinstance(value, list):
            for item in value:
                self._collect(item)


@dataclass
class Journey:
    sb: RunningSandbox
    s: Scenario  # the platform account, through its own key
    connected: Scenario  # the OAuth-connected account, through its own key (outlives deauth)
    ids: Obj
    receiver: WebhookReceiver  # the platform's own endpoint
    secret: str
    connect_receiver: WebhookReceiver  # the platform's Connect endpoint
    connect_secret: str

    def events(self) -> list[Obj]:
        return [*self.s.events(), *self.connected.events()]


@pytest.fixture(scope="module")
def journey() -> Iterator[Journey]:
    receiver, connect_receiver = WebhookReceiver(), WebhookReceiver()
    with running_sandbox(seed="conformance", frozen_time=T0) as sb:
        s = Scenario(sb)
        endpoint = s.client.v1.webhook_endpoints.create(
            params={"url": receiver.url, "enabled_events": ["*"]}
        )
        connect = s.client.v1.webhook_endpoints.create(
            params={"url": connect_receiver.url, "enabled_events": ["*"], "connect": True}
        )
        ids = _drive(s)
        connected = _drive_connected(sb, s, ids)
        yield Journey(
            sb,
            s,
            connected,
            ids,
            receiver,
            str(endpoint.secret),
            connect_receiver,
            str(connect.secret),
        )
    receiver.close()
    connect_receiver.close()


def _drive_connected(sb: RunningSandbox, platform: Scenario, ids: Obj) -> Scenario:
    """A business connects through OAuth, saves cards, loses one, is deauthorized."""
    account = sb.create_account(name="Connected Shop", connected=False)
    url = platform.client.oauth.authorize_url(
        params={"scope": "read_write", "redirect_uri": "http://localhost:9/cb", "state": "x"}
    )
    code = parse_qs(urlparse(sb.authorize(url, account=account["id"])).query)["code"][0]
    platform.client.oauth.token(params={"grant_type": "authorization_code", "code": code})
    ids["connected_account"] = account["id"]
    c = Scenario(sb, account=account["id"])  # the platform reaching it with Stripe-Account
    customer = c.client.v1.customers.create(params={"email": "shop@example.test"})
    ids["connected_customer"] = customer.id
    saved = c.client.v1.setup_intents.create(
        params={"customer": customer.id, "payment_method": "pm_card_visa", "confirm": True}
    )
    c.client.v1.payment_methods.update(saved.payment_method, params={"metadata": {"k": "v"}})
    c.post(
        "/v1/setup_intents",
        {
            "customer": customer.id,
            "payment_method": "pm_card_chargeDeclinedInsufficientFunds",
            "confirm": "true",
        },
    )
    action = c.client.v1.setup_intents.create(
        params={
            "customer": customer.id,
            "payment_method": "pm_card_authenticationRequired",
            "confirm": True,
        }
    )
    c.client.v1.setup_intents.cancel(action.id)
    c.client.v1.payment_methods.detach(saved.payment_method)
    price = c.price(1500)
    _, session = c.post(
        "/v1/checkout/sessions",
        {
            "mode": "subscription",
            "customer": customer.id,
            "line_items[0][price]": price,
            "success_url": "https://shop.example.test/thanks",
        },
    )
    c.post(f"/v1/checkout/sessions/{session['id']}/expire")
    gone = c.client.v1.customers.create(params={"email": "gone@example.test"})
    c.client.v1.customers.delete(gone.id)
    ids["gone_customer"] = gone.id
    platform.client.oauth.deauthorize(params={"stripe_user_id": account["id"]})
    sb.create_account(name="Still connected")  # so GET /v1/accounts lists one
    return Scenario(sb, key=account["secret_key"])


def _drive(s: Scenario) -> Obj:
    """One business's month of billing, touching every state; returns the ids it made."""
    s.settings(
        retries=2,
        retry_window_days=4,
        invoice_end_state="uncollectible",
        subscription_end_state="unpaid",
    )
    clock = s.clock(T0, name="conformance")
    price = s.price(2500)
    annual = s.price(24000, currency="eur", interval="year")
    coupon = s.client.v1.coupons.create(params={"percent_off": 20, "duration": "once"})
    ids: Obj = {"clock": clock, "price": price, "annual": annual, "coupon": coupon.id}

    # Renewal that declines, is retried and ends unpaid + uncollectible.
    declining, declining_pm = s.customer(clock, email="declining@example.test")
    ids["declining_sub"] = s.subscribe(declining, price)["id"]
    s.decline(declining_pm, "insufficient_funds")
    # Renewal that needs 3D Secure, completed on the hosted page later.
    auth, auth_pm = s.customer(clock, email="auth@example.test")
    ids["auth_sub"] = s.subscribe(auth, price)["id"]
    s.require_authentication(auth_pm)
    # Renewal that fails, then the customer fixes the card in the portal.
    portal, portal_pm = s.customer(clock, email="portal@example.test")
    ids["portal_sub"] = s.subscribe(portal, price)["id"]
    ids["portal_customer"] = portal
    s.decline(portal_pm, "expired_card", code="expired_card")
    # Trial that ends without a card and pauses, then resumes.
    trial = s.client.v1.customers.create(
        params={"email": "trial@example.test", "test_clock": clock}
    )
    ids["trial_sub"] = s.subscribe(
        trial.id,
        price,
        trial_period_days=7,
        trial_settings={"end_behavior": {"missing_payment_method": "pause"}},
    )["id"]
    # Annual plan paid, later refunded in part; a disputed charge won, another lost.
    annual_customer, _ = s.customer(clock, email="annual@example.test")
    ids["annual_sub"] = s.subscribe(annual_customer, annual)["id"]
    won, _ = s.customer(clock, card="pm_card_createDispute", email="won@example.test")
    s.subscribe(won, price)
    lost, _ = s.customer(clock, card="pm_card_createDispute", email="lost@example.test")
    s.subscribe(lost, price)
    disputes = s.get("/v1/disputes")["data"]
    s.post(
        f"/v1/disputes/{disputes[1]['id']}",
        {"evidence[uncategorized_text]": "winning_evidence", "submit": "false"},
    )
    s.post(f"/v1/disputes/{disputes[1]['id']}", {})
    s.post(f"/v1/disputes/{disputes[0]['id']}/close")
    # Cancellations: now, and at period end; a paused-collection subscription voids.
    canceled, _ = s.customer(clock, email="cancel@example.test")
    now_sub = s.subscribe(canceled, price)
    s.client.v1.subscriptions.cancel(
        now_sub["id"], params={"cancellation_details": {"comment": "too pricey"}}
    )
    later = s.subscribe(canceled, price)
    s.client.v1.subscriptions.update(later["id"], params={"cancel_at_period_end": True})
    paused = s.subscribe(annual_customer, price)
    s.client.v1.subscriptions.update(
        paused["id"], params={"pause_collection": {"behavior": "void"}}
    )
    # First invoice failure: incomplete, then incomplete_expired.
    incomplete, _ = s.customer(
        clock, card="pm_card_chargeCustomerFail", email="incomplete@example.test"
    )
    ids["incomplete_sub"] = s.subscribe(incomplete, price)["id"]

    s.advance(clock, days=31, seconds=3700)
    ids["resumed"] = s.client.v1.subscriptions.resume(ids["trial_sub"]).id

    invoice = s.latest_invoice(ids["auth_sub"])
    s.sb.http.post(invoice["hosted_invoice_url"], data={"action": "authenticate"})
    _, session = s.post(
        "/v1/billing_portal/sessions",
        {"customer": portal, "flow_data[type]": "payment_method_update"},
    )
    ids["session"] = session["id"]
    s.sb.http.post(
        session["url"],
        data={
            "action": "update_payment_method",
            "number": "4242424242424242",
            "exp_month": "3",
            "exp_year": "2030",
        },
    )
    s.sb.http.post(f"/_sandbox/payment_methods/{auth_pm}/automatic_update", json={"exp_year": 2032})
    _, checkout = s.post(
        "/v1/checkout/sessions",
        {
            "mode": "subscription",
            "customer": portal,
            "line_items[0][price]": price,
            "success_url": "https://shop.example.test/thanks",
        },
    )
    s.sb.http.post(
        checkout["url"], data={"number": "4242424242424242", "exp_month": "3", "exp_year": "2030"}
    )

    charge = s.get("/v1/charges", customer=annual_customer)["data"][-1]
    s.post("/v1/refunds", {"charge": charge["id"], "amount": "1000"})
    _status, intent = s.post("/v1/payment_intents", {"amount": "700", "currency": "usd"})
    s.post(f"/v1/payment_intents/{intent['id']}/cancel")
    ids["canceled_intent"] = intent["id"]
    draft_to_void = s.latest_invoice(ids["declining_sub"])
    ids["open_invoice"] = draft_to_void["id"]
    s.post(f"/v1/invoices/{draft_to_void['id']}", {"metadata[case]": "rehearsal"})

    # A coupon on a subscription; a one-off invoice with items, sent; a draft deleted.
    discounted, _ = s.customer(clock, email="discounted@example.test")
    ids["discounted_sub"] = s.subscribe(discounted, price, discounts=[{"coupon": coupon.id}])["id"]
    s.client.v1.invoice_items.create(
        params={"customer": discounted, "amount": 1200, "currency": "usd", "description": "Fee"}
    )
    one_off = s.client.v1.invoices.create(
        params={
            "customer": discounted,
            "pending_invoice_items_behavior": "include",
            "collection_method": "send_invoice",
            "days_until_due": 14,
        }
    )
    s.client.v1.invoices.send_invoice(one_off.id)
    ids["one_off"] = one_off.id
    dropped = s.client.v1.invoices.create(params={"customer": discounted})
    s.client.v1.invoices.delete(dropped.id)

    s.advance(clock, days=12)  # retries exhausted, disputes decided, evidence deadlines passed
    return ids


def _all_pages(s: Scenario, path: str, **params: Any) -> list[Obj]:
    pages: list[Obj] = []
    query = {"limit": 100, **params}
    while True:
        page = s.get(path, **query)
        pages.append(page)
        if not page.get("has_more"):
            return pages
        query["starting_after"] = page["data"][-1]["id"]


def test_every_object_list_and_event_conforms(journey: Journey) -> None:
    sb, s, ids = journey.sb, journey.s, journey.ids
    w = Walker()
    lists = [
        "/v1/customers",
        "/v1/payment_methods",
        "/v1/products",
        "/v1/prices",
        "/v1/coupons",
        "/v1/subscriptions",
        "/v1/invoices",
        "/v1/invoice_payments",
        "/v1/payment_intents",
        "/v1/charges",
        "/v1/refunds",
        "/v1/disputes",
        "/v1/billing_portal/configurations",
        "/v1/checkout/sessions",
        "/v1/test_helpers/test_clocks",
        "/v1/webhook_endpoints",
        "/v1/events",
        "/v1/balance_transactions",
        "/v1/invoiceitems",
        "/v1/setup_intents",
        "/v1/accounts",
    ]
    objects: list[Obj] = []
    for path in lists:
        params: Obj = {"status": "all"} if path == "/v1/subscriptions" else {}
        if path in ("/v1/customers", "/v1/payment_methods"):
            # Stripe lists test-clock customers only when asked for their clock.
            params = (
                {"test_clock": ids["clock"]}
                if path == "/v1/customers"
                else {"type": "card", "customer": ids["portal_customer"]}
            )
        for page in _all_pages(s, path, **params):
            w.check(path, page)
            objects.extend(page["data"])
    for obj in objects:
        kind = obj["object"]
        if kind == "event":
            continue
        path = {
            "test_helpers.test_clock": "/v1/test_helpers/test_clocks",
            "billing_portal.configuration": "/v1/billing_portal/configurations",
            "checkout.session": "/v1/checkout/sessions",
            "invoice_payment": "/v1/invoice_payments",
        }.get(kind, f"/v1/{kind}s")
        w.check(f"GET {path}/{obj['id']}", s.get(f"{path}/{obj['id']}"))
    for sub in (o for o in objects if o["object"] == "subscription"):
        w.check("items", s.get("/v1/subscription_items", subscription=sub["id"]))
        for item in sub["items"]["data"]:
            w.check("item", s.get(f"/v1/subscription_items/{item['id']}"))
        w.check(
            "expanded subscription",
            s.get(
                f"/v1/subscriptions/{sub['id']}",
                **{"expand[]": ["latest_invoice", "customer", "default_payment_method"]},
            ),
        )
    for invoice in (o for o in objects if o["object"] == "invoice"):
        w.check("lines", s.get(f"/v1/invoices/{invoice['id']}/lines"))
        w.check(
            "expanded invoice",
            s.get(f"/v1/invoices/{invoice['id']}", **{"expand[]": ["payments", "customer"]}),
        )
    w.check(
        "expand data.*",
        s.get("/v1/charges", **{"expand[]": ["data.payment_intent", "data.customer"]}),
    )
    w.check("dispute with charge", s.get("/v1/disputes", **{"expand[]": ["data.charge"]}))
    w.check(
        "session", s.post("/v1/billing_portal/sessions", {"customer": ids["portal_customer"]})[1]
    )
    w.check(
        "customer with subscriptions",
        s.get(f"/v1/customers/{ids['portal_customer']}", **{"expand[]": "subscriptions"}),
    )
    w.check("account", s.get(f"/v1/accounts/{sb.platform_id}"))
    w.check(
        "customer payment methods",
        s.get(f"/v1/customers/{ids['portal_customer']}/payment_methods", type="card"),
    )
    w.check(
        "subscription discounts",
        s.get(f"/v1/subscriptions/{ids['discounted_sub']}", **{"expand[]": "discounts"}),
    )
    discounted = s.get(f"/v1/subscriptions/{ids['discounted_sub']}")
    w.check(
        "invoice discounts",
        s.get(
            f"/v1/invoices/{discounted['latest_invoice']}",
            **{"expand[]": ["discounts", "total_discount_amounts.discount"]},
        ),
    )
    _walk_connected(journey, w)
    status, preview = s.post("/v1/invoices/create_preview", {"subscription": ids["annual_sub"]})
    assert status == 200 and preview["id"].startswith("upcoming_in_")
    w.check("create_preview", preview)
    for path, query in (
        ("/v1/invoices/search", "status:'paid'"),
        ("/v1/charges/search", "status:'failed'"),
        ("/v1/customers/search", "email:'portal@example.test'"),
        ("/v1/subscriptions/search", "status:'active'"),
    ):
        page = s.get(path, query=query)
        assert page["data"], f"{path} found nothing for {query}"
        w.check(path, page)
    w.check("deleted webhook endpoint", _delete_endpoint(s))

    assert not w.errors, "\n".join(w.errors[:80])
    assert w.kinds >= OBJECT_TYPES, f"never served: {sorted(OBJECT_TYPES - w.kinds)}"
    seen_events = {e["type"] for e in journey.events()}
    assert seen_events >= EVENT_TYPES, f"never sent: {sorted(EVENT_TYPES - seen_events)}"


def _walk_connected(journey: Journey, w: Walker) -> None:
    """The connected account's objects and events, read with its own key."""
    c, ids = journey.connected, journey.ids
    for path in ("/v1/customers", "/v1/setup_intents", "/v1/checkout/sessions", "/v1/events"):
        for page in _all_pages(c, path):
            w.check(f"connected {path}", page)
            for obj in page["data"]:
                if obj["object"] != "event":
                    w.check(f"connected {path}/{obj['id']}", c.get(f"{path}/{obj['id']}"))
    customer = ids["connected_customer"]
    w.check("connected pms", c.get(f"/v1/customers/{customer}/payment_methods"))
    w.check("deleted customer", c.get(f"/v1/customers/{ids['gone_customer']}"))
    w.check("connected account", c.get("/v1/account"))


def _delete_endpoint(s: Scenario) -> Obj:
    created = s.client.v1.webhook_endpoints.create(
        params={"url": "https://example.test/x", "enabled_events": ["invoice.paid"]}
    )
    response = s.sb.http.delete(f"/v1/webhook_endpoints/{created.id}", headers=s.headers())
    body: Obj = response.json()
    return body


def test_error_bodies_conform(journey: Journey) -> None:
    sb, s, ids = journey.sb, journey.s, journey.ids
    w = Walker()
    status, body = s.post("/v1/invoices/in_missing/pay")
    w.error("404", status, body, 404)
    status, body = s.post("/v1/subscriptions", {"customer": "cus_x"})
    w.error("400 missing customer", status, body, 404)
    status, body = s.post("/v1/subscriptions", {"bogus": "1"})
    w.error("400 unknown parameter", status, body, 400)
    status, body = s.post(f"/v1/invoices/{ids['open_invoice']}/pay")
    assert body["error"].get("decline_code") or body["error"]["type"] == "invalid_request_error"
    w.error("pay", status, body, status)
    status, body = s.post(
        "/v1/payment_intents",
        {
            "amount": "900",
            "currency": "usd",
            "payment_method": "pm_card_chargeDeclinedInsufficientFunds",
            "confirm": "true",
        },
    )
    w.error("402", status, body, 402)
    assert body["error"]["decline_code"] == "insufficient_funds"
    w.check("error payment_intent", body["error"]["payment_intent"])
    w.check("error payment_method", body["error"]["payment_method"])
    response = sb.http.get("/v1/invoices", headers={"Authorization": "Bearer sk_test_nope"})
    w.error("401", response.status_code, response.json(), 401)
    # 403: a restricted key beyond its permissions, and a deauthorized Connect account.
    reader = sb.http.post("/_sandbox/keys", json={"permissions": {"customers": "read"}}).json()[
        "secret"
    ]
    response = sb.http.post(
        "/v1/customers", data={"email": "x@y.z"}, headers={"Authorization": f"Bearer {reader}"}
    )
    w.error("403 permission", response.status_code, response.json(), 403)
    assert response.json()["error"]["type"] == "permission_error"
    response = sb.http.get(
        "/v1/customers",
        headers={**s.headers(), "Stripe-Account": ids["connected_account"]},
    )
    w.error("403 disconnected", response.status_code, response.json(), 403)
    # 429 from a key limited to one request a second.
    limited = sb.http.post("/_sandbox/keys", json={"permissions": {"customers": "read"}}).json()
    sb.http.post("/_sandbox/rate_limits", json={"key": limited["secret"], "rate": 1})
    statuses = []
    for _ in range(5):
        response = sb.http.get(
            "/v1/customers", headers={"Authorization": f"Bearer {limited['secret']}"}
        )
        statuses.append(response.status_code)
        if response.status_code == 429:
            w.error("429", response.status_code, response.json(), 429)
            assert response.json()["error"]["code"] == "rate_limit"
            break
    assert 429 in statuses
    # idempotency_error: the same key with other parameters.
    s.post("/v1/customers", {"email": "idem@example.test"}, idempotency_key="conformance-1")
    status, body = s.post(
        "/v1/customers", {"email": "other@example.test"}, idempotency_key="conformance-1"
    )
    w.error("idempotency", status, body, 400)
    assert body["error"]["type"] == "idempotency_error"
    assert not w.errors, "\n".join(w.errors)


def test_every_webhook_delivery_verifies(journey: Journey) -> None:
    sb, s = journey.sb, journey.s
    expected = {e["id"] for e in s.events() if e["type"] != "webhook_endpoint.created"}
    _wait_delivered(sb, journey.receiver, expected)
    w = Walker()
    for request in list(journey.receiver.requests):
        event = stripe.Webhook.construct_event(
            request["body"], request["headers"]["Stripe-Signature"], journey.secret
        )
        w.check(f"delivery {event.type}", json.loads(request["body"]))
    request = journey.receiver.requests[0]
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(
            request["body"].replace('"livemode": false', '"livemode": true', 1),
            request["headers"]["Stripe-Signature"],
            journey.secret,
        )
    assert not w.errors, "\n".join(w.errors[:50])
    assert len(expected) > 100  # the journey really produced a month of billing traffic


def test_every_connect_delivery_verifies(journey: Journey) -> None:
    """The connected account's events reach the platform's Connect endpoint, signed with
    that endpoint's secret and carrying ``account``; the platform's own events do not."""
    account = journey.ids["connected_account"]
    expected = {e["id"] for e in journey.connected.events()}
    _wait_delivered(journey.sb, journey.connect_receiver, expected)
    w = Walker()
    types = set()
    for request in list(journey.connect_receiver.requests):
        event = stripe.Webhook.construct_event(
            request["body"], request["headers"]["Stripe-Signature"], journey.connect_secret
        )
        assert event.account == account
        types.add(event.type)
        w.check(f"connect delivery {event.type}", json.loads(request["body"]))
        with pytest.raises(stripe.SignatureVerificationError):
            stripe.Webhook.construct_event(
                request["body"], request["headers"]["Stripe-Signature"], journey.secret
            )
    assert not w.errors, "\n".join(w.errors[:50])
    assert {"account.application.authorized", "account.application.deauthorized"} <= types
    assert {"setup_intent.succeeded", "payment_method.detached", "customer.deleted"} <= types


def _wait_delivered(sb: RunningSandbox, receiver: WebhookReceiver, expected: set[str]) -> None:
    def delivered_ids() -> set[str]:
        return {json.loads(r["body"])["id"] for r in list(receiver.requests)}

    sb.wait_for(lambda: expected <= delivered_ids(), timeout=30)
