from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.models import Workspace
from core.tenancy import workspace_scope
from plugins.recovery.declines import Category
from plugins.recovery.sequences import DEFAULTS, current_version, payday_adjust, plan, publish

KNOWN = {"email", "retry", "wait", "notify_operator", "final_action"}


def test_payday_aware_retry_moves_to_the_1st_or_15th_within_three_days() -> None:
    def at(month: int, day: int) -> datetime:
        return datetime(2026, month, day, 9, tzinfo=UTC)

    assert payday_adjust(at(3, 13)) == at(3, 15)
    assert payday_adjust(at(3, 29)) == at(4, 1)
    assert payday_adjust(at(3, 5)) == at(3, 5)


def test_funds_plan_matches_the_issue() -> None:
    opened = datetime(2026, 3, 3, 12, tzinfo=UTC)
    steps = plan(DEFAULTS[Category.FUNDS], opened)
    assert [(s.type, (s.due_at - opened).days) for s in steps] == [
        ("email", 0), ("retry", 2), ("email", 3), ("email", 7), ("retry", 10),
        ("email", 14), ("final_action", 16),
    ]
    assert steps[0].config["template"] == "payment_failed"


def test_card_update_never_retries_and_technical_retries_within_hours() -> None:
    assert all(s["type"] != "retry" for s in DEFAULTS[Category.CARD_UPDATE])
    opened = datetime(2026, 3, 3, tzinfo=UTC)
    first = plan(DEFAULTS[Category.TECHNICAL], opened)[0]
    assert first.type == "retry" and first.due_at - opened == timedelta(hours=2)
    for category in (Category.FRAUD, Category.REVOKED):
        assert [s["type"] for s in DEFAULTS[category]] == ["email", "notify_operator"]


async def test_versions_a_running_case_keeps_its_version(app: object) -> None:
    ws = await Workspace.create(name="A", slug="a")
    with workspace_scope(ws.id):
        first = await current_version(Category.FUNDS)
        assert first.version == 1 and first.steps == DEFAULTS[Category.FUNDS]
        again = await current_version(Category.FUNDS)
        assert again.id == first.id
        edited = await publish(Category.FUNDS, [{"type": "email", "day": 1}], KNOWN)
        assert edited.version == 2
        assert (await current_version(Category.FUNDS)).id == edited.id
        await first.refresh_from_db()
        assert first.steps == DEFAULTS[Category.FUNDS]
