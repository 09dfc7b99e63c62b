"""Small pure pieces: MRR normalisation, the month timeline, Retry-After, the SVG bars."""

from __future__ import annotations

from datetime import UTC, datetime

import stripe

from plugins.audit.chart import bars
from plugins.audit.declines import category_of
from plugins.audit.diagnostic.expiring_cards import analyse as expiring
from plugins.audit.diagnostic.money import subscription_mrr
from plugins.audit.diagnostic.reader import _retry_after


def sub(interval: str, amount: int, count: int = 1, quantity: int = 1) -> dict[str, object]:
    price = {"unit_amount": amount, "recurring": {"interval": interval, "interval_count": count}}
    return {"currency": "usd", "items": {"data": [{"price": price, "quantity": quantity}]}}


def test_mrr_normalises_every_interval_to_a_month() -> None:
    assert subscription_mrr(sub("month", 2900)) == ("usd", 2900)
    assert subscription_mrr(sub("year", 29000)) == ("usd", 2417)  # 29000 / 12, rounded once
    assert subscription_mrr(sub("month", 9000, count=3)) == ("usd", 3000)
    assert subscription_mrr(sub("week", 500)) == ("usd", 2167)  # 500 * 52 / 12
    assert subscription_mrr(sub("month", 1000, quantity=3)) == ("usd", 3000)


def test_timeline_crosses_the_year_and_flags_expired_cards() -> None:
    reference = int(datetime(2026, 11, 20, tzinfo=UTC).timestamp())
    subs = {
        "a": {"status": "active", "card_exp": [12, 2026], "currency": "usd", "mrr": 100},
        "b": {"status": "past_due", "card_exp": [1, 2027], "currency": "usd", "mrr": 50},
        "c": {"status": "active", "card_exp": [1, 2027], "currency": "eur", "mrr": 70},
        "d": {"status": "active", "card_exp": [10, 2026], "currency": "usd", "mrr": 30},
        "e": {"status": "canceled", "card_exp": [12, 2026], "currency": "usd", "mrr": 999},
        "f": {"status": "trialing", "card_exp": None, "currency": "usd", "mrr": 0},
    }
    result = expiring(subs, reference, months=3)
    assert [(m["month"], m["count"]) for m in result["months"]] == [
        ("2026-11", 0),
        ("2026-12", 1),
        ("2027-01", 2),
    ]
    assert result["peak_month"] == "2027-01"
    assert result["revenue_at_risk"] == {"eur": 70, "usd": 150}
    assert result["expired_not_refreshed"] == {"count": 1, "mrr": {"usd": 30}}
    assert result["without_card"] == 1 and result["advisory"]
    drawn = bars(result)
    assert [b.count for b in drawn] == [0, 1, 2] and [b.peak for b in drawn] == [False, False, True]
    assert drawn[2].height > drawn[1].height > drawn[0].height == 0


def test_retry_after_is_honoured_and_bounded() -> None:
    def error(headers: dict[str, str] | None) -> stripe.RateLimitError:
        return stripe.RateLimitError("slow down", headers=headers)

    assert _retry_after(error({"retry-after": "3"}), 0) == 3.0
    assert _retry_after(error({"retry-after": "9999"}), 0) == 60.0
    assert _retry_after(error(None), 0) == 0.25
    assert _retry_after(error(None), 2) == 1.0


def test_decline_categories_come_from_the_table() -> None:
    assert category_of("insufficient_funds") == "funds"
    assert category_of("expired_card") == "card_update"
    assert category_of("authentication_required") == "authentication"
    assert category_of(None) == "no_payment_method"
    assert category_of("made_up_code") == "unknown"


class FlakyClient:
    """Fails as told, then serves one page; records the options it was called with."""

    def __init__(self, failures: list[Exception]) -> None:
        self.failures = failures
        self.seen: list[dict[str, object]] = []

    async def raw_request_async(self, method: str, url: str, **params: object) -> object:
        self.seen.append(params)
        if self.failures:
            raise self.failures.pop(0)

        class Response:
            body = '{"object": "list", "data": [{"id": "in_1"}], "has_more": false}'

        return Response()


