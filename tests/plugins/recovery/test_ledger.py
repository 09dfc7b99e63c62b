"""The attempt ledger's retry budget: never-retry answers and the card-network limit, per card."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.tenancy import workspace_scope
from plugins.recovery import ledger
from plugins.recovery.lookup import decline_from_intent
from plugins.recovery.models import AttemptOutcome, AttemptSource
from tests.plugins.recovery.conftest import ACCOUNT, enabled_workspace

NOW = datetime(2026, 3, 3, 12, tzinfo=UTC)


async def _failed(n: int, at: datetime, card: str = "", **codes: str) -> bool:
    return await ledger.record(
        ACCOUNT, "in_1", key=f"attempt:{n}", source=AttemptSource.STRIPE, at=at,
        outcome=AttemptOutcome.FAILED, payment_method_id=card, **codes,
    )


async def test_the_card_network_limit_counts_fifteen_attempts_in_thirty_days(app: object) -> None:
    with workspace_scope(await enabled_workspace("a")):
        for n in range(ledger.MAX_ATTEMPTS - 1):
            await _failed(n, NOW - timedelta(days=29))
        assert (await ledger.may_retry(ACCOUNT, "in_1", NOW)).allowed
        await _failed(99, NOW - timedelta(days=40))  # outside the window: not counted
        assert (await ledger.may_retry(ACCOUNT, "in_1", NOW)).allowed
        await _failed(100, NOW - timedelta(hours=1))
        verdict = await ledger.may_retry(ACCOUNT, "in_1", NOW)
        assert not verdict.allowed and "15 attempts in 30 days" in verdict.reason
        # Two days on, the oldest fourteen have left the window.
        assert (await ledger.may_retry(ACCOUNT, "in_1", NOW + timedelta(days=2))).allowed


async def test_an_attempt_is_counted_once(app: object) -> None:
    with workspace_scope(await enabled_workspace("a")):
        assert await _failed(1, NOW)
        assert not await _failed(1, NOW)  # the same attempt, from a redelivered event


async def test_never_retry_answers_stop_that_card_only(app: object) -> None:
    with workspace_scope(await enabled_workspace("a")):
        await _failed(1, NOW, "pm_old", decline_code="previously_declined_do_not_retry")
        verdict = await ledger.may_retry(ACCOUNT, "in_1", NOW)
        assert not verdict.allowed and "previously_declined_do_not_retry" in verdict.reason
        # The customer's replacement card has a clean record.
        assert (await ledger.may_retry(ACCOUNT, "in_1", NOW, "pm_new")).allowed
        await _failed(2, NOW, "pm_new", code="card_declined", advice_code="do_not_try_again")
        verdict = await ledger.may_retry(ACCOUNT, "in_1", NOW, "pm_new")
        assert not verdict.allowed and "do_not_try_again" in verdict.reason


async def test_a_paid_invoice_is_never_retried(app: object) -> None:
    with workspace_scope(await enabled_workspace("a")):
        await ledger.record_paid(ACCOUNT, "in_1", NOW)
        assert not (await ledger.may_retry(ACCOUNT, "in_1", NOW, "pm_new")).allowed
        assert await ledger.is_paid(ACCOUNT, "in_1")


def test_the_decline_names_the_card_charged_bare_or_expanded() -> None:
    bare = {"id": "pi_1", "latest_charge": {"id": "ch_1", "payment_method": "pm_1"},
            "last_payment_error": {"code": "card_declined", "advice_code": "do_not_try_again"}}
    decline = decline_from_intent(bare)
    assert (decline.payment_method_id, decline.advice_code) == ("pm_1", "do_not_try_again")
    expanded = {"id": "pi_2", "latest_charge": "ch_2",
                "last_payment_error": {"code": "card_declined", "payment_method": {"id": "pm_2"}}}
    assert decline_from_intent(expanded).payment_method_id == "pm_2"
    assert decline_from_intent({"id": "pi_3"}).payment_method_id == ""
