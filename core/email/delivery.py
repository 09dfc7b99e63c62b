"""The `core.email.deliver` task: suppression, rate limit, claim, transport, outcome.

Never sent twice: a message moves queued -> sending by a conditional UPDATE (the claim) before
any byte goes out, and sending -> sent right after the server accepts it. A transient failure
puts it back to queued (the server did not accept it). The one window left is a crash between
the server's accept and our commit of `sent`: the message then stays `sending`, and after
CLAIM_TIMEOUT the retried job sends it again with the same Message-ID (which receiving systems
use to de-duplicate). Everything else in this module is idempotent.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from tortoise.expressions import F, Q

from core.email import smtp
from core.email.message import build_message
from core.email.ratelimit import delay_for, lost_race
from core.email.suppression import is_suppressed, suppress
from core.jobs import RetryLater, backoff
from core.metrics import metrics_of
from core.models.email import EmailStatus, OutboundEmail
from core.runtime import Runtime
from core.tenancy import unscoped

log = logging.getLogger(__name__)

TASK = "core.email.deliver"
# A transient failure is retried with backoff this many times before the message fails.
MAX_ATTEMPTS = 10
# How long a claim protects a message being sent; longer than any SMTP conversation.
CLAIM_TIMEOUT = timedelta(minutes=10)


async def deliver(workspace_id: int | None, runtime: Runtime, email_id: int) -> None:
    with unscoped():
        email = await OutboundEmail.get_or_none(id=email_id)
    if email is None or email.status not in (EmailStatus.QUEUED, EmailStatus.SENDING):
        return
    if email.status == EmailStatus.SENDING and email.claimed_at is not None:
        # An attempt died mid-send (its job lease ran out first). Whether the server accepted
        # the message is unknown: wait out the claim, then send again with the same Message-ID.
        stale_at = email.claimed_at + CLAIM_TIMEOUT
        if stale_at > runtime.now():
            raise RetryLater((stale_at - runtime.now()).total_seconds(), "previous attempt unknown")
    if email.workspace_id is not None:
        if await is_suppressed(email.workspace_id, email.to_address):
            await _settle(runtime, email, EmailStatus.SUPPRESSED, "address is suppressed")
            return
        delay = await delay_for(runtime, email.workspace_id)
        if delay > 0:
            _count(runtime, "deferred")
            raise RetryLater(delay, "workspace email rate limit")
    if not await _claim(runtime, email):
        return
    if email.workspace_id is not None and await lost_race(runtime, email):
        with unscoped():
            await OutboundEmail.filter(id=email.id, status=EmailStatus.SENDING).update(
                status=EmailStatus.QUEUED, attempts=F("attempts") - 1
            )
        _count(runtime, "deferred")
        raise RetryLater(1.0, "workspace email rate limit (concurrent sends)")
    try:
        transport = await _transmit(runtime, email)
    except smtp.DeliveryError as exc:
        await _failed_attempt(runtime, email, exc)
        return
    with unscoped():
        await OutboundEmail.filter(id=email.id, status=EmailStatus.SENDING).update(
            status=EmailStatus.SENT, sent_at=runtime.now(), transport=transport, last_error=""
        )
    _count(runtime, EmailStatus.SENT)


async def _claim(runtime: Runtime, email: OutboundEmail) -> bool:
    now = runtime.now()
    claimable = Q(status=EmailStatus.QUEUED) | Q(
        status=EmailStatus.SENDING, claimed_at__lt=now - CLAIM_TIMEOUT
    )
    with unscoped():
        claimed = await OutboundEmail.filter(Q(id=email.id) & claimable).update(
            status=EmailStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1
        )
    if claimed:
        email.attempts += 1
        email.claimed_at = now
    return bool(claimed)


async def _transmit(runtime: Runtime, email: OutboundEmail) -> str:
    """Send by SMTP when configured, else keep it in the local outbox. Returns the transport."""
    if not runtime.settings.smtp_url:
        log.info("email %s kept in the local outbox (SECONDLOOP_SMTP_URL is unset)", email.id)
        return "outbox"
    server = smtp.SmtpServer.from_url(runtime.settings.smtp_url)
    await smtp.send(server, build_message(email))
    return "smtp"


async def _failed_attempt(runtime: Runtime, email: OutboundEmail, exc: smtp.DeliveryError) -> None:
    error = str(exc)[:2000]
    log.warning("email %s attempt %s failed: %s", email.id, email.attempts, error)
    if exc.permanent or email.attempts >= MAX_ATTEMPTS:
        await _settle(
            runtime, email, EmailStatus.FAILED, error, from_status=EmailStatus.SENDING,
            bounced=exc.permanent,
        )
        if exc.hard_bounce and email.workspace_id is not None:
            await suppress(runtime, email.workspace_id, email.to_address, "bounce")
        return
    with unscoped():
        await OutboundEmail.filter(id=email.id, status=EmailStatus.SENDING).update(
            status=EmailStatus.QUEUED, last_error=error
        )
    _count(runtime, "retried")
    raise RetryLater(backoff(email.attempts).total_seconds(), error)


async def _settle(
    runtime: Runtime,
    email: OutboundEmail,
    status: EmailStatus,
    error: str,
    *,
    from_status: EmailStatus | None = None,
    bounced: bool = False,
) -> None:
    with unscoped():
        rows = OutboundEmail.filter(id=email.id)
        if from_status is not None:
            rows = rows.filter(status=from_status)
        else:  # SENDING only reaches here once its claim went stale (checked in deliver)
            rows = rows.filter(status__in=[EmailStatus.QUEUED, EmailStatus.SENDING])
        if await rows.update(status=status, last_error=error, bounced=bounced):
            _count(runtime, status)


def _count(runtime: Runtime, status: str) -> None:
    metrics = metrics_of(runtime)
    if metrics is not None:
        metrics.email(status)


REQUEUE_TASK = "core.email.requeue"
# A queued message this old without a delivery job lost it (a crash between record and enqueue).
REQUEUE_AFTER = timedelta(minutes=1)


async def requeue(workspace_id: int | None, runtime: Runtime, limit: int = 500) -> int:
    """Give every stranded queued message its delivery job back; the dedupe key makes it safe."""
    from core.jobs import enqueue
    from core.models.events import Job

    with unscoped():
        queued = await OutboundEmail.filter(
            status=EmailStatus.QUEUED, created_at__lt=runtime.now() - REQUEUE_AFTER
        ).order_by("id").limit(limit).values_list("id", "workspace_id")
        keys = {f"email:{email_id}" for email_id, _ in queued}
        have = set(await Job.filter(dedupe_key__in=list(keys)).values_list("dedupe_key", flat=True))
    stranded = [(i, ws) for i, ws in queued if f"email:{i}" not in have]
    for email_id, ws in stranded:
        await enqueue(runtime, TASK, workspace_id=ws, payload={"email_id": email_id},
                      dedupe_key=f"email:{email_id}")
    if stranded:
        log.warning("re-enqueued %s stranded email(s)", len(stranded))
    return len(stranded)
