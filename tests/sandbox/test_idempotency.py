"""Idempotency keys: replay with the same parameters, 400 idempotency_error otherwise."""

from __future__ import annotations

import httpx
import pytest
import stripe

from sandbox.testing import RunningSandbox


def test_same_key_and_params_replays_first_response(sb: RunningSandbox) -> None:
    client = sb.client()
    options = {"idempotency_key": "key-1"}
    first = client.v1.customers.create(params={"email": "a@example.com"}, options=options)
    second = client.v1.customers.create(params={"email": "a@example.com"}, options=options)
    assert first.id == second.id
    assert second.last_response is not None
    assert second.last_response.headers["Idempotent-Replayed"] == "true"
    assert len(client.v1.customers.list().data) == 1


def test_same_key_other_params_is_idempotency_error(sb: RunningSandbox) -> None:
    client = sb.client()
    options = {"idempotency_key": "key-2"}
    client.v1.customers.create(params={"email": "a@example.com"}, options=options)
    with pytest.raises(stripe.IdempotencyError) as exc:
        client.v1.customers.create(params={"email": "b@example.com"}, options=options)
    assert exc.value.http_status == 400
    assert exc.value.error is not None and exc.value.error.type == "idempotency_error"


def test_keys_are_scoped_per_account(sb: RunningSandbox) -> None:
    other = sb.create_account()
    options = {"idempotency_key": "shared"}
    a = sb.client().v1.customers.create(params={"email": "a@x.com"}, options=options)
    b = sb.client(other["secret_key"]).v1.customers.create(
        params={"email": "b@x.com"}, options=options
    )
    assert a.id != b.id


def test_card_errors_replay_too(sb: RunningSandbox) -> None:
    client = sb.client()
    customer = client.v1.customers.create()
    headers = {"Authorization": f"Bearer {sb.platform_key}", "Idempotency-Key": "card-1"}
    url = f"{sb.url}/v1/payment_methods/pm_card_chargeDeclined/attach"
    first = httpx.post(url, headers=headers, data={"customer": customer.id})
    second = httpx.post(url, headers=headers, data={"customer": customer.id})
    assert first.status_code == second.status_code == 402
    assert first.content == second.content
    assert second.headers["Idempotent-Replayed"] == "true"
