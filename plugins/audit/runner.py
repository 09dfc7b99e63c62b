"""Starting and executing audit runs: the diagnostic, saved page by page so it can resume."""

from __future__ import annotations

import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

from core.jobs import enqueue
from core.models.accounts import ConnectionStatus, StripeAccount
from core.runtime import Runtime
from core.stripe.access import stripe_access
from core.stripe.client import StripeAccess
from plugins.audit.diagnostic import progress_of, run_diagnostic
from plugins.audit.diagnostic.reader import StripeReader
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
    """Record a queued run and enqueue its task (which may run inline in tests)."""
    run = await AuditRun.create(
        workspace_id=workspace_id,
        stripe_account_id=account.stripe_account_id,
        account_ref=account.id,
        lookback_days=lookback_days,
        trigger=trigger,
    )
    await enqueue(
        runtime,
        TASK,
        workspace_id=workspace_id,
        payload={"run_id": run.id},
        dedupe_key=f"{TASK}:{run.id}",
    )
    return await AuditRun.get(id=run.id)


async def execute_run(
    runtime: Runtime,
    run_id: int,
    *,
    access: StripeAccess | None = None,
    after_page: AfterPage | None = None,
    checkpoint_every: float = CHECKPOINT_SECONDS,
) -> AuditRun:
    """Run (or resume) the diagnostic of `run_id`; inside the run's workspace scope."""
    run = await AuditRun.get(id=run_id)
    if run.status == RunStatus.DONE:
        return run  # a duplicate job: the results are already stored
    if access is None:
        account = await StripeAccount.get(id=run.account_ref)
        access = stripe_access(runtime, account)
    reader = StripeReader(access.client, access.options(), concurrency=CONCURRENCY, rate=RATE)
    checkpoint: dict[str, Any] = dict(run.checkpoint or {})
    checkpoint["calls_before"] = int(checkpoint.get("calls", 0))
    run.status = RunStatus.RUNNING
    run.started_at = run.started_at or runtime.now()
    run.attempts += 1
    run.error = ""
    await run.save(update_fields=["status", "started_at", "attempts", "error"])

    last_write = time.monotonic()

    async def saved(state: dict[str, Any]) -> None:
        nonlocal last_write
        run.progress = progress_of(state)
        run.calls = int(state.get("calls", 0))
        fields = ["progress", "calls"]
        if time.monotonic() - last_write >= checkpoint_every:
            run.checkpoint = state
            fields.append("checkpoint")
            last_write = time.monotonic()
        await run.save(update_fields=fields)
        if after_page is not None:
            await after_page(run)

    try:
        results = await run_diagnostic(
            reader,
            now=int(runtime.now().timestamp()),
            lookback_days=run.lookback_days,
            checkpoint=checkpoint,
            on_progress=saved,
        )
    except BaseException as exc:
        run.status = RunStatus.FAILED
        run.error = "".join(traceback.format_exception_only(exc)).strip()[:2000]
        await run.save(update_fields=["status", "error"])
        raise
    run.results = results
    run.calls = int(results["calls"])
    run.progress = progress_of(checkpoint)
    # The records served their purpose: keep the window, drop the bulk.
    kept = ("reference", "since", "lookback_days", "calls")
    run.checkpoint = {k: checkpoint.get(k) for k in kept}
    run.status = RunStatus.DONE
    run.finished_at = runtime.now()
    await run.save()
    if run.trigger == "scheduled":
        from plugins.audit.monthly import email_summary  # monthly imports this module

        await email_summary(runtime, run)
    return run
