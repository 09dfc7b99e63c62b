"""Storing a verified Stripe event together with the handler jobs it needs, in one transaction.

The intake answers 2xx only after this commits, so an event Stripe considers delivered is
always durable and always has its jobs. Concurrent deliveries share a transaction (group
commit, `core.events.commit`). After commit the new jobs go to the broker in one send and
`event_stored` is notified; a lost dispatch is recovered by the sweeper (`core.jobs.sweep`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from core.broker import dispatch_of
from core.contributions import StripeEventHandler
from core.events.clocks import customer_clock
from core.events.commit import GroupCommit, Row
from core.jobs import HANDLER_PREFIX
from core.models.events import Event, EventStatus
from core.runtime import Runtime

log = logging.getLogger(__name__)
_SERVICE = "events.group_commit"


@dataclass(frozen=True)
class Target:
    """Where one copy of an event goes: a workspace (None when no live account claims it)."""

    workspace_id: int | None
    stripe_account_id: str
    source: str  # "connect" (platform endpoint) or "account" (/webhooks/stripe/{token})


@dataclass(frozen=True)
class Stored:
    """What the intake did with one delivery: the ids of the new event rows, and how many
    copies were already stored."""

    event_ids: list[int]
    duplicates: int


def handlers_for(runtime: Runtime, event_type: str) -> list[StripeEventHandler]:
    """Handlers subscribed to `event_type` (or to `*`), in name order for a stable job order."""
    cache: dict[str, list[StripeEventHandler]] = runtime.services.setdefault(
        "events.handler_cache", {}
    )
    found = cache.get(event_type)
    if found is None:
        found = sorted(
            (
                h
                for h in runtime.handlers.values()
                if event_type in h.event_types or "*" in h.event_types
            ),
            key=lambda h: h.name,
        )
        cache[event_type] = found
    return found


def group_commit(runtime: Runtime) -> GroupCommit:
    """This process's intake writer (one per runtime)."""
    found = runtime.services.get(_SERVICE)
    if not isinstance(found, GroupCommit):

        async def after_commit(rows: list[Row]) -> None:
            await _after_commit(runtime, rows)

        found = runtime.services[_SERVICE] = GroupCommit(after_commit)
    return found


async def store_event(
    runtime: Runtime, payload: dict[str, Any], targets: list[Target], raw: str | None = None
) -> Stored:
    """Store one copy of the event per target; duplicates are skipped. `raw` is the verified
    body the payload was parsed from (stored as is); returns once committed."""
    rows = _rows(runtime, payload, targets, raw if raw is not None else json.dumps(payload))
    await group_commit(runtime).submit(rows)
    ids = [row.event_id for row in rows if row.event_id is not None]
    return Stored(ids, len(rows) - len(ids))


def _rows(runtime: Runtime, payload: dict[str, Any], targets: list[Target], raw: str) -> list[Row]:
    now = runtime.now()
    handlers = handlers_for(runtime, payload["type"])
    clock = customer_clock(payload)
    created = datetime.fromtimestamp(payload["created"], UTC)
    rows = []
    for target in targets:
        if target.workspace_id is None:
            status, jobs = EventStatus.ORPHANED, []
        else:
            status = EventStatus.RECEIVED if handlers else EventStatus.IGNORED
            jobs = [(HANDLER_PREFIX + h.name, h.max_attempts) for h in handlers]
        rows.append(
            Row(
                workspace_id=target.workspace_id,
                stripe_account_id=target.stripe_account_id,
                stripe_event_id=str(payload["id"]),
                type=payload["type"],
                api_version=str(payload.get("api_version") or "")[:40],
                livemode=bool(payload.get("livemode")),
                created=created,
                received_at=now,
                source=target.source,
                status=status.value,
                payload_json=raw,
                jobs=jobs,
                clock=clock if target.workspace_id is not None else None,
            )
        )
    return rows


async def _after_commit(runtime: Runtime, rows: list[Row]) -> None:
    """Send the batch's new jobs (`core.broker.Dispatch`; their rows already say dispatched,
    and a lost message is re-sent by the sweeper after `core.jobs.DISPATCH_GRACE`), then
    notify."""
    job_ids = [job_id for row in rows for job_id in row.job_ids]
    dispatch = dispatch_of(runtime)  # there is one wherever a broker is attached
    if job_ids and dispatch is not None:
        await dispatch.send(job_ids)
    if not runtime.host.hook.event_stored.get_hookimpls():
        return  # building model instances nobody looks at is a measurable cost here
    for row in rows:
        if row.event_id is not None:
            await runtime.host.notify("event_stored", event=_instance(row), runtime=runtime)


def _instance(row: Row) -> Event:
    event = Event(
        id=row.event_id,
        workspace_id=row.workspace_id,
        stripe_event_id=row.stripe_event_id,
        stripe_account_id=row.stripe_account_id,
        type=row.type,
        api_version=row.api_version,
        livemode=row.livemode,
        created=row.created,
        received_at=row.received_at,
        source=row.source,
        status=EventStatus(row.status),
        payload=json.loads(row.payload_json),
    )
    event._saved_in_db = True
    return event
