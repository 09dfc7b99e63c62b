"""The operator's actions on a case (forms posted from the case page, CSRF-checked by the core).

Each answers an htmx request with the refreshed case block and a plain form post with a
redirect back to the case page (post/redirect/get), carrying a one-line message either way.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from core.tenancy import workspace_scope
from core.web.auth import WorkspaceContext
from core.web.templating import is_htmx
from plugins.recovery import compose, operations
from plugins.recovery.copy import TEMPLATES
from plugins.recovery.engine import step_types
from plugins.recovery.models import Case, CaseStep
from plugins.recovery.operations import Refused
from plugins.recovery.ui import common
from plugins.recovery.ui.cases import case_context

MAX_DELAY_DAYS = 365
ACTIONS = ("pause", "resume", "cancel", "retry", "skip")


def case_url(case_id: int) -> str:
    return f"{common.BASE}/cases/{case_id}"


async def _answer(
    request: Request, ctx: WorkspaceContext, case_id: int, message: str, status: int = 200
) -> Response:
    if not is_htmx(request):
        return common.back(request, case_url(case_id), message)
    with workspace_scope(ctx.workspace.id):
        case = await Case.get(id=case_id)
        context = await case_context(request, ctx.workspace.id, case)
    context["flash"] = message
    return await common.page(
        request, ctx, "recovery/case.html", context, block="case", status=status
    )


async def _case(ctx: WorkspaceContext, request: Request) -> Case | None:
    with workspace_scope(ctx.workspace.id):
        return await Case.get_or_none(id=request.path_params["id"])


def _not_found(request: Request) -> Response:
    from core.web.templating import render

    return render(request, "error.html", {"message": "No such case here."}, status=404)


async def act(request: Request) -> Response:
    """pause | resume | cancel | retry | skip, named by the last path segment."""
    ctx = await common.workspace(request)
    runtime = common.runtime_of(request)
    action = request.path_params["action"]
    if action not in ACTIONS:
        return _not_found(request)
    case = await _case(ctx, request)
    if case is None:
        return _not_found(request)
    actor = ctx.user.email
    message = ""
    with workspace_scope(ctx.workspace.id):
        try:
            if action == "pause":
                ok = await operations.pause(case)
                message = "Paused: no step runs until you resume." if ok else ""
            elif action == "resume":
                ok = await operations.resume(runtime, case)
                message = "Resumed." if ok else ""
            elif action == "cancel":
                ok = await operations.cancel(runtime, case, f"cancelled by {actor}")
                message = "Cancelled; pending steps will not run." if ok else ""
            elif action == "retry":
                ok = await operations.retry_now(runtime, case) is not None
                message = "A retry of the invoice is queued now." if ok else ""
            else:
                step = await operations.skip_next(runtime, case, actor)
                message = f"Skipped step {step.index + 1} ({step.type})."
        except Refused as exc:
            return await _answer(request, ctx, case.id, str(exc), 409)
    if not message:
        return await _answer(
            request, ctx, case.id, f"The case is {case.status}: cannot {action}.", 409
        )
    return await _answer(request, ctx, case.id, message)


def _delay(form: Any) -> timedelta | None:
    """Days and hours from now, or None to keep the step's due time; ValueError when bad."""
    days_raw, hours_raw = str(form.get("days") or "").strip(), str(form.get("hours") or "").strip()
    if not days_raw and not hours_raw:
        return None
    days, hours = float(days_raw or 0), float(hours_raw or 0)
    if not (0 <= days <= MAX_DELAY_DAYS and 0 <= hours <= 24 * MAX_DELAY_DAYS):
        raise ValueError("The delay must be between now and a year from now.")
    return timedelta(days=days, hours=hours)


