"""Unit tests of the foundation's pure parts: form parsing, search queries, the store."""

from __future__ import annotations

import pytest

from sandbox.errors import StripeError
from sandbox.forms import Params, parse_query
from sandbox.ids import IdFactory
from sandbox.search import compile_query, field_getter
from sandbox.signing import sign
from sandbox.store import AccountStore


def test_parse_nested_keys() -> None:
    parsed = parse_query(
        "a[b][0]=x&a[b][1]=y&metadata[0]=zero&expand[]=p&expand[]=q&items[0][price]=pr"
        "&items[0][quantity]=2&empty="
    )
    assert parsed == {
        "a": {"b": ["x", "y"]},
        "metadata": {"0": "zero"},
        "expand": ["p", "q"],
        "items": [{"price": "pr", "quantity": "2"}],
        "empty": "",
    }


def test_params_validation_names_the_param() -> None:
    p = Params(parse_query("limit=abc&card[exp_month]=13&flag=maybe"))
    with pytest.raises(StripeError) as exc:
        p.int("limit")
    assert exc.value.param == "limit" and exc.value.status == 400
    card = p.sub("card")
    assert card is not None
    with pytest.raises(StripeError) as exc:
        card.int("exp_month", maximum=12)
    assert exc.value.param == "card[exp_month]"
    with pytest.raises(StripeError):
        p.bool("flag")
    with pytest.raises(StripeError) as exc:
        p.check(("limit",))
    assert exc.value.code == "parameter_unknown"


def test_search_language() -> None:
    fields = {"email": field_getter("email"), "created": field_getter("created")}
    objs = [
        {"email": "Ann@x.com", "created": 10, "metadata": {"plan": "pro"}},
        {"email": "bob@x.com", "created": 20, "metadata": {"plan": "free"}},
        {"email": None, "created": 30, "metadata": {}},
    ]

    def run(query: str) -> list[int]:
        pred = compile_query(query, fields, "customers")
        return [o["created"] for o in objs if pred(o)]

    assert run("email:'ann@x.com'") == [10]
    assert run("email~'x.c'") == [10, 20]
    assert run("-email:'bob@x.com'") == [10, 30]
    assert run("created>=20 AND metadata['plan']:'free'") == [20]
    assert run("metadata['plan']:'pro' OR created<15") == [10]
    assert run("email:null") == [30]
    for bad in (
        "colour:'red'",
        "email:'a' AND",
        "email:'a' AND created>1 OR created<2",
        "email~'ab'",
    ):
        with pytest.raises(StripeError):
            compile_query(bad, fields, "customers")


def test_store_indexes_follow_updates_and_deletes() -> None:
    store = AccountStore("acct_1")
    for i in range(5):
        store.insert(
            {"id": f"pm_{i}", "object": "payment_method", "created": 100 - i, "customer": None}
        )
    pm = store.objects["pm_2"]
    pm["customer"] = "cus_a"
    store.save(pm)
    assert [k[2] for k in store.index_for("payment_method", "customer", "cus_a").keys] == ["pm_2"]
    pm["customer"] = None
    store.save(pm)
    assert store.index_for("payment_method", "customer", "cus_a").keys == []
    # Sorted by created even when inserted out of order.
    assert [k[2] for k in store.index_for("payment_method").keys] == [
        f"pm_{i}" for i in range(4, -1, -1)
    ]
    store.delete("pm_0")
    assert store.tombstones["pm_0"] == {"id": "pm_0", "object": "payment_method", "deleted": True}
    assert store.count("payment_method") == 4


def test_ids_are_deterministic_per_prefix() -> None:
    a, b = IdFactory("seed"), IdFactory("seed")
    assert [a.token("cus") for _ in range(3)] == [b.token("cus") for _ in range(3)]
    a.token("pm")
    assert a.token("cus") == b.token("cus")  # another prefix does not shift the stream
    assert a.token("in").startswith("in_1") and len(a.token("in")) == 27


def test_signature_matches_stripe_sdk() -> None:
    import stripe

    payload = '{"id": "evt_1"}'
    header = sign(payload, "whsec_abc", 1_700_000_000)
    assert header == stripe.WebhookSignature.generate_signature_header(
        payload, "whsec_abc", timestamp=1_700_000_000
    )
