"""The stats module on real rows: every figure checked against hand-computed values."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

import pytest

from core.clock import FrozenClock
from core.email import EmailStatus, OutboundEmail
from core.tenancy import workspace_scope
from plugins.recovery import stats
from plugins.recovery.models import Case, CaseKind, CaseStatus, CaseStep, StepStatus
from tests.plugins.recovery.conftest import ACCOUNT, enabled_workspace

DAY = timedelta(days=1)
_n = itertools.count(1)


async def make_case(
    now: datetime,
    *,
    opened: float,
    status: CaseStatus = CaseStatus.OPEN,
    category: str = "funds",
    amount: int = 1000,
    currency: str = "usd",
    recovered: float | None = None,
    by: str = "",
    kind: CaseKind = CaseKind.DUNNING,
) -> Case:
    """A case opened `opened` days ago (and recovered `recovered` days ago)."""
    n = next(_n)
    opened_at = now - timedelta(days=opened)
    extra: dict[str, Any] = {}
    if recovered is not None:
        at = now - timedelta(days=recovered)
        extra = {
            "recovered_at": at,
            "recovered_amount": amount,
            "recovered_by_step": by,
            "time_to_recover": int((at - opened_at).total_seconds()),
            "closed_at": at,
        }
    return await Case.create(
        stripe_account_id=ACCOUNT,
        invoice_id=f"in_{n}",
        customer_id=f"cus_{n}",
        customer_email=f"c{n}@example.test",
        amount=amount,
        currency=currency,
        category=category,
        status=status,
        opened_at=opened_at,
        kind=kind,
        **extra,
    )


async def make_step(
    case: Case,
    index: int,
    type_: str,
    due: datetime,
    *,
    status: StepStatus = StepStatus.PENDING,
    result: dict[str, Any] | None = None,
    finished: datetime | None = None,
) -> CaseStep:
    return await CaseStep.create(
        case=case,
        index=index,
        type=type_,
        due_at=due,
        status=status,
        idempotency_key=f"k{next(_n)}",
        result=result or {},
        finished_at=finished,
    )


async def make_email(
    now: datetime,
    ago: float,
    status: EmailStatus,
    *,
    bounced: bool = False,
    category: str = "recovery",
) -> OutboundEmail:
    n = next(_n)
    return await OutboundEmail.create(
        key=f"e{n}",
        idempotency_key=f"e{n}",
        message_id=f"<{n}@x>",
        to_address="a@b.test",
        from_address="s@x.test",
        subject="S",
        text_body="t",
        html_body="<p>t</p>",
        category=category,
        customer_facing=True,
        status=status,
        bounced=bounced,
        created_at=now - timedelta(days=ago),
    )


@pytest.fixture
async def seeded(app: object, clock: FrozenClock) -> dict[str, Any]:
    now = clock.now()
    ws = await enabled_workspace("a")
    other = await enabled_workspace("b")
    with workspace_scope(other):  # must never show up in workspace a's figures
        await make_case(
            now, opened=2, status=CaseStatus.RECOVERED, recovered=1, amount=99_999, by="0:email"
        )
        await make_case(now, opened=1, category="fraud")
        await make_email(now, 1, EmailStatus.SENT)
    with workspace_scope(ws):
        await make_case(now, opened=3, status=CaseStatus.RECOVERED, recovered=1, by="0:email")
        await make_case(
            now, opened=10, status=CaseStatus.RECOVERED, recovered=9, amount=2000, by="1:retry"
        )
        await make_case(now, opened=5, status=CaseStatus.LOST, category="card_update")
        await make_case(
            now,
            opened=40,
            status=CaseStatus.RECOVERED,
            recovered=35,
            amount=5000,
            currency="eur",
            category="issuer",
            by="1:retry",
        )
        later = await make_case(now, opened=2, category="card_update", amount=3000)
        await make_step(later, 1, "email", now + DAY)
        await make_step(later, 4, "final_action", now + 12 * DAY)
        urgent = await make_case(now, opened=20, amount=500)
        await make_step(urgent, 0, "email", now - 20 * DAY, status=StepStatus.DONE)
        await make_step(urgent, 5, "retry", now + timedelta(hours=1))
        await make_step(urgent, 6, "final_action", now + 2 * DAY)
        await make_case(
            now,
            opened=3,
            status=CaseStatus.RECOVERED,
            recovered=2,
            amount=1500,
            by="0:email",
            kind=CaseKind.WINBACK,
            category="card_update",
        )
    return {"ws": ws, "other": other, "now": now, "later": later, "urgent": urgent}


async def test_revenue_median_and_attribution_count_cases_recovered_in_the_range(
    seeded: dict[str, Any],
) -> None:
    now = seeded["now"]
    with workspace_scope(seeded["ws"]):
        week = await stats.recovered(stats.window("7d", now))
        month = await stats.recovered(stats.window("30d", now))
        quarter = await stats.recovered(stats.window("90d", now))
        credits = await stats.step_attribution(stats.window("30d", now))
    # 7 days: the funds case (1000, 2 days to recover) and the win-back (1500, 1 day).
    assert week.by_currency == {"usd": 2500} and week.cases == 2 and week.winbacks == 1
    assert week.median_seconds == (2 * 86400 + 86400) / 2
    assert sum(amount for _, amount in week.series) == 2500 and len(week.series) == 7
    assert month.by_currency == {"usd": 4500}
    assert month.median_seconds == 86400  # 1, 1 and 2 days
    assert quarter.by_currency == {"eur": 5000, "usd": 4500}
    assert [(c.key, c.cases, c.by_currency) for c in credits] == [
        ("0:email", 2, {"usd": 2500}),
        ("1:retry", 1, {"usd": 2000}),
    ]
    assert credits[1].label == "Step 2: retry"


async def test_rate_and_categories_count_dunning_cases_opened_in_the_range(
    seeded: dict[str, Any],
) -> None:
    now = seeded["now"]
    with workspace_scope(seeded["ws"]):
        week = await stats.rate(stats.window("7d", now))
        month = await stats.rate(stats.window("30d", now))
        every = await stats.rate(stats.window("all", now))
        by_category = await stats.categories(stats.window("30d", now))
    # 7 days: recovered, lost and open (the win-back is not a dunning case).
    assert (week.opened, week.recovered, week.lost, week.active) == (3, 1, 1, 1)
    assert week.rate == pytest.approx(1 / 3)
    assert (month.opened, month.recovered, month.rate) == (5, 2, 0.4)
    assert (every.opened, every.recovered, every.rate) == (6, 3, 0.5)
    assert [(r.category, r.cases, r.recovered) for r in by_category] == [
        ("funds", 3, 2),
        ("card_update", 2, 0),
    ]
    assert by_category[0].rate == pytest.approx(2 / 3) and by_category[1].rate == 0


async def test_open_cases_are_sorted_by_the_nearest_deadline(seeded: dict[str, Any]) -> None:
    now = seeded["now"]
    with workspace_scope(seeded["ws"]):
        rows, total = await stats.open_cases(now)
    assert total == 2
    first, second = rows
    assert first.case_id == seeded["urgent"].id and second.case_id == seeded["later"].id
    assert first.next_type == "retry" and first.next_due == now + timedelta(hours=1)
    assert first.deadline == now + 2 * DAY and first.since_failure == 20 * DAY
    assert second.next_type == "email" and second.deadline == now + 12 * DAY


async def test_deliverability_counts_emails_of_the_range(seeded: dict[str, Any]) -> None:
    now = seeded["now"]
    with workspace_scope(seeded["ws"]):
        case = seeded["later"]
        opened = await make_email(now, 1, EmailStatus.SENT)
        clicked = await make_email(now, 2, EmailStatus.SENT)
        quiet = await make_email(now, 3, EmailStatus.SENT)
        old = await make_email(now, 40, EmailStatus.SENT)
        await make_email(now, 1, EmailStatus.FAILED, bounced=True)
        await make_email(now, 1, EmailStatus.FAILED)
        await make_email(now, 1, EmailStatus.SUPPRESSED)
        await make_email(now, 1, EmailStatus.SENT, category="transactional")
        for index, (email, result) in enumerate(
            [
                (opened, {"opened_at": "x"}),
                (clicked, {"clicked_at": "x"}),
                (quiet, {}),
                (old, {"opened_at": "x", "clicked_at": "x"}),
            ],
            start=10,
        ):
            await make_step(
                case,
                index,
                "email",
                email.created_at,
                status=StepStatus.DONE,
                result={"email_id": email.id, **result},
                finished=email.created_at,
            )
        week = await stats.deliverability(stats.window("7d", now))
        every = await stats.deliverability(stats.window("all", now))
    assert (week.sent, week.opened, week.clicked) == (3, 2, 1)
    assert (week.bounced, week.suppressed, week.failed) == (1, 1, 1)
    assert (every.sent, every.opened, every.clicked) == (4, 3, 2)


async def test_summary_is_scoped_and_rejects_unknown_ranges(seeded: dict[str, Any]) -> None:
    now = seeded["now"]
    with workspace_scope(seeded["other"]):
        theirs = await stats.summary("7d", now)
    assert theirs["recovered"]["amounts"] == [{"currency": "usd", "amount": 99_999}]
    assert theirs["recovery_rate"]["opened"] == 2 and theirs["open_cases"]["total"] == 1
    assert theirs["deliverability"]["sent"] == 1
    with pytest.raises(stats.BadRange):
        stats.window("2w", now)
    assert stats.window(None, now).key == "30d"


async def test_test_clock_time_ahead_of_today_counts_as_recent(
    app: object, clock: FrozenClock
) -> None:
    now = clock.now()
    ws = await enabled_workspace("a")
    with workspace_scope(ws):
        # A rehearsal on a Stripe test clock: opened and recovered days ahead of real time.
        await make_case(
            now, opened=-3, status=CaseStatus.RECOVERED, recovered=-5, amount=700, by="1:retry"
        )
        back = await stats.recovered(stats.window("7d", now))
        rate = await stats.rate(stats.window("7d", now))
    assert back.by_currency == {"usd": 700} and back.median_seconds == 2 * 86400
    assert sum(amount for _, amount in back.series) == 700
    assert (rate.opened, rate.recovered) == (1, 1)