async def replace(request: Request) -> Response:
    ctx = await common.workspace(request)
    runtime = common.runtime_of(request)
    case = await _case(ctx, request)
    if case is None:
        return _not_found(request)
    form = await request.form()
    type_ = str(form.get("type") or "")
    template = str(form.get("template") or "")
    if type_ not in step_types(runtime):
        return await _answer(request, ctx, case.id, f"Unknown step type {type_[:64]!r}.", 422)
    if template and template not in TEMPLATES:
        return await _answer(request, ctx, case.id, f"Unknown template {template[:40]!r}.", 422)
    try:
        delay = _delay(form)
    except ValueError as exc:
        message = str(exc) if "delay" in str(exc) else "The delay must be a number."
        return await _answer(request, ctx, case.id, message, 422)
    config = {"template": template} if template and type_ == "email" else {}
    with workspace_scope(ctx.workspace.id):
        try:
            new = await operations.replace_next(runtime, case, ctx.user.email, type_, config, delay)
        except Refused as exc:
            return await _answer(request, ctx, case.id, str(exc), 409)
    return await _answer(request, ctx, case.id, f"The next step is now: {new.type}.")


async def _step(case: Case, request: Request) -> CaseStep | None:
    return await CaseStep.get_or_none(id=request.path_params["step_id"], case_id=case.id)


async def resend(request: Request) -> Response:
    ctx = await common.workspace(request)
    runtime = common.runtime_of(request)
    case = await _case(ctx, request)
    if case is None:
        return _not_found(request)
    with workspace_scope(ctx.workspace.id):
        step = await _step(case, request)
        if step is None:
            return _not_found(request)
        try:
            await operations.resend(runtime, case, step, ctx.user.email)
        except Refused as exc:
            return await _answer(request, ctx, case.id, str(exc), 409)
    return await _answer(request, ctx, case.id, f"Step {step.index + 1}'s email is sent again.")


async def note(request: Request) -> Response:
    ctx = await common.workspace(request)
    runtime = common.runtime_of(request)
    case = await _case(ctx, request)
    if case is None:
        return _not_found(request)
    form = await request.form()
    with workspace_scope(ctx.workspace.id):
        try:
            await operations.add_note(
                case, ctx.user.id, ctx.user.email, str(form.get("body") or ""), runtime.now()
            )
        except Refused as exc:
            return await _answer(request, ctx, case.id, str(exc), 422)
    return await _answer(request, ctx, case.id, "Note added.")


async def edit_email(request: Request) -> Response:
    """GET: the edit form with the step's current subject and body. POST: store them."""
    ctx = await common.workspace(request)
    runtime = common.runtime_of(request)
    case = await _case(ctx, request)
    if case is None:
        return _not_found(request)
    with workspace_scope(ctx.workspace.id):
        step = await _step(case, request)
        if step is None or step.type != "email":
            return _not_found(request)
        subject, body = compose.sources(step.config)
        error = None
        if request.method == "POST":
            form = await request.form()
            subject, body = str(form.get("subject") or ""), str(form.get("body") or "")
            try:
                await operations.edit_email(
                    case, step, subject, body, ctx.user.email, runtime.now()
                )
            except Refused as exc:
                error = str(exc)
            else:
                return await _answer(
                    request,
                    ctx,
                    case.id,
                    f"Step {step.index + 1}'s email was changed; it sends the new text.",
                )
    context = {
        "case": case,
        "step": step,
        "subject": subject,
        "body": body,
        "error": error,
        "variables": compose.VARIABLES,
    }
    return await common.page(
        request, ctx, "recovery/step_edit.html", context, block="main", status=422 if error else 200
    )


async def processing(request: Request) -> Response:
    """The workspace-wide processing pause (owners and admins)."""
    ctx = await common.workspace(request, role="admin")
    form = await request.form()
    paused = form.get("paused") == "1"
    with workspace_scope(ctx.workspace.id):
        await operations.set_processing_paused(paused)
    message = (
        "Processing is paused: no recovery step runs in this workspace."
        if paused
        else "Processing resumed: steps that fell due run within a minute."
    )
    target = str(form.get("next") or "")
    return common.back(
        request, target if target.startswith(common.BASE) else f"{common.BASE}/cases", message
    )
