"""Settings → API keys: create (the secret is shown once), list, revoke. Admins only write."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from core.api.keys import create_key, revoke_key
from core.models.api_keys import ApiKey, ApiScope
from core.models.workspaces import Role
from core.runtime import Runtime
from core.tenancy import workspace_scope
from core.web.auth import require_workspace
from core.web.shell import shell_context
from core.web.templating import render

PATH = "/app/settings/api-keys"


async def _page(request: Request, status: int = 200, **extra: object) -> Response:
    ctx = await require_workspace(request)
    context = await shell_context(request, ctx)
    with workspace_scope(ctx.workspace.id):
        context["keys"] = await ApiKey.all().order_by("-created_at", "-id")
    context.update(can_manage=ctx.can(Role.ADMIN), scopes=list(ApiScope), path=PATH, **extra)
    return render(request, "api/keys.html", context, block="main", status=status)


async def keys_page(request: Request) -> Response:
    return await _page(request)


async def create_submit(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    ctx = await require_workspace(request)
    ctx.require_role(Role.ADMIN)
    form = await request.form()
    scope = str(form.get("scope", ""))
    name = str(form.get("name", "")).strip()[:120]
    if scope not in {s.value for s in ApiScope}:
        return await _page(request, 400, error="Choose read or write.")
    new = await create_key(runtime, ctx.workspace.id, scope, name)
    # The only response that ever carries the secret; it is not stored anywhere.
    return await _page(request, 201, new_secret=new.secret, new_key=new.key)


async def revoke_submit(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    ctx = await require_workspace(request)
    ctx.require_role(Role.ADMIN)
    key_id = int(request.path_params["id"])
    if not await revoke_key(runtime, ctx.workspace.id, key_id):
        return await _page(request, 404, error="No such live key in this workspace.")
    return await _page(request, notice="The key was revoked; requests using it now get 401.")


def routes() -> list[BaseRoute]:
    return [
        Route(PATH, keys_page, methods=["GET"], name="api-keys"),
        Route(PATH, create_submit, methods=["POST"], name="api-keys-create"),
        Route(PATH + "/{id:int}/revoke", revoke_submit, methods=["POST"], name="api-keys-revoke"),
    ]
