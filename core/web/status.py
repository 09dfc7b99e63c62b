"""`/app/status`: the schedules' last runs, with the ones that missed their window in red."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from core.runtime import Runtime
from core.schedule_status import schedule_states
from core.web.auth import require_workspace
from core.web.shell import shell_context
from core.web.templating import render

URL = "/app/status"


async def status_page(request: Request) -> Response:
    ctx = await require_workspace(request)
    runtime: Runtime = request.app.state.runtime
    context = await shell_context(request, ctx)
    states = await schedule_states(runtime)
    attention = [s for s in states if s.health in ("late", "failed", "missed")]
    context.update(states=states, late=attention)
    return render(request, "app/status.html", context, block="schedules")


def routes(runtime: Runtime) -> list[BaseRoute]:
    return [Route(URL, status_page, methods=["GET"], name="status")]
