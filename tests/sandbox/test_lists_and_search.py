"""Pagination, created filters, expand (incl. data.*), customer filters and search."""

from __future__ import annotations

import time

import pytest
import stripe

from sandbox.testing import RunningSandbox


def _customers(sb: RunningSandbox, n: int) -> list[str]:
    client = sb.client()
    ids = []
    for i in range(n):
        if i == 3:
            sb.http.post("/_sandbox/clock/advance", json={"seconds": 100})
        ids.append(client.v1.customers.create(params={"email": f"c{i}@example.com"}).id)
    return ids


def test_pagination_newest_first(sb: RunningSandbox) -> None:
    ids = _customers(sb, 7)
    client = sb.client()
    page = client.v1.customers.list(params={"limit": 3})
    assert [c.id for c in page.data] == ids[::-1][:3]
    assert page.has_more and page.url == "/v1/customers"
    page2 = client.v1.customers.list(params={"limit": 3, "starting_after": page.data[-1].id})
    assert [c.id for c in page2.data] == ids[::-1][3:6]
    back = client.v1.customers.list(params={"limit": 2, "ending_before": page2.data[0].id})
    assert [c.id for c in back.data] == ids[::-1][1:3]
    assert back.has_more
    last = client.v1.customers.list(params={"limit": 3, "starting_after": page2.data[-1].id})
    assert [c.id for c in last.data] == ids[:1] and not last.has_more
    everything = list(client.v1.customers.list(params={"limit": 2}).auto_paging_iter())
    assert [c.id for c in everything] == ids[::-1]
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.list(params={"starting_after": "cus_unknown"})
    assert exc.value.param == "starting_after"


def test_created_filters(sb: RunningSandbox) -> None:
    # Freeze the sandbox clock: a wall-clock second ticking mid-test would split the batch.
    sb.call(setattr, sb.state.clock, "frozen", int(time.time()))
    ids = _customers(sb, 5)
    client = sb.client()
    late = client.v1.customers.retrieve(ids[3]).created
    newer = client.v1.customers.list(params={"created": {"gte": late}})
    assert {c.id for c in newer.data} == set(ids[3:])
    older = client.v1.customers.list(params={"created": {"lt": late}})
    assert {c.id for c in older.data} == set(ids[:3])
    exact = client.v1.customers.list(params={"created": late})
    assert {c.id for c in exact.data} == set(ids[3:])
    assert client.v1.customers.list(params={"created": {"gt": late}}).data == []


def test_email_filter_and_expand(sb: RunningSandbox) -> None:
    client = sb.client()
    customer = client.v1.customers.create(params={"email": "x@example.com"})
    client.v1.customers.create(params={"email": "y@example.com"})
    pm = client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    client.v1.customers.update(
        customer.id, params={"invoice_settings": {"default_payment_method": pm.id}}
    )
    found = client.v1.customers.list(params={"email": "x@example.com"})
    assert [c.id for c in found.data] == [customer.id]
    pms = client.v1.payment_methods.list(
        params={"customer": customer.id, "expand": ["data.customer"]}
    )
    assert pms.data[0].customer.email == "x@example.com"
    nested = client.v1.payment_methods.retrieve(
        pm.id, params={"expand": ["customer.invoice_settings.default_payment_method"]}
    )
    assert nested.customer.invoice_settings.default_payment_method.card.last4 == "4242"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.retrieve(customer.id, params={"expand": ["email"]})
    assert "cannot be expanded (email)" in str(exc.value.user_message)


def test_search(sb: RunningSandbox) -> None:
    client = sb.client()
    a = client.v1.customers.create(params={"email": "Ann@Example.com", "metadata": {"plan": "pro"}})
    sb.http.post("/_sandbox/clock/advance", json={"seconds": 10})
    b = client.v1.customers.create(params={"email": "bob@example.com", "metadata": {"plan": "pro"}})
    client.v1.customers.create(params={"email": "cy@example.com", "metadata": {"plan": "free"}})
    result = client.v1.customers.search(params={"query": "email:'ann@example.com'"})
    assert result.object == "search_result" and [c.id for c in result.data] == [a.id]
    pro = client.v1.customers.search(params={"query": "metadata['plan']:'pro'", "limit": 1})
    assert [c.id for c in pro.data] == [b.id] and pro.has_more and pro.next_page
    rest = client.v1.customers.search(
        params={"query": "metadata['plan']:'pro'", "page": pro.next_page}
    )
    assert [c.id for c in rest.data] == [a.id] and not rest.has_more
    combined = client.v1.customers.search(
        params={"query": f"metadata['plan']:'pro' AND created>{a.created}"}
    )
    assert [c.id for c in combined.data] == [b.id]
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.search(params={"query": "colour:'red'"})
    assert exc.value.param == "query"
