"""Email previews: what a step would send, rendered without sending anything."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from core.email import OutboundEmail
from core.tenancy import workspace_scope
from plugins.recovery import compose, gateway
from plugins.recovery.cases import settings_for
from plugins.recovery.models import Case, CaseStep
from plugins.recovery.steps.email import email_key
from plugins.recovery.ui import common, framing


async def case_step_preview(request: Request) -> Response:
    """GET: the step's email with the case's real variables. POST: the same for an edit not
    saved yet (fields `subject` and `body`), checked like a saved one."""
    ctx = await common.workspace(request)
    runtime = common.runtime_of(request)
    context: dict[str, object] = {"rendered": None, "error": None}
    with workspace_scope(ctx.workspace.id):
        case = await Case.get_or_none(id=request.path_params["id"])
        step = (
            await CaseStep.get_or_none(id=request.path_params["step_id"], case_id=case.id)
            if case is not None
            else None
        )
        if case is None or step is None or step.type != "email":
            from core.web.templating import render

            return render(
                request, "error.html", {"message": "No such email step here."}, status=404
            )
        config = dict(step.config)
        if request.method == "POST":
            form = await request.form()
            for key, limit in (("subject", compose.SUBJECT_MAX), ("body", compose.BODY_MAX)):
                source = str(form.get(key) or "").strip()
                try:
                    compose.check(source, f"The {key}", limit)
                except compose.TemplateProblem as exc:
                    context["error"] = str(exc)
                if source:
                    config[key] = source
                else:
                    config.pop(key, None)
        if context["error"] is None:
            settings = await settings_for()
            now = await gateway.now_for(runtime, case.stripe_account_id, None, case.test_clock)
            rendered = await compose.for_step(runtime, case, step, settings, now, config)
            context["rendered"] = rendered
            context["mirror_html"] = framing.mirror(
                rendered.text, compose.button_for(case.category)
            )
    context.update(case=case, step=step, to=case.customer_email)
    status = 422 if context["error"] else 200
    return await common.page(
        request, ctx, "recovery/preview.html", context, block="preview", status=status
    )


async def sent_email_html(request: Request) -> Response:
    """The HTML part of a step's email exactly as recorded by the email service, made inert."""
    ctx = await common.workspace(request)
    with workspace_scope(ctx.workspace.id):
        step = await CaseStep.get_or_none(
            id=request.path_params["step_id"], case_id=request.path_params["id"]
        )
        email = (
            await OutboundEmail.get_or_none(key=f"{ctx.workspace.id}:{email_key(step.id)}")
            if step is not None
            else None
        )
    if email is None:
        return Response("No email was sent for this step.", status_code=404)
    return framing.email_document(email.html_body)
