"""The dashboard's webhook health box: an HTMX fragment, or a full page when opened directly."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from core.contributions import Panel
from core.events.health import webhook_health

URL = "/app/panels/webhook-health"
PANEL = Panel(key="webhook-health", title="Webhook health", url=URL, order=90)


async def webhook_health_panel(request: Request) -> Response:
    from core.web.auth import require_workspace
    from core.web.shell import shell_context
    from core.web.templating import is_htmx, render

    ctx = await require_workspace(request)
    context = {"health": await webhook_health(ctx.workspace.id)}
    if not is_htmx(request):
        context.update(await shell_context(request, ctx))
    return render(request, "events/webhook_health.html", context, block="panel")
