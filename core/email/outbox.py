"""The local outbox: where mail goes when SECONDLOOP_SMTP_URL is unset, readable in the UI.

`/app/outbox` shows the signed-in workspace's mail (whatever the transport, with its status);
`/dev/outbox` shows mail sent before any workspace existed (sign-in links). Those links sign
anyone in, so the page is for the developer's own machine: never with SMTP or in production,
and by default (`SECONDLOOP_DEV_OUTBOX=auto`) only when the base URL is a loopback address and
the request comes from the machine itself, not through a proxy. A server started with no
configuration and bound to a public interface therefore shows nothing. `on` opts in for any
client (a shared development box); `off` turns it off.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from core.models.email import OutboundEmail
from core.settings import Settings
from core.settings_checks import is_loopback
from core.tenancy import unscoped, workspace_scope
from core.web.auth import require_workspace
from core.web.shell import shell_context
from core.web.templating import render

PAGE_SIZE = 100


# Headers a reverse proxy adds: a forwarded request is not the developer's own browser.
FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


def dev_outbox_enabled(settings: Settings) -> bool:
    """Whether this configuration has a dev outbox at all (before looking at the request)."""
    if settings.smtp_url or settings.production or settings.dev_outbox == "off":
        return False
    return settings.dev_outbox == "on" or is_loopback(urlsplit(settings.base_url).hostname)


def dev_outbox_allows(settings: Settings, request: Request) -> bool:
    """Whether `request` may read the dev outbox."""
    if not dev_outbox_enabled(settings):
        return False
    if settings.dev_outbox == "on":
        return True
    local = request.client is not None and is_loopback(request.client.host)
    return local and not any(name in request.headers for name in FORWARDING_HEADERS)


def page(request: Request, name: str, context: dict[str, Any], *, status: int = 200) -> Response:
    return render(request, f"email/{name}.html", context, block="main", status=status)


async def _rows(workspace_id: int | None) -> list[OutboundEmail]:
    with unscoped():  # explicit workspace filter: NULL (sign-in mail) has no scope to enter
        return (
            await OutboundEmail.filter(workspace_id=workspace_id)
            .order_by("-created_at", "-id")
            .limit(PAGE_SIZE)
        )


async def _one(workspace_id: int | None, email_id: int) -> OutboundEmail | None:
    with unscoped():
        return await OutboundEmail.get_or_none(id=email_id, workspace_id=workspace_id)


async def dev_list(request: Request) -> Response:
    context = {"emails": await _rows(None), "base": "/dev/outbox", "dev": True}
    return page(request, "outbox", context)


async def dev_message(request: Request, email_id: int) -> Response:
    email = await _one(None, email_id)
    context = {"email": email, "base": "/dev/outbox", "dev": True}
    return page(request, "message", context, status=200 if email else 404)


async def workspace_list(request: Request) -> Response:
    ctx = await require_workspace(request)
    context = await shell_context(request, ctx)
    with workspace_scope(ctx.workspace.id):
        context.update(emails=await _rows(ctx.workspace.id), base="/app/outbox", dev=False)
    return page(request, "outbox", context)


async def workspace_message(request: Request, email_id: int) -> Response:
    ctx = await require_workspace(request)
    context = await shell_context(request, ctx)
    email = await _one(ctx.workspace.id, email_id)
    context.update(email=email, base="/app/outbox", dev=False)
    return page(request, "message", context, status=200 if email else 404)
