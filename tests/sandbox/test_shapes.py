"""Every object the foundation serves conforms to the stripe SDK's annotations."""

from __future__ import annotations

from typing import Any

import httpx

from sandbox.conformance import check_error_body, check_object
from sandbox.testing import RunningSandbox


def _get(sb: RunningSandbox, path: str, **params: Any) -> Any:
    r = httpx.get(f"{sb.url}{path}", params=params, auth=(sb.platform_key, ""))
    return r.json()


def _post(sb: RunningSandbox, path: str, data: dict[str, Any] | None = None) -> Any:
    r = httpx.post(f"{sb.url}{path}", data=data or {}, auth=(sb.platform_key, ""))
    return r.json()


def test_foundation_objects_conform(sb: RunningSandbox) -> None:
    clock = _post(sb, "/v1/test_helpers/test_clocks", {"frozen_time": "1700000000", "name": "c"})
    customer = _post(
        sb,
        "/v1/customers",
        {
            "email": "s@x.com",
            "name": "S",
            "test_clock": clock["id"],
            "address[city]": "Paris",
            "shipping[name]": "S",
            "shipping[address][line1]": "1 rue",
            "metadata[k]": "v",
        },
    )
    pm = _post(sb, "/v1/payment_methods/pm_card_visa/attach", {"customer": customer["id"]})
    _post(
        sb,
        f"/v1/customers/{customer['id']}",
        {"invoice_settings[default_payment_method]": pm["id"]},
    )
    product = _post(
        sb,
        "/v1/products",
        {
            "name": "Pro",
            "default_price_data[currency]": "eur",
            "default_price_data[unit_amount]": "900",
        },
    )
    monthly = _post(
        sb,
        "/v1/prices",
        {
            "product": product["id"],
            "currency": "usd",
            "unit_amount": "1000",
            "recurring[interval]": "month",
        },
    )
    yearly = _post(
        sb,
        "/v1/prices",
        {
            "product": product["id"],
            "currency": "gbp",
            "unit_amount": "9000",
            "recurring[interval]": "year",
        },
    )
    coupon = _post(
        sb, "/v1/coupons", {"percent_off": "25", "duration": "repeating", "duration_in_months": "3"}
    )
    endpoint = _post(
        sb, "/v1/webhook_endpoints", {"url": "http://127.0.0.1:9/x", "enabled_events[]": "*"}
    )
    advancing = _post(
        sb, f"/v1/test_helpers/test_clocks/{clock['id']}/advance", {"frozen_time": "1700003600"}
    )
    sb.wait_for_clock(None, clock["id"])
    account = sb.create_account(name="Shop")
    objects = {
        "clock": clock,
        "advancing clock": advancing,
        "customer": customer,
        "payment_method": pm,
        "product": product,
        "price (monthly)": monthly,
        "price (yearly)": yearly,
        "coupon": coupon,
        "webhook_endpoint": endpoint,
        "customer (expanded)": _get(
            sb,
            f"/v1/customers/{customer['id']}",
            **{
                "expand[]": [
                    "invoice_settings.default_payment_method",
                    "test_clock",
                    "sources",
                    "tax_ids",
                ]
            },
        ),
        "account": _get(sb, f"/v1/accounts/{account['id']}"),
        "own account": _get(sb, "/v1/account"),
        "customers": _get(sb, "/v1/customers", test_clock=clock["id"]),
        "events": _get(sb, "/v1/events", limit=100),
        "search": _get(sb, "/v1/customers/search", query="email:'s@x.com'"),
        "deleted coupon": httpx.delete(
            f"{sb.url}/v1/coupons/{coupon['id']}", auth=(sb.platform_key, "")
        ).json(),
        "deleted endpoint": httpx.delete(
            f"{sb.url}/v1/webhook_endpoints/{endpoint['id']}", auth=(sb.platform_key, "")
        ).json(),
        "deleted customer": httpx.delete(
            f"{sb.url}/v1/customers/{customer['id']}", auth=(sb.platform_key, "")
        ).json(),
    }
    assert objects["customer (expanded)"]["sources"]["object"] == "list"
    assert objects["customer (expanded)"]["test_clock"]["object"] == "test_helpers.test_clock"
    problems = {name: check_object(obj) for name, obj in objects.items()}
    assert {name: errs for name, errs in problems.items() if errs} == {}
    events = objects["events"]["data"]
    assert {e["type"] for e in events} >= {
        "customer.created",
        "payment_method.attached",
        "product.created",
        "price.created",
        "coupon.created",
    }
    for event in events:
        assert check_object(event["data"]["object"]) == [], event["type"]


def test_error_bodies_conform(sb: RunningSandbox) -> None:
    bodies = [
        _get(sb, "/v1/customers/cus_nope"),
        _get(sb, "/v1/customers", limit="x"),
        httpx.get(f"{sb.url}/v1/customers").json(),
        _post(sb, "/v1/payment_methods", {"type": "card", "card[number]": "1234"}),
    ]
    for body in bodies:
        assert check_error_body(body) == [], body
