"""Starting and executing audit runs: the diagnostic, saved page by page so it can resume."""

from __future__ import annotations

import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

from core.jobs import RetryLater, enqueue
from core.models.accounts import ConnectionStatus, StripeAccount
from core.runtime import Runtime
from core.stripe.access import stripe_access
from core.stripe.client import StripeAccess
from plugins.audit.diagnostic import progress_of, run_diagnostic
from plugins.audit.diagnostic.reader import StripeReader
from plugins.audit.lease import active_for_account, heartbeat, running_for_account, take
from plugins.audit.models import AuditRun, RunStatus

TASK = "audit.run"
MAX_ATTEMPTS = 5  # job attempts; a failed run resumes from its checkpoint on each retry
# Stripe allows 100 read requests/s in live mode (25 in test mode) per account; an audit
# shares the account with the operator's own traffic, so it keeps well below.
CONCURRENCY = 4
RATE = 10.0
# The checkpoint holds every record read so far (megabytes for a large account): write it at
# most this often, and the small progress counters after every page. A dead worker then
# re-reads at most this many seconds of pages; records keyed by id are never counted twice.
CHECKPOINT_SECONDS = 5.0
# How long an attempt that found the account busy waits before it looks again.
RETRY_BUSY = 60.0
AfterPage = Callable[[AuditRun], Awaitable[None]]


class NoStripeAccount(LookupError):
    """The workspace has no active Stripe account to audit."""


async def account_to_audit(account_id: int | None = None) -> StripeAccount:
    """The workspace's chosen (or first active) Stripe account; call inside workspace_scope."""
    query = StripeAccount.filter(status=ConnectionStatus.ACTIVE)
    if account_id is not None:
        query = query.filter(id=account_id)
    account = await query.order_by("id").first()
    if account is None:
        raise NoStripeAccount("connect a Stripe account before running an audit")
    return account


async def start_run(
    runtime: Runtime,
    workspace_id: int,
    account: StripeAccount,
    *,
    lookback_days: int = 90,
    trigger: str = "manual",
) -> AuditRun:
    """Record a queued run and enqueue its task (which may run inline in tests).

    When a run of the same account is already queued or being read, that run is returned and
    nothing starts: a double submit is harmless, and two audits never share the account's
    rate budget."""
    existing = await active_for_account(account.stripe_account_id, runtime.now())
    if existing is not None:
        return existing
    run = await AuditRun.create(
        workspace_id=workspace_id,
        stripe_account_id=account.stripe_account_id,
        account_ref=account.id,
        lookback_days=lookback_days,
        trigger=trigger,
        progress=progress_of({}),
    )
    try:
        await enqueue(
            runtime,
            TASK,
            workspace_id=workspace_id,
            payload={"run_id": run.id},
            dedupe_key=f"{TASK}:{run.id}",
        )
    except BaseException as exc:
        # A queued run without a job would block every later audit of the account.
        await AuditRun.filter(id=run.id, status=RunStatus.QUEUED).update(
            status=RunStatus.FAILED, error=describe(exc), attempts=MAX_ATTEMPTS
        )
        raise
    return await AuditRun.get(id=run.id)


async def execute_run(
    runtime: Runtime,
    run_id: int,
    *,
    access: StripeAccess | None = None,
    after_page: AfterPage | None = None,
    checkpoint_every: float = CHECKPOINT_SECONDS,
) -> AuditRun:
    """Run (or resume) the diagnostic of `run_id`; inside the run's workspace scope.

    Raises `RetryLater` while a live worker reads this run or another run of the account."""
    run = await AuditRun.get(id=run_id)
    if run.status == RunStatus.DONE:
        await _mail_summary(runtime, run)  # a retry after the summary could not be sent
        return run
    await _take(runtime, run)
    checkpoint: dict[str, Any] = dict(run.checkpoint or {})
    # `calls` is saved after every page, the checkpoint only now and then: the larger one is
    # what earlier attempts spent, so the count never goes back and no call goes missing.
    spent = max(run.calls, int(checkpoint.get("calls", 0)))
    run.started_at = run.started_at or runtime.now()
    run.attempts += 1
    run.error = ""
    run.progress = progress_of(checkpoint)
    await run.save(update_fields=["started_at", "attempts", "error", "progress"])

    last_write = time.monotonic()

    async def saved(state: dict[str, Any]) -> None:
        nonlocal last_write
        run.progress = progress_of(state)
        run.calls = int(state.get("calls", 0))
        run.heartbeat_at = runtime.now()
        fields = ["progress", "calls", "heartbeat_at"]
        if time.monotonic() - last_write >= checkpoint_every:
            run.checkpoint = state
            fields.append("checkpoint")
            last_write = time.monotonic()
        await run.save(update_fields=fields)
        if after_page is not None:
            await after_page(run)

    reader: StripeReader | None = None
    try:
        account = await StripeAccount.get_or_none(id=run.account_ref or 0)
        if access is None:
            if account is None:
                raise NoStripeAccount(f"the Stripe account of audit #{run.id} is gone")
            access = stripe_access(runtime, account)
        reader = StripeReader(access.client, access.options(), concurrency=CONCURRENCY, rate=RATE)
        async with heartbeat(runtime, run):
            results = await run_diagnostic(
                reader,
                now=int(runtime.now().timestamp()),
                lookback_days=run.lookback_days,
                checkpoint=checkpoint,
                on_progress=saved,
                livemode=bool(account and account.livemode),
                calls_before=spent,
            )
    except BaseException as exc:
        run.status = RunStatus.FAILED
        run.error = describe(exc)
        run.calls = spent + (reader.calls if reader else 0)
        # A failure this attempt lived to see: keep every page it read, so none is read again.
        run.checkpoint = checkpoint
        run.progress = progress_of(checkpoint)
        await run.save(update_fields=["status", "error", "calls", "checkpoint", "progress"])
        raise
    run.results = results
    run.calls = int(results["calls"])
    run.progress = progress_of(checkpoint)
    # The records served their purpose: keep the window, drop the bulk.
    kept = ("reference", "since", "lookback_days", "calls", "lists", "clocks_readable")
    run.checkpoint = {k: checkpoint.get(k) for k in kept}
    run.status = RunStatus.DONE
    run.finished_at = runtime.now()
    await run.save()
    await _mail_summary(runtime, run)
    return run


async def _take(runtime: Runtime, run: AuditRun) -> None:
    """Hold the run for this attempt, or step back while a live worker reads the account."""
    now = runtime.now()
    other = await running_for_account(run.stripe_account_id, now)
    if other is not None and other.id != run.id:
        raise RetryLater(RETRY_BUSY, f"audit #{other.id} of this Stripe account is being read")
    if not await take(run, now):
        raise RetryLater(RETRY_BUSY, f"audit #{run.id} is being read by another worker")


async def _mail_summary(runtime: Runtime, run: AuditRun) -> None:
    """Mail a scheduled run's summary unless that was done; a failure leaves it to the retry
    (each message has its own idempotency key, so nobody gets one twice)."""
    if run.trigger != "scheduled" or run.summary_sent_at is not None:
        return
    from plugins.audit.monthly import email_summary  # monthly imports this module

    await email_summary(runtime, run)
    run.summary_sent_at = runtime.now()
    await run.save(update_fields=["summary_sent_at"])


def describe(exc: BaseException) -> str:
    """The error a person can act on: the first one inside a task group's wrapper."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return "".join(traceback.format_exception_only(exc)).strip()[:2000]
