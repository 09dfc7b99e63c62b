"""Restricted keys, Connect isolation via Stripe-Account, OAuth round trip, deauthorize."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
import stripe

from sandbox.testing import RunningSandbox
from sandbox.testing import WebhookReceiver as Receiver


def test_restricted_key_permissions(sb: RunningSandbox) -> None:
    account = sb.create_account(name="Acme")
    restricted = sb.client(account["restricted_key"])
    customer = restricted.v1.customers.create(params={"email": "r@example.com"})
    assert restricted.v1.customers.retrieve(customer.id).email == "r@example.com"
    assert restricted.v1.products.list().object == "list"  # products: read
    with pytest.raises(stripe.PermissionError) as exc:
        restricted.v1.products.create(params={"name": "Nope"})
    assert exc.value.http_status == 403
    assert "rak_product_write" in str(exc.value.user_message)
    assert exc.value.error is not None and exc.value.error.type == "permission_error"

    read_only = sb.client(account["read_only_key"])
    assert read_only.v1.customers.retrieve(customer.id).id == customer.id
    with pytest.raises(stripe.PermissionError):
        read_only.v1.customers.update(customer.id, params={"name": "x"})


def test_minted_key_with_permission_map(sb: RunningSandbox) -> None:
    minted = sb.http.post("/_sandbox/keys", json={"permissions": {"customers": "read"}}).json()[
        "secret"
    ]
    assert minted.startswith("rk_test_")
    client = sb.client(minted)
    client.v1.customers.list()
    with pytest.raises(stripe.PermissionError):
        client.v1.events.list()


def test_a_rolled_key_expires_and_its_replacement_has_the_same_access(sb: RunningSandbox) -> None:
    account = sb.create_account(name="Roller")
    rolled = sb.http.post("/_sandbox/keys/roll", json={"key": account["restricted_key"]}).json()
    assert rolled["secret"].startswith("rk_test_") and rolled["account"] == account["id"]
    with pytest.raises(stripe.AuthenticationError, match="Expired API Key provided"):
        sb.client(account["restricted_key"]).v1.customers.list()
    replacement = sb.client(rolled["secret"])
    replacement.v1.customers.create(params={"email": "r@example.com"})
    with pytest.raises(stripe.PermissionError):
        replacement.v1.products.create(params={"name": "Still restricted"})
    assert sb.http.post("/_sandbox/keys/roll", json={"key": "sk_nope"}).status_code == 404


def test_connected_accounts_are_isolated(sb: RunningSandbox) -> None:
    a = sb.create_account(name="A")
    b = sb.create_account(name="B")
    platform = sb.client()
    in_a = platform.v1.customers.create(
        params={"email": "a@x.com"}, options={"stripe_account": a["id"]}
    )
    assert platform.v1.customers.retrieve(in_a.id, options={"stripe_account": a["id"]}).id
    with pytest.raises(stripe.InvalidRequestError):
        platform.v1.customers.retrieve(in_a.id, options={"stripe_account": b["id"]})
    with pytest.raises(stripe.InvalidRequestError):
        platform.v1.customers.retrieve(in_a.id)
    assert platform.v1.customers.list(options={"stripe_account": b["id"]}).data == []
    # An account's own key reaches its objects; another account's key cannot use Stripe-Account.
    assert sb.client(a["secret_key"]).v1.customers.retrieve(in_a.id).id == in_a.id
    with pytest.raises(stripe.PermissionError):
        sb.client(b["secret_key"]).v1.customers.list(options={"stripe_account": a["id"]})
    assert platform.v1.accounts.retrieve(a["id"]).business_profile.name == "A"


def test_unconnected_account_is_not_reachable(sb: RunningSandbox) -> None:
    alone = sb.create_account(connected=False)
    with pytest.raises(stripe.PermissionError):
        sb.client().v1.customers.list(options={"stripe_account": alone["id"]})


def test_oauth_round_trip_and_deauthorize(sb: RunningSandbox, receiver: Receiver) -> None:
    platform = sb.client()
    platform.v1.webhook_endpoints.create(
        params={"url": receiver.url, "enabled_events": ["*"], "connect": True}
    )
    url = platform.oauth.authorize_url(
        params={
            "scope": "read_write",
            "redirect_uri": "http://localhost:9/callback",
            "state": "s-123",
            "stripe_user": {"email": "owner@shop.test", "business_name": "Shop"},
        }
    )
    page = sb.http.get(url.replace(sb.url, ""))
    assert page.status_code == 200 and "Authorize access" in page.text
    location = sb.authorize(url)
    query = parse_qs(urlparse(location).query)
    assert query["state"] == ["s-123"]
    code = query["code"][0]

    token = platform.oauth.token(params={"grant_type": "authorization_code", "code": code})
    assert token.token_type == "bearer" and token.scope == "read_write"
    assert token.livemode is False
    assert token.stripe_publishable_key.startswith("pk_test_")
    account_id = token.stripe_user_id
    with pytest.raises(stripe.oauth_error.InvalidGrantError):
        platform.oauth.token(params={"grant_type": "authorization_code", "code": code})

    connected = sb.client(token.access_token)
    customer = connected.v1.customers.create(params={"email": "c@shop.test"})
    assert platform.v1.customers.retrieve(customer.id, options={"stripe_account": account_id}).id

    refreshed = platform.oauth.token(
        params={"grant_type": "refresh_token", "refresh_token": token.refresh_token}
    )
    assert refreshed.stripe_user_id == account_id
    assert refreshed.access_token != token.access_token

    assert platform.oauth.deauthorize(params={"stripe_user_id": account_id}).stripe_user_id
    with pytest.raises(stripe.AuthenticationError):
        connected.v1.customers.list()
    with pytest.raises(stripe.PermissionError):
        platform.v1.customers.list(options={"stripe_account": account_id})

    sb.wait_for(
        lambda: any(e["type"] == "account.application.deauthorized" for e in receiver.events())
    )
    deauth = next(e for e in receiver.events() if e["type"] == "account.application.deauthorized")
    assert deauth["account"] == account_id
    assert deauth["data"]["object"]["id"] == sb.client_id
    # The connected account's own events reached the Connect endpoint with `account` set.
    created = [e for e in receiver.events() if e["type"] == "customer.created"]
    assert created and created[0]["account"] == account_id


def test_oauth_deny_and_bad_client(sb: RunningSandbox) -> None:
    url = sb.client().oauth.authorize_url(
        params={"redirect_uri": "http://localhost:9/cb", "state": "z"}
    )
    location = sb.authorize(url, approve=False)
    assert parse_qs(urlparse(location).query)["error"] == ["access_denied"]
    with pytest.raises(stripe.oauth_error.InvalidClientError):
        sb.client(sb.create_account()["secret_key"]).oauth.token(
            params={"grant_type": "authorization_code", "code": "ac_x"}
        )
    bad = sb.http.get("/oauth/authorize", params={"client_id": "ca_wrong", "redirect_uri": "x"})
    assert bad.status_code == 400


def test_publishable_key_creates_payment_methods_only(sb: RunningSandbox) -> None:
    account = sb.create_account()
    public = sb.client(account["publishable_key"])
    pm = public.v1.payment_methods.create(params={"type": "card", "card": {"token": "tok_visa"}})
    assert pm.card.brand == "visa"
    with pytest.raises(stripe.PermissionError) as exc:
        public.v1.customers.list()
    assert "publishable API key" in str(exc.value.user_message)
