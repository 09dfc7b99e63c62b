"""Products, prices (monthly / annual, several currencies) and coupons."""

from __future__ import annotations

import pytest
import stripe

from sandbox.testing import RunningSandbox


def test_products_and_prices(sb: RunningSandbox) -> None:
    client = sb.client()
    product = client.v1.products.create(params={"name": "Pro", "metadata": {"tier": "2"}})
    monthly = client.v1.prices.create(
        params={
            "product": product.id,
            "currency": "usd",
            "unit_amount": 2000,
            "recurring": {"interval": "month"},
            "lookup_key": "pro_monthly",
        }
    )
    annual = client.v1.prices.create(
        params={
            "product": product.id,
            "currency": "EUR",
            "unit_amount": 20000,
            "recurring": {"interval": "year"},
        }
    )
    once = client.v1.prices.create(
        params={"product_data": {"name": "Setup fee"}, "currency": "gbp", "unit_amount": 500}
    )
    assert monthly.type == "recurring" and monthly.recurring.interval == "month"
    assert monthly.recurring.interval_count == 1 and monthly.recurring.usage_type == "licensed"
    assert annual.currency == "eur" and annual.recurring.interval == "year"
    assert once.type == "one_time" and once.recurring is None
    assert client.v1.products.retrieve(once.product).name == "Setup fee"

    by_product = client.v1.prices.list(params={"product": product.id})
    assert [p.id for p in by_product.data] == [annual.id, monthly.id]
    yearly = client.v1.prices.list(params={"recurring": {"interval": "year"}})
    assert [p.id for p in yearly.data] == [annual.id]
    by_key = client.v1.prices.list(params={"lookup_keys": ["pro_monthly"]})
    assert [p.id for p in by_key.data] == [monthly.id]
    assert [p.id for p in client.v1.prices.list(params={"currency": "gbp"}).data] == [once.id]

    client.v1.prices.update(monthly.id, params={"active": False})
    active = client.v1.prices.list(params={"active": True, "product": product.id})
    assert [p.id for p in active.data] == [annual.id]
    updated = client.v1.products.update(product.id, params={"default_price": annual.id})
    assert updated.default_price == annual.id
    expanded = client.v1.products.retrieve(product.id, params={"expand": ["default_price"]})
    assert expanded.default_price.unit_amount == 20000
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.products.delete(product.id)  # it has prices
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.prices.create(
            params={
                "product": product.id,
                "currency": "usd",
                "unit_amount": 1,
                "recurring": {"interval": "fortnight"},
            }  # type: ignore[typeddict-item]
        )
    assert exc.value.param == "recurring[interval]"
    lonely = client.v1.products.create(params={"name": "Unused", "id": "prod_unused"})
    assert client.v1.products.delete(lonely.id).deleted is True
    types = {e.type for e in client.v1.events.list(params={"limit": 100}).data}
    assert {
        "product.created",
        "product.updated",
        "product.deleted",
        "price.created",
        "price.updated",
    } <= types


def test_coupons(sb: RunningSandbox) -> None:
    client = sb.client()
    pct = client.v1.coupons.create(
        params={"percent_off": 20, "duration": "repeating", "duration_in_months": 3, "id": "SAVE20"}
    )
    assert pct.id == "SAVE20" and pct.percent_off == 20.0 and pct.valid
    fixed = client.v1.coupons.create(params={"amount_off": 500, "currency": "usd"})
    assert fixed.duration == "once" and fixed.amount_off == 500
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.coupons.create(params={"amount_off": 500})  # currency required
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.coupons.create(params={"id": "SAVE20", "percent_off": 5})
    renamed = client.v1.coupons.update("SAVE20", params={"name": "Spring"})
    assert renamed.name == "Spring"
    assert [c.id for c in client.v1.coupons.list().data] == [fixed.id, "SAVE20"]
    assert client.v1.coupons.delete("SAVE20").deleted is True
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.coupons.retrieve("SAVE20")
