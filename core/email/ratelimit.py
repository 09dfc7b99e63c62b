"""Per-workspace sending limits. Over a limit, delivery is deferred (never dropped).

Limits come from `SECONDLOOP_EMAIL_RATE_LIMITS` (e.g. `10/s,100/m,1000/h,10000/d`), counted
from the rows themselves (claimed in the window), so every worker sees the same numbers without
a lock held across an SMTP conversation. `delay_for` is the cheap check before claiming;
`lost_race` re-checks after the claim, ordering claims by (claimed_at, id), so of two workers
that passed the first check at once only those within the limit go on to send.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.expressions import Q
from tortoise.functions import Count

from core.models.email import EmailStatus, OutboundEmail
from core.runtime import Runtime
from core.settings import Settings, SettingsError
from core.tenancy import unscoped

SETTING = "SECONDLOOP_EMAIL_RATE_LIMITS"
DEFAULT = "10/s,100/m,1000/h,10000/d"
SERVICE = "email.rate_limits"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Limit:
    count: int
    window: timedelta


def parse_limits(spec: str) -> tuple[Limit, ...]:
    limits = []
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        count, _, unit = part.partition("/")
        try:
            limit = Limit(int(count), timedelta(seconds=_UNITS[unit.strip()[:1]]))
            if limit.count < 1:
                raise ValueError("a limit of zero would hold every message forever")
            limits.append(limit)
        except (KeyError, ValueError) as exc:
            raise SettingsError(
                f"{SETTING}: {part!r} is not N/s, N/m, N/h or N/d with N ≥ 1 (e.g. {DEFAULT})"
            ) from exc
    return tuple(limits)


def configured_limits(settings: Settings) -> tuple[Limit, ...]:
    return parse_limits(settings.extra.get(SETTING, "") or DEFAULT)


def install(runtime: Runtime) -> None:
    """Parse the limits at start-up, so a typo stops the process with a clear message."""
    runtime.services[SERVICE] = configured_limits(runtime.settings)


async def _window_counts(limits: tuple[Limit, ...], rows: Any, since: datetime) -> list[int]:
    """How many of `rows` fall in each limit's window ending at `since`: one query for all the
    windows (a conditional count each), so a busy workspace, past the smallest limit in its
    longest window, costs one query per check rather than one per window."""
    if not limits:
        return []
    longest = max(limit.window for limit in limits)
    counts = {
        f"w{n}": Count("id", _filter=Q(claimed_at__gte=since - limit.window))
        for n, limit in enumerate(limits)
    }
    with unscoped():
        found = (
            await rows.filter(claimed_at__gte=since - longest).annotate(**counts).values(*counts)
        )
    row = found[0] if found else {}
    return [int(row.get(name) or 0) for name in counts]


async def delay_for(runtime: Runtime, workspace_id: int) -> float:
    """Seconds to wait before this workspace may send another message (0: send now)."""
    now = runtime.now()
    longest = 0.0
    limits = runtime.services.get(SERVICE) or configured_limits(runtime.settings)
    with unscoped():
        sending = OutboundEmail.filter(
            workspace_id=workspace_id, status__in=[EmailStatus.SENDING, EmailStatus.SENT]
        )
    counts = await _window_counts(limits, sending, now)
    for limit, count in zip(limits, counts, strict=True):
        if count < limit.count:
            continue
        with unscoped():
            recent = sending.filter(claimed_at__gte=now - limit.window)
            # Wait until enough of the window's sends age out to make room for one more.
            times: list[datetime] = await (
                recent.order_by("-claimed_at")
                .offset(limit.count - 1)
                .limit(1)
                .values_list("claimed_at", flat=True)
            )  # type: ignore[assignment]
        if times:
            free_at = times[0] + limit.window
            longest = max(longest, (free_at - now).total_seconds())
    return max(longest, 1.0) if longest > 0 else 0.0


async def lost_race(runtime: Runtime, email: OutboundEmail) -> bool:
    """After claiming: did other claims in some window get there first and fill it?"""
    assert email.workspace_id is not None and email.claimed_at is not None
    mine = email.claimed_at
    earlier = Q(claimed_at__lt=mine) | Q(claimed_at=mine, id__lt=email.id)
    limits = runtime.services.get(SERVICE) or configured_limits(runtime.settings)
    with unscoped():
        others = OutboundEmail.filter(
            earlier,
            workspace_id=email.workspace_id,
            status__in=[EmailStatus.SENDING, EmailStatus.SENT],
        )
    counts = await _window_counts(limits, others, mine)
    return any(ahead >= limit.count for limit, ahead in zip(limits, counts, strict=True))
