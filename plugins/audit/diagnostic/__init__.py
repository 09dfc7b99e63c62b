"""The 90-day diagnostic: read one Stripe account's lists, then compute the four scopes.

`run_diagnostic` is pure apart from the Stripe calls its `StripeReader` makes. It reads the
test clocks first: when the account's customers live on a test clock, the latest clock time
is the audit's "now". The window (`since`, `reference`) and every list's cursor and records
live in `checkpoint`, which `on_progress` may persist after each page; passing it back in
resumes the run where it stopped, with the same window and without counting twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from plugins.audit.diagnostic import disputes, expiring_cards, failed_invoices, health, streams
from plugins.audit.diagnostic.reader import Stream, StreamState, StripeReader
from plugins.audit.diagnostic.summary import summarise

DAY = 86400
VERSION = 1
Checkpoint = dict[str, Any]
ProgressHook = Callable[[Checkpoint], Awaitable[None]]

__all__ = ["StripeReader", "progress_of", "run_diagnostic"]


def _states(checkpoint: Checkpoint) -> dict[str, StreamState]:
    return {key: StreamState.from_json(raw) for key, raw in checkpoint.get("streams", {}).items()}


def progress_of(checkpoint: Checkpoint) -> dict[str, dict[str, Any]]:
    """Per list: pages read, objects kept, finished or not (for progress bars)."""
    out: dict[str, dict[str, Any]] = {}
    for key, raw in checkpoint.get("streams", {}).items():
        name = key.split(":", 1)[0]
        row = out.setdefault(name, {"pages": 0, "objects": 0, "done": True})
        row["pages"] += int(raw.get("pages", 0))
        row["objects"] += len(raw.get("records") or {})
        row["done"] = row["done"] and bool(raw.get("done"))
    return out


async def run_diagnostic(
    reader: StripeReader,
    *,
    now: int,
    lookback_days: int = 90,
    checkpoint: Checkpoint | None = None,
    on_progress: ProgressHook | None = None,
    card_months: int = 6,
) -> dict[str, Any]:
    """Read the account and return the results dict documented in docs/audit.md."""
    checkpoint = checkpoint if checkpoint is not None else {}
    checkpoint.setdefault("streams", {})
    states = _states(checkpoint)

    async def saved(stream: Stream, state: StreamState) -> None:
        checkpoint["streams"][stream.key] = state.to_json()
        checkpoint["calls"] = reader.calls + int(checkpoint.get("calls_before", 0))
        if on_progress is not None:
            await on_progress(checkpoint)

    clocks = states.setdefault(streams.CLOCKS, StreamState())
    await reader.read(streams.clock_stream(), clocks, saved)
    if "reference" not in checkpoint:
        frozen = [c["frozen_time"] for c in clocks.records.values()]
        checkpoint["reference"] = max(frozen) if frozen else int(now)
        checkpoint["since"] = checkpoint["reference"] - lookback_days * DAY
        checkpoint["lookback_days"] = lookback_days
    reference, since = int(checkpoint["reference"]), int(checkpoint["since"])

    pending = streams.data_streams(sorted(clocks.records), since, reference)
    # A task group cancels the other lists when one fails, as a dying worker would.
    async with asyncio.TaskGroup() as group:
        for stream in pending:
            state = states.setdefault(stream.key, StreamState())
            group.create_task(reader.read(stream, state, saved))
    return analyse(
        states,
        reference=reference,
        since=since,
        lookback_days=int(checkpoint["lookback_days"]),
        card_months=card_months,
        calls=int(checkpoint.get("calls", reader.calls)),
    )


def analyse(
    states: dict[str, StreamState],
    *,
    reference: int,
    since: int,
    lookback_days: int,
    card_months: int = 6,
    calls: int = 0,
) -> dict[str, Any]:
    """The four scopes and the summary from the records the lists produced."""
    subscriptions = streams.merged(states, "subscriptions")
    customers = streams.merged(states, "customers")
    invoices = streams.merged(states, "invoices")
    failed = failed_invoices.analyse(invoices, streams.merged(states, "charges"), subscriptions)
    results: dict[str, Any] = {
        "version": VERSION,
        "reference_time": reference,
        "since": since,
        "lookback_days": lookback_days,
        "test_clocks": sorted(states[streams.CLOCKS].records) if streams.CLOCKS in states else [],
        "objects_read": {key: len(state.records) for key, state in sorted(states.items())},
        "invoices_in_period": len(invoices),
        "calls": calls,
        "failed_invoices": failed,
        "expiring_cards": expiring_cards.analyse(subscriptions, reference, card_months),
        "disputes": disputes.analyse(streams.merged(states, "disputes"), since),
        "health": health.analyse(subscriptions, customers, invoices, failed, since, reference),
    }
    results["summary"] = summarise(results)
    return results
