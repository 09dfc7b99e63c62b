"""One-off invoices and invoice items, through the stripe SDK: draft -> open -> paid / void /
uncollectible, deletion of drafts, sending, and pending items joining the next invoice."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import stripe

from sandbox.billing.scenario import Scenario
from sandbox.conformance import check_object
from sandbox.testing import running_sandbox

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z


@pytest.fixture
def s() -> Iterator[Scenario]:
    with running_sandbox(seed="one-off", frozen_time=T0) as sb:
        yield Scenario(sb)


def _conforms(s: Scenario, *paths: str) -> None:
    """The objects as served (raw JSON) match the SDK's annotations."""
    for path in paths:
        errors = check_object(s.get(path))
        assert not errors, errors


def test_draft_with_pending_items_is_finalised_and_paid(s: Scenario) -> None:
    clock = s.clock(T0)
    customer, _pm = s.customer(clock)
    setup = s.client.v1.invoice_items.create(
        params={"customer": customer, "amount": 5000, "currency": "usd", "description": "Setup"}
    )
    assert setup.invoice is None and setup.amount == 5000 and setup.date == T0
    invoice = s.client.v1.invoices.create(
        params={"customer": customer, "pending_invoice_items_behavior": "include"}
    )
    assert invoice.status == "draft" and invoice.billing_reason == "manual"
    assert invoice.auto_advance is False and invoice.total == 5000
    line = invoice.lines.data[0]
    assert line.parent.type == "invoice_item_details"
    assert line.parent.invoice_item_details.invoice_item == setup.id
    assert s.client.v1.invoice_items.retrieve(setup.id).invoice == invoice.id
    # More items join the draft directly.
    extra = s.client.v1.invoice_items.create(
        params={
            "customer": customer,
            "invoice": invoice.id,
            "pricing": {"price": s.price(700, interval="month")},
            "quantity": 2,
        }
    )
    assert extra.quantity == 2 and extra.amount == 1400 and extra.pricing.price_details
    draft = s.client.v1.invoices.retrieve(invoice.id)
    assert (draft.subtotal, draft.total, draft.amount_due) == (6400, 6400, 6400)
    updated = s.events("invoice.updated")[-1]["data"]
    assert updated["previous_attributes"]["amount_due"] == 5000
    listed = s.client.v1.invoice_items.list(params={"invoice": invoice.id})
    assert {i.id for i in listed.data} == {setup.id, extra.id}
    _conforms(s, f"/v1/invoiceitems/{setup.id}", f"/v1/invoiceitems/{extra.id}")
    _conforms(s, f"/v1/invoices/{invoice.id}", "/v1/invoiceitems")

    opened = s.client.v1.invoices.finalize_invoice(invoice.id)
    assert opened.status == "open" and opened.number and opened.hosted_invoice_url
    paid = s.client.v1.invoices.pay(invoice.id)
    assert paid.status == "paid" and paid.amount_paid == 6400
    _conforms(s, f"/v1/invoices/{invoice.id}")
    types = [e["type"] for e in s.events() if e["data"]["object"].get("id") == invoice.id]
    assert types[:1] == ["invoice.created"]
    assert {"invoice.finalized", "invoice.paid", "invoice.payment_succeeded"} <= set(types)
    assert s.events("invoiceitem.created")
    with pytest.raises(stripe.InvalidRequestError):
        s.client.v1.invoice_items.delete(setup.id)  # its invoice is no longer a draft


def test_pending_items_stay_pending_by_default_and_join_the_next_subscription_invoice(
    s: Scenario,
) -> None:
    clock = s.clock(T0)
    customer, _pm = s.customer(clock)
    item = s.client.v1.invoice_items.create(
        params={"customer": customer, "amount": 300, "currency": "usd", "description": "Fee"}
    )
    excluded = s.client.v1.invoices.create(params={"customer": customer})
    assert excluded.lines.data == [] and excluded.total == 0
    assert s.client.v1.invoice_items.retrieve(item.id).invoice is None
    pending = s.client.v1.invoice_items.list(params={"customer": customer, "pending": True})
    assert [i.id for i in pending.data] == [item.id]
    sub = s.subscribe(customer, s.price(2500))
    first = s.get(f"/v1/invoices/{sub['latest_invoice']}")
    assert first["total"] == 2800 and first["status"] == "paid"
    assert s.client.v1.invoice_items.retrieve(item.id).invoice == first["id"]


