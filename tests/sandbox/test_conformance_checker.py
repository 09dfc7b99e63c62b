"""The conformance checker itself: it must pass good objects and fail bad ones."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import stripe

from sandbox.conformance import (
    ConformanceError,
    assert_conforms,
    check_error_body,
    check_object,
    class_for_object,
)


def _clock() -> dict[str, Any]:
    return {
        "id": "clock_1",
        "object": "test_helpers.test_clock",
        "created": 1_700_000_000,
        "deletes_after": 1_700_600_000,
        "frozen_time": 1_700_000_000,
        "livemode": False,
        "name": None,
        "status": "ready",
        "status_details": {},
    }


def _endpoint() -> dict[str, Any]:
    return {
        "id": "we_1",
        "object": "webhook_endpoint",
        "api_version": None,
        "application": None,
        "created": 1_700_000_000,
        "description": None,
        "enabled_events": ["invoice.paid"],
        "livemode": False,
        "metadata": {"team": "billing"},
        "secret": "whsec_x",
        "status": "enabled",
        "url": "https://example.test/hook",
    }


def _refund() -> dict[str, Any]:
    return {
        "id": "re_1",
        "object": "refund",
        "amount": 500,
        "balance_transaction": None,
        "charge": "ch_1",
        "created": 1_700_000_000,
        "currency": "usd",
        "metadata": {},
        "payment_intent": "pi_1",
        "reason": None,
        "receipt_number": None,
        "status": "succeeded",
    }


def test_class_resolution_from_object_name() -> None:
    assert class_for_object("invoice") is stripe.Invoice
    assert class_for_object("billing_portal.session") is stripe.billing_portal.Session
    assert class_for_object("no_such_thing") is None


def test_good_objects_conform() -> None:
    assert check_object(_clock()) == []
    assert check_object(_endpoint()) == []
    assert check_object(_refund()) == []


def test_missing_required_field_is_reported_with_its_path() -> None:
    clock = _clock()
    del clock["frozen_time"]
    assert check_object(clock) == ["$.frozen_time: required by TestClock but missing"]


def test_optional_field_may_be_absent_or_null_but_required_may_not_be_null() -> None:
    endpoint = _endpoint()
    del endpoint["description"]
    assert check_object(endpoint) == []
    endpoint["url"] = None
    errors = check_object(endpoint)
    assert len(errors) == 1 and errors[0].startswith("$.url")


def test_literal_values_outside_the_sdk_enum_fail() -> None:
    refund = _refund()
    refund["object"] = "refunds"
    assert any("$.object" in e and "'refunds'" in e for e in check_object(refund, stripe.Refund))
    transitions = {
        "finalized_at": None,
        "marked_uncollectible_at": None,
        "paid_at": 5,
        "voided_at": None,
        "canceled_at": None,
    }
    errors = check_object(transitions, stripe.Invoice.StatusTransitions)
    assert errors == ["$.canceled_at: not declared by Invoice.StatusTransitions"]


def test_closed_literal_rejects_and_bool_is_not_an_int() -> None:
    clock = _clock()
    clock["deleted"] = 1  # Literal[True] must be the JSON true, not 1
    assert any(e.startswith("$.deleted") for e in check_object(clock))
    clock = _clock()
    clock["created"] = True
    assert any(e.startswith("$.created") for e in check_object(clock))


def test_undeclared_field_is_reported_unless_lenient() -> None:
    clock = _clock()
    clock["speed"] = 10
    assert check_object(clock) == ["$.speed: not declared by TestClock"]
    assert check_object(clock, strict_extra=False) == []


def test_expandable_field_accepts_an_id_or_the_expanded_object() -> None:
    refund = _refund()
    charge_stub = {"id": "ch_1", "object": "charge", "amount": "not an int"}
    refund["charge"] = charge_stub
    errors = check_object(refund)
    # The expanded charge is checked as a Charge: wrong type and many missing fields.
    assert "$.charge.amount: expected <class 'int'>, got 'not an int'" in errors
    assert "$.charge.captured: required by Charge but missing" in errors
    refund["charge"] = 42
    assert any(e.startswith("$.charge:") for e in check_object(refund))


def test_nested_objects_recurse() -> None:
    session = {
        "id": "bps_1",
        "object": "billing_portal.session",
        "configuration": "bpc_1",
        "created": 1,
        "customer": "cus_1",
        "customer_account": None,
        "flow": {"type": "payment_method_update", "after_completion": {"type": "nope"}},
        "livemode": False,
        "locale": None,
        "on_behalf_of": None,
        "return_url": None,
        "url": "http://x/p/session/bps_1",
    }
    errors = check_object(session)
    assert any(e.startswith("$.flow.after_completion.type: 'nope' is not one of") for e in errors)
    # The SDK types this enum open (Literal[...] | str); lenient mode honours that.
    assert check_object(session, strict_enums=False) == []


def test_list_objects_check_their_items_and_wire_fields() -> None:
    good = {"object": "list", "data": [_clock()], "has_more": False, "url": "/v1/x"}
    assert check_object(good) == []
    bad = copy.deepcopy(good)
    del bad["data"][0]["livemode"]
    bad["total"] = 1
    errors = check_object(bad)
    assert "$.data[0].livemode: required by TestClock but missing" in errors
    assert "$.total: not declared by list" in errors
    assert check_object({"object": "list", "data": []}) == [
        "$.has_more: required by list but missing",
        "$.url: required by list but missing",
    ]


def test_search_result_allows_null_next_page() -> None:
    page = {
        "object": "search_result",
        "data": [],
        "has_more": False,
        "url": "/v1/x/search",
        "next_page": None,
    }
    assert check_object(page) == []
    page["next_page"] = 3
    assert check_object(page) != []


def test_metadata_values_must_be_strings() -> None:
    endpoint = _endpoint()
    endpoint["metadata"] = {"n": 3}
    assert check_object(endpoint) == ["$.metadata.n: expected <class 'str'>, got 3"]


def test_event_payload_object_is_checked_too() -> None:
    event = {
        "id": "evt_1",
        "object": "event",
        "account": None,
        "api_version": "2026-10-28.endive",
        "context": None,
        "created": 1,
        "data": {"object": _clock(), "previous_attributes": {"status": "advancing"}},
        "livemode": False,
        "pending_webhooks": 0,
        "request": {"id": None, "idempotency_key": None},
        "type": "test_helpers.test_clock.ready",
    }
    assert check_object(event) == []
    event["type"] = "test_helpers.test_clock.exploded"
    del event["data"]["object"]["status"]
    errors = check_object(event)
    assert any(e.startswith("$.type:") for e in errors)
    assert "$.data.object.status: required by TestClock but missing" in errors


def test_deleted_stub_needs_only_id_object_and_deleted() -> None:
    assert check_object({"id": "we_1", "object": "webhook_endpoint", "deleted": True}) == []
    assert check_object({"id": "we_1", "object": "webhook_endpoint"}) != []


def test_error_bodies() -> None:
    good = {
        "error": {
            "type": "card_error",
            "code": "card_declined",
            "decline_code": "insufficient_funds",
            "message": "Your card has insufficient funds.",
        }
    }
    assert check_error_body(good) == []
    assert check_error_body({"error": {"message": "x"}}) == [
        "$.error.type: required by ErrorObject but missing"
    ]
    assert check_error_body({"message": "x"}) != []


def test_assert_conforms_raises_with_every_violation() -> None:
    clock = _clock()
    del clock["id"]
    clock["extra"] = 1
    with pytest.raises(ConformanceError) as info:
        assert_conforms(clock)
    assert "$.id" in str(info.value) and "$.extra" in str(info.value)


def test_every_billing_class_resolves() -> None:
    # Resolving annotations for the big classes must not hit an unresolvable name.
    for name in (
        "invoice",
        "subscription",
        "subscription_item",
        "charge",
        "payment_intent",
        "dispute",
        "line_item",
        "invoice_payment",
        "payment_method",
        "customer",
        "event",
        "account",
        "balance_transaction",
        "billing_portal.configuration",
        "price",
        "product",
        "coupon",
    ):
        cls = class_for_object(name)
        assert cls is not None
        assert check_object({"object": name}, cls) != []
