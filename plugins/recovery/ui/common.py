"""What the operator pages share: the signed-in workspace, rendering, flash messages, durations."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from core.runtime import Runtime
from core.web.auth import WorkspaceContext, require_workspace
from core.web.shell import shell_context
from core.web.templating import is_htmx, render
from plugins.recovery.copy import format_amount

BASE = "/app/recovery"
FLASH = "recovery_flash"


async def workspace(request: Request, role: str | None = None) -> WorkspaceContext:
    """The signed-in workspace (redirects to sign-in or onboarding), optionally a minimum role."""
    from core.models.workspaces import Role

    ctx = await require_workspace(request)
    if role is not None:
        ctx.require_role(Role(role))
    return ctx


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def page(
    request: Request,
    ctx: WorkspaceContext,
    template: str,
    context: dict[str, Any],
    *,
    block: str = "main",
    status: int = 200,
) -> Response:
    """The full page, or only `block` for an htmx request."""
    context.setdefault("flash", request.session.pop(FLASH, None))
    context.setdefault("can_admin", ctx.can(_admin()))
    if not is_htmx(request):
        context.update(await shell_context(request, ctx))
    return render(request, template, context, block=block, status=status)


def _admin() -> Any:
    from core.models.workspaces import Role

    return Role.ADMIN


def back(request: Request, url: str, message: str | None = None) -> Response:
    """After a form: a 303 to `url` with a message shown once (post/redirect/get)."""
    if message:
        request.session[FLASH] = message
    return RedirectResponse(url, status_code=303)


def money(amount: int | None, currency: str) -> str:
    return format_amount(int(amount or 0), currency) if amount is not None else "—"


def duration(delta: timedelta) -> str:
    """A short human duration: 3 d 4 h, 2 h 5 min, 45 min."""
    seconds = max(int(delta.total_seconds()), 0)
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"


def until(when: datetime | None, now: datetime) -> str:
    """How far `when` is from now: 'in 2 d', '3 h ago', 'now'."""
    if when is None:
        return "—"
    delta = when - now
    if abs(delta.total_seconds()) < 60:
        return "now"
    return f"in {duration(delta)}" if delta.total_seconds() > 0 else f"{duration(-delta)} ago"


def stamp(when: datetime | None) -> str:
    return when.strftime("%Y-%m-%d %H:%M UTC") if when is not None else "—"


def int_param(raw: Any, default: int | None = None) -> int | None:
    text = str(raw or "").strip()
    return int(text) if text.isdigit() and len(text) < 12 else default
