"""Recovery's numbers for a range (7d, 30d, 90d, all): pure queries in the workspace scope.

Definitions (docs/recovery.md, "Stats"):

* recovered revenue, median time to recover and step attribution count the cases *recovered*
  in the range (`recovered_at` inside it), win-backs included;
* the recovery rate and the declines by category count the dunning cases *opened* in the range:
  rate = those now recovered / all of them (open, paused, recovered, lost or cancelled);
* deliverability counts recovery's customer emails *created* in the range.

Every function runs inside `workspace_scope(...)`: the scoped models filter by workspace.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from core.email import EmailStatus, OutboundEmail
from plugins.recovery.models import Case, CaseKind, CaseStatus, CaseStep, StepStatus

RANGES: dict[str, int | None] = {"7d": 7, "30d": 30, "90d": 90, "all": None}
DEFAULT_RANGE = "30d"
# Points in the revenue sparkline per range (days, days, weeks, months-ish).
SERIES_POINTS = {"7d": 7, "30d": 30, "90d": 13, "all": 12}
ACTIVE = (CaseStatus.OPEN, CaseStatus.PAUSED)
EMAIL_CATEGORY = "recovery"


class BadRange(ValueError):
    """The range is not one of RANGES."""


@dataclass(frozen=True)
class Window:
    key: str
    start: datetime | None  # None: since the beginning
    end: datetime

    def since(self, first: datetime | None) -> datetime:
        """The window's start, or for `all` the first thing that happened (else `end`)."""
        return self.start or first or self.end


def window(key: str | None, now: datetime) -> Window:
    key = key or DEFAULT_RANGE
    if key not in RANGES:
        raise BadRange(f"range must be one of {', '.join(RANGES)}")
    days = RANGES[key]
    return Window(key, None if days is None else now - timedelta(days=days), now)


def _in(window: Window, column: str) -> dict[str, datetime]:
    # No upper bound: a customer on a Stripe test clock lives ahead of today (a rehearsal runs
    # days in minutes), and what happened in that time is recent too.
    return {} if window.start is None else {f"{column}__gte": window.start}


@dataclass(frozen=True)
class Recovered:
    """What came back in the window."""

    cases: int
    by_currency: dict[str, int]  # minor units
    median_seconds: float | None
    winbacks: int
    # (bucket start, amount in `series_currency`) for the sparkline.
    series: list[tuple[datetime, int]] = field(default_factory=list)
    series_currency: str = ""


async def recovered(win: Window) -> Recovered:
    rows = await Case.filter(status=CaseStatus.RECOVERED, **_in(win, "recovered_at")).values_list(
        "currency", "recovered_amount", "time_to_recover", "recovered_at", "kind"
    )
    by_currency: dict[str, int] = defaultdict(int)
    for currency, amount, _, _, _ in rows:
        by_currency[str(currency)] += int(amount or 0)
    times = [int(t) for _, _, t, _, _ in rows if t is not None]
    top = max(by_currency, key=lambda c: (by_currency[c], c)) if by_currency else ""
    points = [(at, int(amount or 0)) for cur, amount, _, at, _ in rows if cur == top]
    return Recovered(
        cases=len(rows),
        by_currency=dict(sorted(by_currency.items())),
        median_seconds=statistics.median(times) if times else None,
        winbacks=sum(1 for *_, kind in rows if kind == CaseKind.WINBACK),
        series=_buckets(win, points),
        series_currency=top,
    )


def _buckets(win: Window, points: list[tuple[datetime, int]]) -> list[tuple[datetime, int]]:
    count = SERIES_POINTS[win.key]
    start = win.since(min((at for at, _ in points), default=None))
    width = max((win.end - start) / count, timedelta(seconds=1))
    sums = [0] * count
    for at, amount in points:
        sums[min(max(int((at - start) / width), 0), count - 1)] += amount
    return [(start + width * i, total) for i, total in enumerate(sums)]


@dataclass(frozen=True)
class Rate:
    """Dunning cases opened in the window, by where they stand now."""

    opened: int
    recovered: int
    lost: int
    cancelled: int
    active: int

    @property
    def rate(self) -> float | None:
        return self.recovered / self.opened if self.opened else None


