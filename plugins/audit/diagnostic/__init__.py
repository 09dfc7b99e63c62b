"""The 90-day diagnostic: read one Stripe account's lists, then compute the four scopes.

`run_diagnostic` is pure apart from the Stripe calls its `StripeReader` makes. It reads the
test clocks first, then the customers of each clock: when customers live on a test clock, the
latest time among those clocks is the audit's "now" (a clock nobody lives on is ignored). The
window (`since`, `reference`) and every list's cursor and records live in `checkpoint`, which
`on_progress` may persist after each page; passing it back in resumes the run where it
stopped, with the same window and without counting twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import stripe

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
    """Per kind of list: pages read, objects kept, lists planned and finished, all finished
    or not. Lists not started yet count from the start, so the bar's total never grows."""
    raw = checkpoint.get("streams", {})
    keys = list(dict.fromkeys([*(checkpoint.get("lists") or streams.planned_keys([])), *raw]))
    out: dict[str, dict[str, Any]] = {}
    for key in keys:
        state = raw.get(key) or {}
        row = out.setdefault(
            key.split(":", 1)[0], {"pages": 0, "objects": 0, "lists": 0, "lists_done": 0}
        )
        row["pages"] += int(state.get("pages", 0))
        row["objects"] += len(state.get("records") or {})
        row["lists"] += 1
        row["lists_done"] += int(bool(state.get("done")))
    for row in out.values():
        row["done"] = row["lists_done"] == row["lists"]
    return out


async def _read_clocks(
    reader: StripeReader, state: StreamState, saved: Callable[..., Awaitable[None]], livemode: bool
) -> bool:
    """Read the test clocks; False when the key may not (the permission is optional)."""
    readable = True
    if not livemode:  # test clocks exist in test mode only: in live mode, nothing to ask
        try:
            await reader.read(streams.clock_stream(), state, saved)
            return True
        except stripe.PermissionError:
            # "Test clocks: Read" is optional (permissions.py): without it, no clock is known.
            readable = False
    state.records.clear()
    state.done = True
    await saved(streams.clock_stream(), state)
    return readable


def _set_window(
    checkpoint: Checkpoint, states: dict[str, StreamState], now: int, days: int
) -> None:
    clocks = states[streams.CLOCKS].records
    frozen = [clocks[c]["frozen_time"] for c in streams.lived_on_clocks(states) if c in clocks]
    checkpoint["reference"] = max(frozen) if frozen else int(now)
    checkpoint["since"] = checkpoint["reference"] - days * DAY
    checkpoint["lookback_days"] = days


async def run_diagnostic(
    reader: StripeReader,
    *,
    now: int,
    lookback_days: int = 90,
    checkpoint: Checkpoint | None = None,
    on_progress: ProgressHook | None = None,
    card_months: int = 6,
    livemode: bool = False,
    calls_before: int | None = None,
) -> dict[str, Any]:
    """Read the account and return the results dict documented in docs/audit.md.

    `calls_before` is what earlier attempts of a resumed run already spent (default: the
    count in `checkpoint`); `livemode` skips the test clocks, which live mode does not have.
    """
    checkpoint = checkpoint if checkpoint is not None else {}
    checkpoint.setdefault("streams", {})
    spent = int(checkpoint.get("calls", 0) if calls_before is None else calls_before)
    states = _states(checkpoint)

    async def saved(stream: Stream, state: StreamState) -> None:
        checkpoint["streams"][stream.key] = state.to_json()
        checkpoint["calls"] = spent + reader.calls
        if on_progress is not None:
            await on_progress(checkpoint)

    clocks = states.setdefault(streams.CLOCKS, StreamState())
    if "clocks_readable" not in checkpoint:
        checkpoint["clocks_readable"] = await _read_clocks(reader, clocks, saved, livemode)
    checkpoint["lists"] = streams.planned_keys(sorted(clocks.records))
    # A task group cancels the other lists when one fails, as a dying worker would.
    async with asyncio.TaskGroup() as group:
        customers = []
        for stream in streams.account_streams(sorted(clocks.records)):
            state = states.setdefault(stream.key, StreamState())
            task = group.create_task(reader.read(stream, state, saved))
            if stream.key.split(":", 1)[0] == streams.CUSTOMERS:
                customers.append(task)
        await asyncio.wait(customers)  # they tell which clocks are lived on: the window
        if "reference" not in checkpoint:
            _set_window(checkpoint, states, now, lookback_days)
        reference, since = int(checkpoint["reference"]), int(checkpoint["since"])
        for stream in streams.window_streams(since, reference):
            state = states.setdefault(stream.key, StreamState())
            group.create_task(reader.read(stream, state, saved))
    checkpoint["calls"] = spent + reader.calls
    return analyse(
        states,
        reference=reference,
        since=since,
        lookback_days=int(checkpoint["lookback_days"]),
        card_months=card_months,
        calls=int(checkpoint["calls"]),
        clocks_readable=bool(checkpoint["clocks_readable"]),
    )


def analyse(
    states: dict[str, StreamState],
    *,
    reference: int,
    since: int,
    lookback_days: int,
    card_months: int = 6,
    calls: int = 0,
    clocks_readable: bool = True,
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
        "test_clocks_readable": clocks_readable,
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