def test_void_uncollectible_and_delete(s: Scenario) -> None:
    customer, _pm = s.customer(None)
    to_void = s.client.v1.invoices.create(params={"customer": customer})
    s.client.v1.invoice_items.create(
        params={"customer": customer, "invoice": to_void.id, "amount": 900, "currency": "usd"}
    )
    s.client.v1.invoices.finalize_invoice(to_void.id)
    voided = s.client.v1.invoices.void_invoice(to_void.id)
    assert voided.status == "void" and voided.status_transitions.voided_at

    bad = s.client.v1.invoices.create(params={"customer": customer})
    s.client.v1.invoice_items.create(
        params={"customer": customer, "invoice": bad.id, "amount": 900, "currency": "usd"}
    )
    s.client.v1.invoices.finalize_invoice(bad.id)
    lost = s.client.v1.invoices.mark_uncollectible(bad.id)
    assert lost.status == "uncollectible"

    draft = s.client.v1.invoices.create(params={"customer": customer})
    item = s.client.v1.invoice_items.create(
        params={"customer": customer, "invoice": draft.id, "amount": 100, "currency": "usd"}
    )
    deleted = s.client.v1.invoices.delete(draft.id)
    assert deleted.deleted is True
    assert s.client.v1.invoice_items.retrieve(item.id).invoice is None  # pending again
    with pytest.raises(stripe.InvalidRequestError):
        s.client.v1.invoices.retrieve(draft.id)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        s.client.v1.invoices.delete(voided.id)
    assert "draft" in str(exc.value.user_message)
    clock = s.clock(T0)
    renewing, _pm = s.customer(clock, email="renewing@example.test")
    sub = s.subscribe(renewing, s.price(100))
    s.advance(clock, days=31, seconds=60)  # the renewal is a draft for about an hour
    renewal = s.latest_invoice(sub["id"])
    assert renewal["status"] == "draft"
    with pytest.raises(stripe.InvalidRequestError) as exc:
        s.client.v1.invoices.delete(renewal["id"])
    assert "subscription" in str(exc.value.user_message)
    types = {e["type"] for e in s.events()}
    assert {"invoice.voided", "invoice.marked_uncollectible", "invoice.deleted"} <= types


def test_send_finalises_and_announces_a_send_invoice(s: Scenario) -> None:
    customer, _pm = s.customer(None)
    invoice = s.client.v1.invoices.create(
        params={"customer": customer, "collection_method": "send_invoice", "days_until_due": 30}
    )
    s.client.v1.invoice_items.create(
        params={"customer": customer, "invoice": invoice.id, "amount": 1200, "currency": "usd"}
    )
    sent = s.client.v1.invoices.send_invoice(invoice.id)
    assert sent.status == "open" and sent.collection_method == "send_invoice"
    assert sent.due_date == sent.status_transitions.finalized_at + 30 * 86_400
    assert [e["data"]["object"]["id"] for e in s.events("invoice.sent")] == [invoice.id]
    _conforms(s, f"/v1/invoices/{invoice.id}")
    with pytest.raises(stripe.InvalidRequestError):
        s.client.v1.invoices.create(
            params={"customer": customer, "collection_method": "send_invoice"}
        )


def test_auto_advance_finalises_and_charges_an_hour_later(s: Scenario) -> None:
    clock = s.clock(T0)
    customer, _pm = s.customer(clock)
    s.client.v1.invoice_items.create(
        params={"customer": customer, "amount": 4000, "currency": "usd"}
    )
    invoice = s.client.v1.invoices.create(
        params={
            "customer": customer,
            "auto_advance": True,
            "pending_invoice_items_behavior": "include",
        }
    )
    assert invoice.automatically_finalizes_at == T0 + 3600
    s.advance(clock, seconds=3600 + 60)
    done = s.client.v1.invoices.retrieve(invoice.id)
    assert done.status == "paid" and done.amount_paid == 4000
