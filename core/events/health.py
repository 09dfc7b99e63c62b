"""Webhook health per connected Stripe account: is anything arriving, late, forged or failing?

A workspace sees its own accounts (`webhook_health`), including the events that arrived for
one of them while it had no live connection. Events for an account no workspace ever
connected (a Connect event for a stranger) belong to nobody: only the platform's operator
sees them, in `/metrics` (`orphan_counts`) and `secondloop events orphans` (`orphaned_accounts`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from tortoise.expressions import Subquery
from tortoise.functions import Count, Max

from core.models.accounts import ConnectionStatus, StripeAccount
from core.models.events import Event, EventStatus, Job, JobStatus
from core.tenancy import unscoped, workspace_scope

# Lag is summarised over this many most recent events (enough to see a trend, cheap to read).
LAG_SAMPLE = 50


@dataclass(frozen=True)
class AccountHealth:
    account_id: int
    stripe_account_id: str
    display_name: str
    status: str
    last_event_at: datetime | None  # when the newest event was received
    last_event_type: str | None
    lag_seconds: float | None  # received_at - created of the newest event
    max_lag_seconds: float | None  # the worst over the last LAG_SAMPLE events
    signature_failures: int
    last_signature_failure_at: datetime | None
    handler_failures: int  # handler jobs that gave up after their retries
    pending_jobs: int
    orphaned: int  # events for this Stripe account that arrived while no workspace claimed it
    access_error: str = ""  # why a Connect connection needs reconnecting (status reconnect)

    @property
    def needs_reconnect(self) -> bool:
        return self.status == ConnectionStatus.RECONNECT

    @property
    def healthy(self) -> bool:
        return (
            self.handler_failures == 0 and self.signature_failures == 0 and not self.needs_reconnect
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["healthy"] = self.healthy
        data["needs_reconnect"] = self.needs_reconnect
        return data


async def webhook_health(workspace_id: int) -> list[AccountHealth]:
    """One entry per Stripe account connected to the workspace, in connection order."""
    with workspace_scope(workspace_id):
        accounts = await StripeAccount.all().order_by("id")
        return [await _account_health(workspace_id, account) for account in accounts]


async def _account_health(workspace_id: int, account: StripeAccount) -> AccountHealth:
    sid = account.stripe_account_id
    recent = (
        await Event.filter(stripe_account_id=sid)
        .order_by("-received_at", "-id")
        .limit(LAG_SAMPLE)
        .values("received_at", "created", "type")
    )
    lags = [(row["received_at"] - row["created"]).total_seconds() for row in recent]
    jobs = Job.filter(event__stripe_account_id=sid)
    failures = await jobs.filter(status=JobStatus.FAILED).count()
    pending = await jobs.filter(status__in=[JobStatus.PENDING, JobStatus.RUNNING]).count()
    with unscoped():  # orphans have no workspace: count them by the Stripe account id
        orphaned = await Event.filter(
            workspace_id=None, stripe_account_id=sid, status=EventStatus.ORPHANED
        ).count()
    newest = recent[0] if recent else None
    return AccountHealth(
        account_id=account.id,
        stripe_account_id=sid,
        display_name=account.display_name,
        status=str(account.status),
        last_event_at=newest["received_at"] if newest else None,
        last_event_type=newest["type"] if newest else None,
        lag_seconds=lags[0] if lags else None,
        max_lag_seconds=max(lags) if lags else None,
        signature_failures=account.signature_failures,
        last_signature_failure_at=account.last_signature_failure_at,
        handler_failures=failures,
        pending_jobs=pending,
        orphaned=orphaned,
        access_error=account.access_error,
    )


@dataclass(frozen=True)
class OrphanedAccount:
    """Events recorded for no workspace, for one Stripe account."""

    stripe_account_id: str
    events: int
    last_received_at: datetime
    known: bool  # some workspace connected it once (revoked); False: nobody ever did

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _orphans() -> Any:
    return Event.filter(workspace_id=None, status=EventStatus.ORPHANED)


def _connected_ids() -> Subquery:
    return Subquery(StripeAccount.all().values("stripe_account_id"))


async def orphan_counts() -> dict[str, int]:
    """Orphaned events platform-wide: {"unknown": n, "revoked": m}."""
    with unscoped():
        total = await _orphans().count()
        revoked = await _orphans().filter(stripe_account_id__in=_connected_ids()).count()
    return {"unknown": total - revoked, "revoked": revoked}


async def orphaned_accounts(limit: int = 50) -> list[OrphanedAccount]:
    """Accounts with orphaned events, most recent first (platform-wide; not for a workspace)."""
    with unscoped():
        rows = (
            await _orphans()
            .annotate(events=Count("id"), last_received_at=Max("received_at"))
            .group_by("stripe_account_id")
            .order_by("-last_received_at")
            .limit(limit)
            .values("stripe_account_id", "events", "last_received_at")
        )
        ids = [row["stripe_account_id"] for row in rows]
        known = set(
            await StripeAccount.filter(stripe_account_id__in=ids).values_list(
                "stripe_account_id", flat=True
            )
        )
    return [
        OrphanedAccount(
            stripe_account_id=row["stripe_account_id"],
            events=int(row["events"]),
            last_received_at=row["last_received_at"],
            known=row["stripe_account_id"] in known,
        )
        for row in rows
    ]
