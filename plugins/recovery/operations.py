"""Operator controls on one case: pause, resume, cancel, retry now, skip or replace the next
step, resend an email, edit a pending email, notes; and the workspace's processing pause.

Each is a conditional update, so a double click or a race with an event changes nothing twice.
The newer controls raise `Refused` with a reason the operator can read.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from core.email import OutboundEmail
from core.runtime import Runtime
from plugins.recovery import compose, gateway
from plugins.recovery.cases import (
    ACTIVE,
    append_step,
    cancel_pending,
    enqueue_due_steps,
    settings_for,
)
from plugins.recovery.models import Case, CaseKind, CaseNote, CaseStatus, CaseStep, StepStatus
from plugins.recovery.steps.email import email_key

NOTE_MAX = 5_000


class Refused(Exception):
    """An operator action the case's state does not allow; the message says why."""


async def _now(runtime: Runtime, case: Case) -> datetime:
    return await gateway.now_for(runtime, case.stripe_account_id, case.customer_id, case.test_clock)


async def pause(case: Case) -> bool:
    """Stop running the case's steps until it is resumed."""
    paused = await Case.filter(id=case.id, status=CaseStatus.OPEN).update(status=CaseStatus.PAUSED)
    return bool(paused)


async def resume(runtime: Runtime, case: Case) -> bool:
    """Run the case again; steps that fell due while paused run at once."""
    if not await Case.filter(id=case.id, status=CaseStatus.PAUSED).update(status=CaseStatus.OPEN):
        return False
    now = await _now(runtime, case)
    await case.refresh_from_db()
    await enqueue_due_steps(runtime, case, now, occasion=f":resumed:{now.isoformat()}")
    return True


async def cancel(runtime: Runtime, case: Case, reason: str = "cancelled by the operator") -> bool:
    """Close the case without recovering it; pending steps are cancelled."""
    now = await _now(runtime, case)
    closed = await Case.filter(id=case.id, status__in=ACTIVE).update(
        status=CaseStatus.CANCELLED, closed_at=now, closed_reason=reason[:64]
    )
    if closed:
        await cancel_pending(case.id, reason)
    return bool(closed)


async def retry_now(runtime: Runtime, case: Case) -> CaseStep | None:
    """Queue a retry of the invoice now (within the retry budget, like any retry step)."""
    if case.status != CaseStatus.OPEN or case.kind == CaseKind.WINBACK:
        return None  # a win-back has no invoice to retry: the customer subscribes again
    now = await _now(runtime, case)
    prefix = f"recovery:{case.workspace_id}:{case.id}:manual:"
    manual = await CaseStep.filter(case_id=case.id, idempotency_key__startswith=prefix).count()
    key = f"{prefix}{manual + 1}"
    step = await append_step(case, "retry", now, key, {"manual": True, "reason": "retry now"})
    if step is not None:
        await enqueue_due_steps(runtime, case, now)
    return step


async def next_step(case: Case) -> CaseStep | None:
    """The pending step that runs next."""
    return (
        await CaseStep.filter(case_id=case.id, status=StepStatus.PENDING)
        .order_by("due_at", "index")
        .first()
    )


async def _pending_next(case: Case) -> CaseStep:
    if case.status not in ACTIVE:
        raise Refused(f"The case is {case.status}; nothing is left to change.")
    step = await next_step(case)
    if step is None:
        raise Refused("The case has no pending step.")
    return step


async def _set_aside(step: CaseStep, at: datetime, **why: Any) -> None:
    """Mark a pending step skipped; Refused when it already started or changed."""
    changed = await CaseStep.filter(id=step.id, status=StepStatus.PENDING).update(
        status=StepStatus.SKIPPED, finished_at=at, result={**step.result, **why}
    )
    if not changed:
        raise Refused("That step has just started or changed; reload to see it.")


async def skip_next(runtime: Runtime, case: Case, actor: str) -> CaseStep:
    """Skip the next pending step; the sequence goes on with the one after it."""
    step = await _pending_next(case)
    await _set_aside(step, runtime.now(), reason="skipped by the operator", by=actor)
    return step


