"""The dashboard shell: /app composed of plugin panels, settings, and the two switchers."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from core.contributions import NavLink, Panel
from core.models.accounts import ConnectionStatus, StripeAccount
from core.onboarding import next_step, step_at, steps_for
from core.runtime import Runtime
from core.stripe.accounts import active_account
from core.tenancy import workspace_scope
from core.web.auth import (
    ACCOUNT_KEY,
    WORKSPACE_KEY,
    WorkspaceContext,
    current_user,
    membership_in,
    memberships,
    require_user,
    require_workspace,
)
from core.web.templating import is_htmx, render

CORE_NAV = [
    NavLink("Dashboard", "/app", order=0),
    NavLink("Events", "/app/events", order=850),
    NavLink("Outbox", "/app/outbox", order=900),
    NavLink("Settings", "/app/settings", order=1000),
]


async def shell_context(request: Request, ctx: WorkspaceContext) -> dict[str, Any]:
    """What app/layout.html needs: nav, the user's workspaces, this workspace's accounts."""
    runtime: Runtime = request.app.state.runtime
    links, nav_failures = await runtime.host.gather(
        "nav_links", workspace=ctx.workspace, request=request
    )
    css, css_failures = await runtime.host.gather(
        "extra_css_urls", workspace=ctx.workspace, request=request
    )
    nav = sorted(
        [*CORE_NAV, *(x for x in links if isinstance(x, NavLink))],
        key=lambda link: (link.order, link.label),
    )
    with workspace_scope(ctx.workspace.id):
        accounts = await StripeAccount.filter(status=ConnectionStatus.ACTIVE).order_by("id")
        reconnect = await StripeAccount.filter(status=ConnectionStatus.RECONNECT).order_by("id")
    active = await active_account(request, ctx.workspace)
    return {
        # An htmx fragment never shows the strip: skip the steps' queries.
        "onboarding": None if is_htmx(request) else await onboarding_progress(request, ctx),
        "ctx": ctx,
        "nav": nav,
        "nav_failures": [*nav_failures, *css_failures],
        "extra_css_urls": _same_origin_once(css),
        "workspaces": [m.workspace for m in await memberships(ctx.user)],
        "accounts": accounts,
        "reconnect_accounts": reconnect,
        "active_account": active,
        "path": request.url.path,
        "current_href": _current(nav, request.url.path),
    }


HIDDEN_KEY = "onboarding_hidden"


async def onboarding_progress(request: Request, ctx: WorkspaceContext) -> dict[str, Any] | None:
    """Where the operator stands in the first-ship sequence, while a step is left: shown on the
    dashboard and on each step's own page (the audit, recovery settings), with the next step."""
    if ctx.workspace.id in request.session.get(HIDDEN_KEY, []):
        return None
    runtime: Runtime = request.app.state.runtime
    steps = await steps_for(runtime, request, ctx.workspace)
    upcoming = next_step(steps)
    here = step_at(steps, request.url.path)
    if upcoming is None or (here is None and request.url.path != "/app"):
        return None
    return {
        "steps": steps,
        "current": here.key if here else upcoming.key,
        "next": None if here is upcoming else upcoming,
    }


async def hide_onboarding(request: Request) -> Response:
    """ "Hide": the operator skips the optional steps; the progress strip stays hidden."""
    ctx = await require_workspace(request)
    hidden = [*request.session.get(HIDDEN_KEY, []), ctx.workspace.id]
    request.session[HIDDEN_KEY] = list(dict.fromkeys(hidden))
    return RedirectResponse(_back(request), status_code=303)


def _same_origin_once(urls: list[Any]) -> list[str]:
    """Local paths only (the CSP would block the rest, `//host` included), each linked once."""
    local = (u for u in urls if isinstance(u, str) and u.startswith("/") and not u.startswith("//"))
    return list(dict.fromkeys(local))


def _current(nav: list[NavLink], path: str) -> str | None:
    """The nav entry the page belongs to: the longest href that is the path or a parent of it."""
    matches = [link.href for link in nav if path == link.href or path.startswith(link.href + "/")]
    return max(matches, key=len, default=None)


async def panels(request: Request, hook: str, ctx: WorkspaceContext) -> dict[str, Any]:
    runtime: Runtime = request.app.state.runtime
    found, failures = await runtime.host.gather(hook, workspace=ctx.workspace, request=request)
    ordered = sorted((p for p in found if isinstance(p, Panel)), key=lambda p: (p.order, p.key))
    return {"panels": ordered, "failures": failures}


async def home(request: Request) -> Response:
    return RedirectResponse("/app" if current_user(request) else "/signin", status_code=303)


async def dashboard(request: Request) -> Response:
    ctx = await require_workspace(request)
    context = await shell_context(request, ctx)
    context.update(await panels(request, "dashboard_panels", ctx))
    return render(request, "app/dashboard.html", context, block="main")


async def settings_page(request: Request) -> Response:
    ctx = await require_workspace(request)
    context = await shell_context(request, ctx)
    context.update(await panels(request, "settings_panels", ctx))
    return render(request, "app/settings.html", context, block="main")


async def switch_account(request: Request) -> Response:
    """Choose the active Stripe account; an id from another workspace is simply not found."""
    ctx = await require_workspace(request)
    form = await request.form()
    raw = str(form.get("account_id", ""))
    with workspace_scope(ctx.workspace.id):
        account = (
            await StripeAccount.filter(id=int(raw), status=ConnectionStatus.ACTIVE).first()
            if raw.isdigit()
            else None
        )
    if account is None:
        return render(
            request, "error.html", {"message": "No such Stripe account here."}, status=404
        )
    request.session[ACCOUNT_KEY] = account.id
    return RedirectResponse(_back(request), status_code=303)


async def switch_workspace(request: Request) -> Response:
    """Move to another workspace the user belongs to; others are refused like unknown ones."""
    user = require_user(request)
    form = await request.form()
    raw = str(form.get("workspace_id", ""))
    membership = await membership_in(user, int(raw)) if raw.isdigit() else None
    if membership is None:
        return render(request, "error.html", {"message": "No such workspace for you."}, status=404)
    request.session[WORKSPACE_KEY] = membership.workspace_id
    request.session.pop(ACCOUNT_KEY, None)
    return RedirectResponse("/app", status_code=303)


def _back(request: Request) -> str:
    referer = request.headers.get("referer", "")
    base = str(request.base_url)
    if referer.startswith(base):
        path = "/" + referer[len(base) :]
        if path.startswith("/app"):
            return path
    return "/app"


def routes(runtime: Runtime) -> list[BaseRoute]:
    return [
        Route("/", home, methods=["GET"]),
        Route("/app", dashboard, methods=["GET"]),
        Route("/app/settings", settings_page, methods=["GET"]),
        Route("/app/accounts/switch", switch_account, methods=["POST"]),
        Route("/app/workspaces/switch", switch_workspace, methods=["POST"]),
        Route("/app/onboarding/hide", hide_onboarding, methods=["POST"]),
    ]
