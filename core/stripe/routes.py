"""Pages for connecting Stripe: `/onboarding/stripe` (both ways side by side), the Connect
OAuth start and callback, and `/app/settings/stripe` (list, switch, rotate, disconnect).

Secrets are never rendered back: keys and signing secrets show only masked.
"""

from __future__ import annotations

from typing import Any

import stripe
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from core.models.accounts import ConnectionMode, StripeAccount
from core.models.workspaces import Role
from core.onboarding import next_step, steps_for
from core.runtime import Runtime
from core.stripe import oauth, permissions, webhook_setup
from core.stripe.access import StripeAccessError, mask, unseal
from core.stripe.accounts import active_account, choose_account, get_account, list_accounts
from core.stripe.restricted_key import ConnectError, connect_with_key, disconnect_key
from core.tenancy import workspace_scope
from core.web.auth import WorkspaceContext, require_workspace
from core.web.shell import shell_context
from core.web.templating import render

OAUTH_SESSION_KEY = "stripe_oauth"
CALLBACK_PATH = "/onboarding/stripe/callback"
SETTINGS_PATH = "/app/settings/stripe"


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def _admin(request: Request, *, onboarded: bool = True) -> WorkspaceContext:
    ctx = await require_workspace(request, onboarded=onboarded)
    ctx.require_role(Role.ADMIN)
    return ctx


async def onboarding_page(request: Request) -> Response:
    ctx = await require_workspace(request, onboarded=False)
    return await _onboarding(request, ctx)


async def _onboarding(
    request: Request, ctx: WorkspaceContext, *, error: str = "", status: int = 200
) -> Response:
    runtime = _runtime(request)
    context = {
        "workspace": ctx.workspace,
        "steps": await steps_for(runtime, request, ctx.workspace),
        "current": "stripe",
        "oauth_enabled": oauth.configured(runtime.settings),
        "permissions": permissions.needed(runtime),
        "error": error,
    }
    return render(request, "onboarding/stripe.html", context, status=status)


async def connect_key(request: Request) -> Response:
    ctx = await _admin(request, onboarded=False)
    form = await request.form()
    api_key = str(form.get("api_key") or "").strip()
    secret = str(form.get("webhook_secret") or "").strip() or None
    if not api_key:
        return await _onboarding(request, ctx, error="Paste a restricted key (rk_…).", status=400)
    runtime = _runtime(request)
    try:
        result = await connect_with_key(runtime, ctx.workspace, api_key, secret)
    except ConnectError as exc:
        return await _onboarding(request, ctx, error=str(exc), status=400)
    except stripe.StripeError:
        return await _onboarding(
            request, ctx, error="Stripe answered an error; try again.", status=502
        )
    choose_account(request, result.account)
    steps = await steps_for(runtime, request, ctx.workspace)
    upcoming = next_step(steps)
    context = {
        "workspace": ctx.workspace,
        "steps": steps,
        "next": upcoming,
        "current": "stripe",
        "account": result.account,
        "webhook_url": result.webhook_url,
        "endpoint_created": result.endpoint_created,
        "warnings": result.warnings,
        "instructions": result.instructions,
        "events": webhook_setup.enabled_events(runtime),
        "missing": permissions.describe(
            result.account.missing_permissions, permissions.needed(runtime)
        ),
    }
    return render(request, "onboarding/stripe_connected.html", context)


async def oauth_start(request: Request) -> Response:
    ctx = await _admin(request, onboarded=False)
    form = await request.form()
    scope = str(form.get("scope") or "read_write")
    runtime = _runtime(request)
    redirect_uri = runtime.settings.base_url + CALLBACK_PATH
    try:
        start = oauth.start(runtime.settings, scope=scope, redirect_uri=redirect_uri)
    except oauth.OAuthFailed as exc:
        return await _onboarding(request, ctx, error=str(exc), status=400)
    request.session[OAUTH_SESSION_KEY] = {
        "state": start.state,
        "scope": start.scope,
        "workspace_id": ctx.workspace.id,
    }
    return RedirectResponse(start.url, status_code=303)


async def oauth_callback(request: Request) -> Response:
    ctx = await _admin(request, onboarded=False)
    runtime = _runtime(request)
    pending: Any = request.session.pop(OAUTH_SESSION_KEY, None)
    if not isinstance(pending, dict) or pending.get("workspace_id") != ctx.workspace.id:
        pending = {}
    try:
        account = await oauth.complete(
            runtime,
            ctx.workspace,
            callback_url=str(request.url),
            expected_state=pending.get("state"),
            redirect_uri=runtime.settings.base_url + CALLBACK_PATH,
            scope=str(pending.get("scope") or "read_write"),
        )
    except oauth.OAuthStateError:
        return _problem(
            request,
            "This Stripe authorization does not match one you started here, so it was refused. "
            "Start again from “Connect with Stripe”.",
        )
    except oauth.OAuthFailed as exc:
        return _problem(request, str(exc))
    choose_account(request, account)
    # A first connection is onboarding: go on to the next step (the audit). Another account
    # added later goes back to the settings page it was started from.
    with workspace_scope(ctx.workspace.id):
        others = await StripeAccount.filter(id__not=account.id).exists()
    upcoming = None if others else next_step(await steps_for(runtime, request, ctx.workspace))
    if upcoming is not None:
        return RedirectResponse(upcoming.url, status_code=303)
    return RedirectResponse(f"{SETTINGS_PATH}?connected={account.id}", status_code=303)


