"""The local outbox: where mail goes when SECONDLOOP_SMTP_URL is unset, readable in the UI.

`/app/outbox` shows the signed-in workspace's mail (whatever the transport, with its status);
`/dev/outbox` shows mail sent before any workspace existed (sign-in links), and only on a
development machine without SMTP — in production that mail reaches real inboxes instead.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from core.models.email import OutboundEmail
from core.settings import Settings
from core.tenancy import unscoped, workspace_scope
from core.web.auth import require_workspace
from core.web.shell import shell_context
from core.web.templating import render

PAGE_SIZE = 100


def dev_outbox_enabled(settings: Settings) -> bool:
    return not settings.smtp_url and not settings.production


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
