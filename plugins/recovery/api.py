"""Recovery's JSON endpoints under /api/v1 (scoped to the API key's workspace by the core)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request

from core.api.errors import ApiError
from core.api.pagination import PARAMETERS as PAGE_PARAMETERS
from core.api.pagination import paginate
from core.contributions import ApiRoute
from core.email import OutboundEmail
from core.runtime import Runtime
from plugins.recovery import operations, stats
from plugins.recovery.cases import settings_for
from plugins.recovery.models import Case, CaseNote, CaseStatus, CaseStep
from plugins.recovery.steps.email import email_key

_TAGS = ["recovery"]


async def _switch(enabled: bool) -> dict[str, Any]:
    settings = await settings_for()
    settings.enabled = enabled
    await settings.save()
    return {"enabled": settings.enabled, "processing_paused": settings.processing_paused}


async def enable(request: Request, workspace_id: int) -> dict[str, Any]:
    """Turn recovery on for the workspace (new failures open cases from now on)."""
    return await _switch(True)


async def disable(request: Request, workspace_id: int) -> dict[str, Any]:
    """Turn recovery off (no new cases; open cases stop running steps)."""
    return await _switch(False)


def _case(case: Case) -> dict[str, Any]:
    return {
        "id": case.id,
        "invoice": case.invoice_id,
        "customer": case.customer_id,
        "subscription": case.subscription_id or None,
        "amount": case.amount,
        "currency": case.currency,
        "category": case.category,
        "decline": {
            "code": case.code or None,
            "decline_code": case.decline_code or None,
            "advice_code": case.advice_code or None,
        },
        "status": case.status,
        "opened_at": case.opened_at,
        "closed_at": case.closed_at,
        "closed_reason": case.closed_reason or None,
        "recovered_amount": case.recovered_amount,
        "recovered_by_step": case.recovered_by_step or None,
        "time_to_recover": case.time_to_recover,
        "disputed": case.disputed,
        "retries_suspended": case.retries_suspended,
        "customer_flagged": case.customer_flagged,
        # Stripe's own retries, which SecondLoop's retries give way to (see the retry step).
        "stripe_retries": {
            "active": case.stripe_retries_active,
            "next_attempt_at": case.stripe_next_attempt_at,
        },
        "emails_held": case.hold_emails,
    }


async def list_cases(request: Request, workspace_id: int) -> dict[str, Any]:
    """Cases, newest first, a page at a time; filter by `status`, `category` and `since`."""
    rows = Case.filter()
    status = request.query_params.get("status")
    if status:
        if status not in {s.value for s in CaseStatus}:
            raise ApiError(422, "invalid_request", f"unknown status {status!r}")
        rows = rows.filter(status=status)
    category = request.query_params.get("category")
    if category:
        rows = rows.filter(category=category)
    since = request.query_params.get("since")
    if since:
        rows = rows.filter(opened_at__gte=_instant(since))
    return await paginate(request, rows, _case)


def _instant(raw: str) -> datetime:
    """`since` as Unix seconds or ISO 8601 (a date, or a time; UTC unless it says otherwise)."""
    try:
        if raw.isdigit():
            return datetime.fromtimestamp(int(raw), UTC)
        # An unencoded "+01:00" arrives as " 01:00": a common client slip, read as meant.
        parsed = datetime.fromisoformat(raw.strip().replace(" ", "+").replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError) as exc:
        raise ApiError(
            422, "invalid_request", "`since` must be Unix seconds or an ISO 8601 date or time"
        ) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


async def get_case(request: Request, workspace_id: int) -> dict[str, Any]:
    """One case with its timeline of steps (each email as the email service recorded it) and
    its notes."""
    case = await _found(request)
    steps = await CaseStep.filter(case_id=case.id).order_by("index")
    keys = [f"{case.workspace_id}:{email_key(s.id)}" for s in steps if s.type == "email"]
    emails = {e.idempotency_key: e for e in await OutboundEmail.filter(key__in=keys)}
    timeline = []
    for s in steps:
        email = emails.get(email_key(s.id))
        timeline.append(
            {
                "index": s.index,
                "type": s.type,
                "status": s.status,
                "due_at": s.due_at,
                "finished_at": s.finished_at,
                "attempts": s.attempts,
                "config": s.config,
                "result": s.result,
                "email": {
                    "id": email.id,
                    "status": email.status,
                    "to": email.to_address,
                    "subject": email.subject,
                    "sent_at": email.sent_at,
                }
                if email
                else None,
            }
        )
    notes = await CaseNote.filter(case_id=case.id).order_by("created_at", "id")
    return {
        **_case(case),
        "timeline": timeline,
        "notes": [{"author": n.author, "body": n.body, "created_at": n.created_at} for n in notes],
    }


async def _found(request: Request) -> Case:
    case = await Case.get_or_none(id=request.path_params["id"])
    if case is None:
        raise ApiError(404, "not_found", "no such case")
    return case


async def _act(request: Request, action: str) -> dict[str, Any]:
    runtime: Runtime = request.state.runtime
    case = await _found(request)
    if action == "pause":
        changed = await operations.pause(case)
    elif action == "resume":
        changed = await operations.resume(runtime, case)
    elif action == "cancel":
        changed = await operations.cancel(runtime, case)
    else:
        changed = await operations.retry_now(runtime, case) is not None
    if not changed:
        raise ApiError(409, "conflict", f"cannot {action} a case that is {case.status}")
    await case.refresh_from_db()
    return _case(case)


async def pause_case(request: Request, workspace_id: int) -> dict[str, Any]:
    """Pause an open case: no step runs until it is resumed."""
    return await _act(request, "pause")


async def resume_case(request: Request, workspace_id: int) -> dict[str, Any]:
    """Resume a paused case; steps that fell due meanwhile run at once."""
    return await _act(request, "resume")


async def cancel_case(request: Request, workspace_id: int) -> dict[str, Any]:
    """Close a case without recovering it; pending steps are cancelled."""
    return await _act(request, "cancel")


async def retry_case(request: Request, workspace_id: int) -> dict[str, Any]:
    """Retry the invoice now, within the retry budget."""
    return await _act(request, "retry")


async def get_stats(request: Request, workspace_id: int) -> dict[str, Any]:
    """Recovery figures for a range: revenue, rate, steps, categories, deliverability."""
    runtime: Runtime = request.state.runtime
    try:
        return await stats.summary(request.query_params.get("range"), runtime.now())
    except stats.BadRange as exc:
        raise ApiError(400, "invalid_request", str(exc)) from exc


def api_routes() -> list[ApiRoute]:
    return [
        ApiRoute(
            "/recovery/stats",
            get_stats,
            name="recovery_stats",
            operation={
                "tags": _TAGS,
                "parameters": [
                    {
                        "name": "range",
                        "in": "query",
                        "schema": {
                            "type": "string",
                            "enum": list(stats.RANGES),
                            "default": stats.DEFAULT_RANGE,
                        },
                    }
                ],
                "responses": {
                    "200": {"description": "The figures (see docs/recovery.md, Stats)"},
                    "400": {"description": "Unknown range"},
                },
            },
        ),
        ApiRoute(
            "/recovery/enable",
            enable,
            methods=("POST",),
            scope="write",
            name="recovery_enable",
            operation={"tags": _TAGS},
        ),
        ApiRoute(
            "/recovery/disable",
            disable,
            methods=("POST",),
            scope="write",
            name="recovery_disable",
            operation={"tags": _TAGS},
        ),
        ApiRoute(
            "/recovery/cases",
            list_cases,
            name="recovery_cases",
            operation={
                "tags": _TAGS,
                "parameters": [
                    {
                        "name": "status",
                        "in": "query",
                        "schema": {"type": "string", "enum": [s.value for s in CaseStatus]},
                    },
                    {"name": "category", "in": "query", "schema": {"type": "string"}},
                    {
                        "name": "since",
                        "in": "query",
                        "description": "Cases opened at or after this time (Unix seconds or "
                        "ISO 8601)",
                        "schema": {"type": "string"},
                    },
                    *PAGE_PARAMETERS,
                ],
            },
        ),
        ApiRoute(
            "/recovery/cases/{id:int}", get_case, name="recovery_case", operation={"tags": _TAGS}
        ),
        *[
            ApiRoute(
                f"/recovery/cases/{{id:int}}/{action}",
                func,
                methods=("POST",),
                scope="write",
                name=f"recovery_case_{action}",
                operation={
                    "tags": _TAGS,
                    "responses": {
                        "200": {"description": "The case after the action"},
                        "409": {"description": "Not possible in the case's state"},
                    },
                },
            )
            for action, func in (
                ("pause", pause_case),
                ("resume", resume_case),
                ("cancel", cancel_case),
                ("retry", retry_case),
            )
        ],
    ]
