"""Onboarding pages the core owns: where-am-I, and creating the workspace."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from core.auth.workspaces import create_workspace
from core.onboarding import next_required, steps_for
from core.runtime import Runtime
from core.web.auth import WORKSPACE_KEY, require_user, workspace_context
from core.web.templating import render


async def onboarding_home(request: Request) -> Response:
    """Send the operator to the first required step they have not done, or into the app."""
    require_user(request)
    runtime: Runtime = request.app.state.runtime
    ctx = await workspace_context(request)
    step = next_required(await steps_for(runtime, request, ctx.workspace if ctx else None))
    return RedirectResponse(step.url if step else "/app", status_code=303)


async def workspace_form(request: Request) -> Response:
    require_user(request)
    runtime: Runtime = request.app.state.runtime
    ctx = await workspace_context(request)
    steps = await steps_for(runtime, request, None)
    return render(
        request,
        "onboarding/workspace.html",
        {"steps": steps, "current": "workspace", "existing": ctx},
    )


async def workspace_create(request: Request) -> Response:
    user = require_user(request)
    runtime: Runtime = request.app.state.runtime
    form = await request.form()
    name = str(form.get("name", ""))
    try:
        workspace = await create_workspace(runtime, name, user)
    except ValueError as exc:
        steps = await steps_for(runtime, request, None)
        return render(
            request,
            "onboarding/workspace.html",
            {"steps": steps, "current": "workspace", "error": str(exc), "name": name},
            status=400,
        )
    request.session[WORKSPACE_KEY] = workspace.id
    request.session.pop("account_id", None)
    step = next_required(await steps_for(runtime, request, workspace))
    return RedirectResponse(step.url if step else "/app", status_code=303)


def routes(runtime: Runtime) -> list[BaseRoute]:
    return [
        Route("/onboarding", onboarding_home, methods=["GET"]),
        Route("/onboarding/workspace", workspace_form, methods=["GET"]),
        Route("/onboarding/workspace", workspace_create, methods=["POST"]),
    ]
