"""Pure pieces of the billing engine: retry offsets, decline table, expiry, periods."""

from __future__ import annotations

import datetime

import pytest

from sandbox.billing.declines import behaviour_for, card_expired, decline_table, retryable
from sandbox.billing.settings import DAY, BillingSettings
from sandbox.billing.subscriptions import add_interval


def _ts(*args: int) -> int:
    return int(datetime.datetime(*args, tzinfo=datetime.UTC).timestamp())


def test_retry_offsets_spread_over_the_window_or_follow_explicit_days() -> None:
    assert BillingSettings().retry_offsets() == [int(3.5 * DAY), 7 * DAY, int(10.5 * DAY), 14 * DAY]
    assert BillingSettings(retries=0).retry_offsets() == []
    assert BillingSettings(retry_days=(1, 3, 7)).retry_offsets() == [DAY, 3 * DAY, 7 * DAY]


def test_settings_updates_are_validated() -> None:
    updated = BillingSettings().updated(
        {"retries": "2", "retry_days": "1, 2", "invoice_end_state": "uncollectible"}
    )
    assert updated.retries == 2 and updated.retry_days == (1.0, 2.0)
    assert updated.invoice_end_state == "uncollectible"
    with pytest.raises(ValueError):
        BillingSettings().updated({"subscription_end_state": "deleted"})
    with pytest.raises(ValueError):
        BillingSettings().updated({"retries": -1})
    with pytest.raises(ValueError):
        BillingSettings().updated({"colour": "blue"})


def test_decline_table_marks_what_smart_retries_never_retries() -> None:
    table = decline_table()
    assert len(table) > 40
    never = {code for code, info in table.items() if info.never_retried}
    assert {"authentication_required", "lost_card", "stolen_card", "pickup_card"} <= never
    assert not retryable("stolen_card") and not retryable("incorrect_number")
    assert retryable("insufficient_funds") and retryable("do_not_honor") and retryable(None)
    assert table["insufficient_funds"].category == "funds"


def test_card_expires_after_the_last_day_of_its_month() -> None:
    card = {"exp_month": 2, "exp_year": 2026}
    assert not card_expired(card, _ts(2026, 2, 28, 23, 59))
    assert card_expired(card, _ts(2026, 3, 1))
    assert card_expired({"exp_month": 12, "exp_year": 2025}, _ts(2026, 1, 1))
    assert not card_expired({}, _ts(2026, 1, 1))


def test_behaviour_comes_from_the_stored_card_then_the_number_then_expiry() -> None:
    visa = {"card": {"last4": "4242", "exp_month": 12, "exp_year": 2030}}
    assert not behaviour_for(visa).declines
    stored = {
        "card": {"outcome": "decline", "code": "card_declined", "decline_code": "do_not_honor"}
    }
    assert behaviour_for(visa, stored).decline_code == "do_not_honor"
    assert behaviour_for({"card": {"last4": "9995"}}).decline_code == "insufficient_funds"
    expired = behaviour_for(visa, None, _ts(2031, 1, 1))
    assert expired.code == "expired_card" and expired.decline_code == "expired_card"
    blocked = behaviour_for(visa, {"card": {"outcome": "blocked", "decline_code": "fraudulent"}})
    assert blocked.blocked and blocked.declines
    inquiry = behaviour_for(visa, {"card": {"outcome": "dispute", "number": "4000000000001976"}})
    assert inquiry.dispute and inquiry.dispute_reason == "inquiry"


@pytest.mark.parametrize(
    ("start", "interval", "count", "expected"),
    [
        (_ts(2026, 1, 31), "month", 1, _ts(2026, 2, 28)),
        (_ts(2026, 1, 31), "month", 2, _ts(2026, 3, 31)),
        (_ts(2024, 2, 29), "year", 1, _ts(2025, 2, 28)),
        (_ts(2026, 1, 1), "week", 2, _ts(2026, 1, 15)),
        (_ts(2026, 12, 15), "month", 1, _ts(2027, 1, 15)),
    ],
)
def test_periods_keep_the_anchor_day(start: int, interval: str, count: int, expected: int) -> None:
    assert add_interval(start, interval, count, start) == expected