@dataclass(frozen=True)
class CategoryRow:
    category: str
    cases: int
    recovered: int

    @property
    def rate(self) -> float | None:
        return self.recovered / self.cases if self.cases else None


async def _opened(win: Window) -> list[tuple[str, str]]:
    rows = await Case.filter(kind=CaseKind.DUNNING, **_in(win, "opened_at")).values_list(
        "category", "status"
    )
    return [(str(category), str(status)) for category, status in rows]


async def rate(win: Window) -> Rate:
    statuses = Counter(status for _, status in await _opened(win))
    return Rate(
        opened=sum(statuses.values()),
        recovered=statuses[CaseStatus.RECOVERED],
        lost=statuses[CaseStatus.LOST],
        cancelled=statuses[CaseStatus.CANCELLED],
        active=statuses[CaseStatus.OPEN] + statuses[CaseStatus.PAUSED],
    )


async def categories(win: Window) -> list[CategoryRow]:
    """Declines by category, most cases first, each with its own recovery rate."""
    cases: Counter[str] = Counter()
    won: Counter[str] = Counter()
    for category, status in await _opened(win):
        cases[category] += 1
        won[category] += status == CaseStatus.RECOVERED
    rows = [CategoryRow(c, n, won[c]) for c, n in cases.items()]
    return sorted(rows, key=lambda r: (-r.cases, r.category))


@dataclass(frozen=True)
class StepCredit:
    """The step a recovery is credited to (`recovered_by_step` is "index:type")."""

    key: str
    index: int | None
    type: str
    cases: int
    by_currency: dict[str, int]

    @property
    def label(self) -> str:
        if self.index is None:
            return "Before any step ran"
        return f"Step {self.index + 1}: {self.type.replace('_', ' ')}"


async def step_attribution(win: Window) -> list[StepCredit]:
    rows = await Case.filter(status=CaseStatus.RECOVERED, **_in(win, "recovered_at")).values_list(
        "recovered_by_step", "currency", "recovered_amount"
    )
    cases: Counter[str] = Counter()
    money: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for key, currency, amount in rows:
        cases[str(key or "")] += 1
        money[str(key or "")][str(currency)] += int(amount or 0)
    credits = []
    for key, n in cases.items():
        index, _, type_ = key.partition(":")
        credits.append(
            StepCredit(key, int(index) if index.isdigit() else None, type_, n, dict(money[key]))
        )
    return sorted(credits, key=lambda c: (-c.cases, c.index if c.index is not None else -1))


@dataclass(frozen=True)
class Pressing:
    """An open case and the clock it is racing."""

    case_id: int
    customer: str
    amount: int
    currency: str
    category: str
    opened_at: datetime
    paused: bool
    since_failure: timedelta
    next_type: str | None
    next_due: datetime | None
    # When the sequence ends (its final action), else its last pending step.
    deadline: datetime | None


async def open_cases(now: datetime, limit: int = 20) -> tuple[list[Pressing], int]:
    """Open and paused cases, most urgent first (nearest deadline, then next step, then amount);
    returns the first `limit` and how many there are in all."""
    cases = await Case.filter(status__in=ACTIVE).only(
        "id",
        "customer_email",
        "customer_id",
        "amount",
        "currency",
        "category",
        "opened_at",
        "status",
    )
    pending: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    steps = await CaseStep.filter(
        case_id__in=[c.id for c in cases], status=StepStatus.PENDING
    ).values_list("case_id", "due_at", "type")
    for case_id, due_at, type_ in steps:
        pending[int(case_id)].append((due_at, str(type_)))
    rows = [_pressing(case, sorted(pending[case.id]), now) for case in cases]
    far = datetime.max.replace(tzinfo=now.tzinfo)
    rows.sort(key=lambda r: (r.deadline or far, r.next_due or far, -r.amount, r.case_id))
    return rows[:limit], len(rows)