async def test_retries_are_the_readers_own_and_all_counted() -> None:
    from plugins.audit.diagnostic.reader import StripeReader

    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    client = FlakyClient(
        [
            stripe.RateLimitError("slow down", headers={"retry-after": "2"}),
            stripe.APIError("oops", http_status=503),
        ]
    )
    reader = StripeReader(client, {"stripe_account": "acct_1"}, rate=1000, sleep=sleep)  # type: ignore[arg-type]
    page = await reader.list_page("invoices", {"limit": 100})
    assert page["data"] == [{"id": "in_1"}]
    assert (reader.calls, reader.rate_limited, reader.connection_errors) == (3, 1, 1)
    assert waits[0] == 2.0
    assert all(
        seen["max_network_retries"] == 0 and seen["stripe_account"] == "acct_1"
        for seen in client.seen
    )


def test_disputes_open_deadlines_and_record() -> None:
    from plugins.audit.diagnostic.disputes import analyse

    def dispute(status: str, created: int, due: int | None = None, amount: int = 1000) -> dict:
        return {
            "status": status,
            "amount": amount,
            "currency": "usd",
            "created": created,
            "due_by": due,
            "reason": "fraudulent",
            "charge": "ch_1",
        }

    records = {
        "dp_old_lost": dispute("lost", 10),
        "dp_won": dispute("won", 200),
        "dp_lost": dispute("lost", 300),
        "dp_late": dispute("needs_response", 400, due=900, amount=500),
        "dp_soon": dispute("warning_needs_response", 500, due=700, amount=700),
        "dp_review": dispute("under_review", 600, due=650),
    }
    result = analyse(records, since=100)
    assert result["open"] == {"count": 3, "amount": {"usd": 2200}}
    assert result["needs_response"] == 2
    assert [d["id"] for d in result["nearest_deadlines"]] == ["dp_soon", "dp_late"]
    assert result["period"] == {"count": 5, "won": 1, "lost": 1, "open": 3, "amount": {"usd": 4200}}
    assert result["win_rate"] == 0.5


def test_retry_settings_are_inferred_from_attempts() -> None:
    from plugins.audit.diagnostic.health import _retries

    def row(attempts: int, fate: str = "open", scheduled: bool = False) -> dict:
        return {"attempt_count": attempts, "fate": fate, "retry_scheduled": scheduled}

    assert _retries({}, {"invoices": []})["inferred"] == "unknown"
    assert _retries({}, {"invoices": [row(1), row(1, "void")]})["inferred"] == "off"
    assert _retries({}, {"invoices": [row(2), row(1)]})["inferred"] == "short"
    assert _retries({}, {"invoices": [row(5), row(2, "paid_later")]})["inferred"] == "on"
    assert _retries({}, {"invoices": [row(1, scheduled=True)]})["inferred"] == "on"


def test_progress_counts_every_planned_list_from_the_start() -> None:
    from plugins.audit.diagnostic import progress_of
    from plugins.audit.diagnostic.streams import planned_keys

    before = progress_of({})
    assert sum(row["lists"] for row in before.values()) == len(planned_keys([]))
    assert not any(row["done"] or row["lists_done"] for row in before.values())
    one_slice = {"pages": 2, "done": True, "records": {"in_1": {}, "in_2": {}}}
    checkpoint = {
        "lists": planned_keys(["clock_a"]),
        "streams": {"clocks": {"pages": 1, "done": True}, "invoices:0": one_slice},
    }
    progress = progress_of(checkpoint)
    # One slice of four finished: the invoices are not done, and the total did not grow.
    assert progress["invoices"] == {
        "pages": 2,
        "objects": 2,
        "lists": 4,
        "lists_done": 1,
        "done": False,
    }
    assert progress["customers"]["lists"] == 2  # off-clock and clock_a
    assert progress["clocks"]["done"]
    assert sum(row["lists"] for row in progress.values()) == len(planned_keys(["clock_a"]))
