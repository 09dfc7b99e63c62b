"""Stripe's error object and statuses, headers, unknown URLs, parameter validation."""

from __future__ import annotations

import httpx
import pytest
import stripe

from sandbox import API_VERSION
from sandbox.conformance import check_error_body
from sandbox.testing import RunningSandbox


def test_missing_and_invalid_keys_answer_401(sb: RunningSandbox) -> None:
    r = httpx.get(f"{sb.url}/v1/customers")
    assert r.status_code == 401
    assert r.json()["error"]["type"] == "invalid_request_error"
    assert "did not provide an API key" in r.json()["error"]["message"]
    with pytest.raises(stripe.AuthenticationError) as exc:
        sb.client("sk_test_nope").v1.customers.list()
    assert exc.value.http_status == 401
    assert "Invalid API Key provided: sk_test_" in str(exc.value.user_message)


def test_missing_object_is_404_resource_missing(sb: RunningSandbox) -> None:
    with pytest.raises(stripe.InvalidRequestError) as exc:
        sb.client().v1.customers.retrieve("cus_missing")
    err = exc.value
    assert err.http_status == 404
    assert err.code == "resource_missing"
    assert err.param == "id"
    assert err.user_message == "No such customer: 'cus_missing'"
    assert err.error is not None and err.error.doc_url.endswith("/resource-missing")
    assert check_error_body(err.json_body) == []


def test_invalid_params_are_400_with_param(sb: RunningSandbox) -> None:
    client = sb.client()
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.list(params={"limit": 1000})
    assert exc.value.http_status == 400 and exc.value.param == "limit"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.create(params={"bogus": "x"})  # type: ignore[typeddict-unknown-key]
    assert exc.value.code == "parameter_unknown" and exc.value.param == "bogus"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.list(params={"limit": "abc"})  # type: ignore[typeddict-item]
    assert exc.value.param == "limit" and "Invalid integer" in str(exc.value.user_message)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.create(params={"email": "not an email"})
    assert exc.value.param == "email"


def test_card_error_is_402_with_decline_code(sb: RunningSandbox) -> None:
    client = sb.client()
    customer = client.v1.customers.create()
    with pytest.raises(stripe.CardError) as exc:
        client.v1.payment_methods.attach(
            "pm_card_chargeDeclinedInsufficientFunds", params={"customer": customer.id}
        )
    err = exc.value
    assert err.http_status == 402
    assert err.code == "card_declined"
    assert err.error is not None and err.error.decline_code == "insufficient_funds"
    assert err.error.type == "card_error"
    assert check_error_body(err.json_body) == []


def test_rate_limit_is_429_per_key(sb: RunningSandbox) -> None:
    account = sb.create_account()
    sb.http.post("/_sandbox/rate_limits", json={"key": account["secret_key"], "rate": 2})
    limited = sb.client(account["secret_key"])
    with pytest.raises(stripe.RateLimitError) as exc:
        for _ in range(10):
            limited.v1.customers.list()
    assert exc.value.http_status == 429
    assert exc.value.json_body["error"]["code"] == "rate_limit"
    sb.client().v1.customers.list()  # other keys are not limited


def test_headers_and_unknown_urls(sb: RunningSandbox) -> None:
    headers = {"Authorization": f"Bearer {sb.platform_key}"}
    r = httpx.get(f"{sb.url}/v1/customers", headers=headers)
    assert r.headers["Stripe-Version"] == API_VERSION
    assert r.headers["Request-Id"].startswith("req_")
    r = httpx.get(f"{sb.url}/v1/nothing_here", headers=headers)
    assert r.status_code == 404
    assert "Unrecognized request URL (GET: /v1/nothing_here)" in r.json()["error"]["message"]
    r = httpx.get(f"{sb.url}/v1/customers", headers={**headers, "Stripe-Version": "nonsense"})
    assert r.status_code == 400


def test_nested_form_encoding(sb: RunningSandbox) -> None:
    r = httpx.post(
        f"{sb.url}/v1/customers",
        headers={"Authorization": f"Bearer {sb.platform_key}"},
        data={
            "email": "n@example.com",
            "metadata[plan]": "pro",
            "metadata[seats]": "3",
            "address[city]": "Lyon",
            "preferred_locales[0]": "fr",
            "preferred_locales[1]": "en",
            "expand[]": "test_clock",
        },
    )
    body = r.json()
    assert r.status_code == 200, body
    assert body["metadata"] == {"plan": "pro", "seats": "3"}
    assert body["address"]["city"] == "Lyon"
    assert body["preferred_locales"] == ["fr", "en"]


def test_basic_auth_is_accepted(sb: RunningSandbox) -> None:
    r = httpx.get(f"{sb.url}/v1/customers", auth=(sb.platform_key, ""))
    assert r.status_code == 200