def _problem(request: Request, message: str) -> Response:
    return render(request, "onboarding/stripe_error.html", {"message": message}, status=400)


def _row(runtime: Runtime, account: StripeAccount, active: StripeAccount | None) -> dict[str, Any]:
    secret = unseal(runtime, account, "webhook_secret")
    return {
        "account": account,
        "active": active is not None and active.id == account.id,
        "webhook_url": webhook_setup.account_webhook_url(runtime, account),
        "api_key": mask(unseal(runtime, account, "api_key")),
        "webhook_secret": mask(secret),
        "managed_endpoint": bool(account.webhook_endpoint_id),
        "previous_until": account.previous_webhook_secret_until
        if webhook_setup.accepted_secrets(runtime, account)[1:]
        else None,
        "missing": permissions.describe(account.missing_permissions, permissions.needed(runtime)),
        "oauth": account.mode == ConnectionMode.OAUTH,
    }


async def settings_page(
    request: Request, *, message: str = "", status: int = 200, block: str = "main"
) -> Response:
    ctx = await require_workspace(request)
    runtime = _runtime(request)
    active = await active_account(request, ctx.workspace)
    context = await shell_context(request, ctx)
    rows = [_row(runtime, a, active) for a in await list_accounts(ctx.workspace)]
    context.update(workspace=ctx.workspace, rows=rows, message=message)
    return render(request, "stripe/settings.html", context, block=block, status=status)


async def _owned(request: Request, ctx: WorkspaceContext) -> StripeAccount:
    account_id = request.path_params["account_id"]
    account = await get_account(ctx.workspace, account_id)
    if account is None:  # another workspace's id looks exactly like a missing one
        raise HTTPException(404, "No such Stripe account in this workspace.")
    return account


async def switch(request: Request) -> Response:
    ctx = await require_workspace(request)
    account = await _owned(request, ctx)
    choose_account(request, account)
    return RedirectResponse(SETTINGS_PATH, status_code=303)


async def rotate_token(request: Request) -> Response:
    ctx = await _admin(request)
    account = await _owned(request, ctx)
    try:
        with workspace_scope(ctx.workspace.id):
            await webhook_setup.rotate_token(_runtime(request), account)
    except (stripe.StripeError, StripeAccessError) as exc:
        # Nothing was saved: the old URL still works and the endpoint still points at it.
        return await _stripe_refused(request, "The webhook URL was not changed", exc, "accounts")
    return await settings_page(
        request, message="New webhook URL issued; the old one stops working.", block="accounts"
    )


async def rotate_secret(request: Request) -> Response:
    ctx = await _admin(request)
    account = await _owned(request, ctx)
    form = await request.form()
    secret = str(form.get("webhook_secret") or "").strip() or None
    keep_old = not form.get("revoke_old")  # ticked when the old secret leaked
    try:
        with workspace_scope(ctx.workspace.id):
            await webhook_setup.rotate_secret(_runtime(request), account, secret, keep_old=keep_old)
    except ValueError as exc:
        return await settings_page(request, message=str(exc), status=400, block="accounts")
    except (stripe.StripeError, StripeAccessError) as exc:
        return await _stripe_refused(
            request, "The signing secret was not replaced", exc, "accounts"
        )
    until = account.previous_webhook_secret_until
    message = "Webhook signing secret replaced" + (
        f"; the old one is accepted until {until:%Y-%m-%d %H:%M} UTC." if until else "."
    )
    return await settings_page(request, message=message, block="accounts")


async def disconnect(request: Request) -> Response:
    ctx = await _admin(request)
    account = await _owned(request, ctx)
    runtime = _runtime(request)
    try:
        if account.mode == ConnectionMode.OAUTH:
            await oauth.disconnect(runtime, account)
        else:
            await disconnect_key(runtime, account)
    except (stripe.StripeError, StripeAccessError) as exc:
        # Still connected on Stripe's side, so still connected here: say so, change nothing.
        return await _stripe_refused(request, "Not disconnected", exc)
    return RedirectResponse(SETTINGS_PATH, status_code=303)


async def _stripe_refused(
    request: Request,
    what: str,
    exc: stripe.StripeError | StripeAccessError,
    block: str = "main",
) -> Response:
    """The settings page (or its `block`), 502, saying what was not done and Stripe's why."""
    if isinstance(exc, StripeAccessError):
        reason = str(exc)
    else:
        reason = exc.user_message or "Stripe could not be reached"
    message = f"{what}: {reason.rstrip('.')}. Try again in a moment."
    return await settings_page(request, message=message, status=502, block=block)


async def settings_get(request: Request) -> Response:
    return await settings_page(request)


def routes(runtime: Runtime) -> list[BaseRoute]:
    one = SETTINGS_PATH + "/{account_id:int}"
    return [
        Route("/onboarding/stripe", onboarding_page, methods=["GET"]),
        Route("/onboarding/stripe/key", connect_key, methods=["POST"]),
        Route("/onboarding/stripe/oauth", oauth_start, methods=["POST"]),
        Route(CALLBACK_PATH, oauth_callback, methods=["GET"]),
        Route(SETTINGS_PATH, settings_get, methods=["GET"]),
        Route(one + "/switch", switch, methods=["POST"]),
        Route(one + "/rotate-token", rotate_token, methods=["POST"]),
        Route(one + "/rotate-secret", rotate_secret, methods=["POST"]),
        Route(one + "/disconnect", disconnect, methods=["POST"]),
    ]