def _pressing(case: Case, pending: list[tuple[datetime, str]], now: datetime) -> Pressing:
    final = [due for due, type_ in pending if type_ == "final_action"]
    return Pressing(
        case_id=case.id,
        customer=case.customer_email or case.customer_id,
        amount=case.amount,
        currency=case.currency,
        category=case.category,
        opened_at=case.opened_at,
        paused=case.status == CaseStatus.PAUSED,
        since_failure=max(now - case.opened_at, timedelta(0)),
        next_type=pending[0][1] if pending else None,
        next_due=pending[0][0] if pending else None,
        deadline=final[0] if final else (pending[-1][0] if pending else None),
    )


@dataclass(frozen=True)
class Deliverability:
    """Recovery's customer emails created in the window. Opens are approximate (docs)."""

    sent: int
    opened: int
    clicked: int
    bounced: int
    suppressed: int
    failed: int  # gave up after transient errors (not a bounce)
    pending: int  # queued or being sent


async def deliverability(win: Window) -> Deliverability:
    emails = await OutboundEmail.filter(
        category=EMAIL_CATEGORY, customer_facing=True, **_in(win, "created_at")
    ).values_list("id", "status", "bounced")
    status = Counter("bounced" if bounced else str(state) for _, state, bounced in emails)
    sent_ids = {int(i) for i, state, _ in emails if state == EmailStatus.SENT}
    opened = clicked = 0
    # A step finishes right after its email is recorded: a day's margin covers any skew, the
    # id check keeps only the window's emails.
    margin = Window(win.key, win.start - timedelta(days=1) if win.start else None, win.end)
    results = await CaseStep.filter(
        type="email", status=StepStatus.DONE, **_in(margin, "finished_at")
    ).values_list("result", flat=True)
    for result in results:
        if not isinstance(result, dict) or result.get("email_id") not in sent_ids:
            continue
        clicked += "clicked_at" in result
        # A click proves an open the pixel may have missed (images blocked).
        opened += "opened_at" in result or "clicked_at" in result
    return Deliverability(
        sent=status[EmailStatus.SENT],
        opened=opened,
        clicked=clicked,
        bounced=status["bounced"],
        suppressed=status[EmailStatus.SUPPRESSED],
        failed=status[EmailStatus.FAILED],
        pending=status[EmailStatus.QUEUED] + status[EmailStatus.SENDING],
    )


async def summary(key: str | None, now: datetime) -> dict[str, Any]:
    """Everything for one range as JSON-ready data (the API's answer)."""
    win = window(key, now)
    back = await recovered(win)
    rates = await rate(win)
    mail = await deliverability(win)
    pressing, total = await open_cases(now)
    return {
        "range": win.key,
        "start": win.start,
        "end": win.end,
        "recovered": {
            "cases": back.cases,
            "winbacks": back.winbacks,
            "amounts": [{"currency": c, "amount": a} for c, a in back.by_currency.items()],
            "median_time_to_recover": back.median_seconds,
        },
        "recovery_rate": {
            "rate": rates.rate,
            "opened": rates.opened,
            "recovered": rates.recovered,
            "lost": rates.lost,
            "cancelled": rates.cancelled,
            "active": rates.active,
        },
        "steps": [
            {
                "step": s.key or None,
                "index": s.index,
                "type": s.type or None,
                "cases": s.cases,
                "amounts": [{"currency": c, "amount": a} for c, a in sorted(s.by_currency.items())],
            }
            for s in await step_attribution(win)
        ],
        "categories": [
            {"category": r.category, "cases": r.cases, "recovered": r.recovered, "rate": r.rate}
            for r in await categories(win)
        ],
        "deliverability": {
            "sent": mail.sent,
            "opened": mail.opened,
            "clicked": mail.clicked,
            "bounced": mail.bounced,
            "suppressed": mail.suppressed,
            "failed": mail.failed,
            "pending": mail.pending,
        },
        "open_cases": {
            "total": total,
            "most_urgent": [
                {
                    "id": p.case_id,
                    "customer": p.customer,
                    "amount": p.amount,
                    "currency": p.currency,
                    "category": p.category,
                    "opened_at": p.opened_at,
                    "paused": p.paused,
                    "seconds_since_failure": int(p.since_failure.total_seconds()),
                    "next_step": p.next_type,
                    "next_due_at": p.next_due,
                    "deadline": p.deadline,
                }
                for p in pressing
            ],
        },
    }