async def replace_next(
    runtime: Runtime,
    case: Case,
    actor: str,
    type_: str,
    config: dict[str, Any],
    delay: timedelta | None = None,
) -> CaseStep:
    """Set the next step aside and put a new one in its place (due after `delay` from now, or
    when the old one was due). The new step has a key of its own: nothing the old one may have
    started is ever repeated under its name."""
    step = await _pending_next(case)
    now = await _now(runtime, case)
    due = now + delay if delay is not None else step.due_at
    key = f"recovery:{case.workspace_id}:{case.id}:replace:{step.id}"
    await _set_aside(step, runtime.now(), reason="replaced by the operator", by=actor)
    new_config = {**config, "replaces": step.index, "by": actor}
    for _ in range(3):  # another action may take the same index at the same moment
        new = await append_step(case, type_, due, key, new_config)
        if new is not None:
            await enqueue_due_steps(runtime, case, now)
            return new
        if await CaseStep.filter(idempotency_key=key).exists():
            break
    raise Refused("The step could not be replaced; reload and try again.")


async def resend(runtime: Runtime, case: Case, step: CaseStep, actor: str) -> CaseStep:
    """Send a sent email step again, as a new step with a key of its own, recorded as a resend."""
    if case.status != CaseStatus.OPEN:
        raise Refused(f"The case is {case.status}; emails are not sent.")
    if step.type != "email" or step.status != StepStatus.DONE or not step.result.get("email_id"):
        raise Refused("Only an email that was sent can be sent again.")
    prefix = f"recovery:{case.workspace_id}:{case.id}:resend:{step.id}:"
    earlier = await CaseStep.filter(case_id=case.id, idempotency_key__startswith=prefix).count()
    now = await _now(runtime, case)
    config = {**step.config, "manual": True, "resend_of": step.index, "by": actor}
    new = await append_step(case, "email", now, f"{prefix}{earlier + 1}", config)
    if new is None:
        raise Refused("That resend is already queued.")
    await enqueue_due_steps(runtime, case, now)
    return new


async def edit_email(
    case: Case, step: CaseStep, subject: str, body: str, actor: str, at: datetime
) -> CaseStep:
    """Store an edited subject and body on a pending email step; the engine sends them.

    Blank fields fall back to the step's template. Refused once the email service has the
    message (its idempotency key would return the old text)."""
    if case.status not in ACTIVE or step.type != "email" or step.status != StepStatus.PENDING:
        raise Refused("Only a pending email of an open case can be edited.")
    # The email service's unique key is the workspace and the idempotency key.
    if await OutboundEmail.filter(key=f"{case.workspace_id}:{email_key(step.id)}").exists():
        raise Refused("This email has already been handed to the mail service.")
    subject, body = subject.strip(), body.strip()
    if "\n" in subject or "\r" in subject:
        raise Refused("The subject must be a single line.")
    try:
        compose.check(subject, "The subject", compose.SUBJECT_MAX)
        compose.check(body, "The body", compose.BODY_MAX)
    except compose.TemplateProblem as exc:
        raise Refused(str(exc)) from None
    config = {k: v for k, v in step.config.items() if k not in {"subject", "body"}}
    if subject:
        config["subject"] = subject
    if body:
        config["body"] = body
    config.update(edited_by=actor, edited_at=at.isoformat())
    changed = await CaseStep.filter(id=step.id, status=StepStatus.PENDING).update(config=config)
    if not changed:
        raise Refused("That email has just started sending; reload to see it.")
    await step.refresh_from_db()
    return step


async def add_note(
    case: Case, author_id: int | None, author: str, body: str, at: datetime
) -> CaseNote:
    """A note on the case, kept with its author and time."""
    body = body.strip()
    if not body:
        raise Refused("The note is empty.")
    if len(body) > NOTE_MAX:
        raise Refused(f"A note has at most {NOTE_MAX:,} characters.")
    return await CaseNote.create(
        case_id=case.id, author_id=author_id, author=author[:254], body=body, created_at=at
    )


async def set_processing_paused(paused: bool) -> bool:
    """Pause or resume every case of the workspace at once; steps that fell due meanwhile run
    at the next tick. Returns whether the setting changed."""
    settings = await settings_for()
    changed = (
        await type(settings)
        .filter(id=settings.id, processing_paused=not paused)
        .update(processing_paused=paused)
    )
    return bool(changed)
