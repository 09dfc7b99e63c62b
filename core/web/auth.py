"""Who is signed in, and in which workspace: the session, the user and the onboarding gate.

`current_user(request)` reads the user the auth middleware loaded from the session.
`await require_workspace(request)` returns the signed-in user's `WorkspaceContext` or raises a
redirect: to sign-in, or to the onboarding step the user stands at. Route code then runs inside
`with workspace_scope(ctx.workspace.id):`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from core.crypto import hash_token, new_token
from core.models.auth import UserSession
from core.models.workspaces import Membership, Role, User, Workspace
from core.onboarding import next_required, steps_for
from core.tenancy import unscoped, workspace_scope
from core.web import csrf

USER_KEY = "user_id"
SESSION_KEY = "sid"
# Matches the cookie's max age: the server forgets a session when the browser would.
SESSION_LIFETIME = timedelta(days=14)
WORKSPACE_KEY = "workspace_id"
ACCOUNT_KEY = "account_id"
_RANK = {Role.MEMBER: 0, Role.ADMIN: 1, Role.OWNER: 2}


class Redirect(HTTPException):
    """Raised to send the browser elsewhere.

    A page gets a 303. An htmx request gets a 200 with `HX-Redirect`, because the XHR would
    follow a 303 silently and swap the sign-in page into a dashboard panel.
    """

    def __init__(self, location: str, *, htmx: bool = False) -> None:
        if htmx:
            super().__init__(200, detail="", headers={"HX-Redirect": location})
        else:
            super().__init__(303, headers={"Location": location})


def redirect_for(request: Request, location: str) -> Redirect:
    return Redirect(location, htmx=request.headers.get("hx-request") == "true")


class Forbidden(HTTPException):
    def __init__(self, detail: str = "You do not have permission to do that.") -> None:
        super().__init__(403, detail=detail)


@dataclass(frozen=True)
class WorkspaceContext:
    user: User
    workspace: Workspace
    role: Role

    def can(self, role: Role) -> bool:
        return _RANK[self.role] >= _RANK[role]

    def require_role(self, role: Role) -> None:
        if not self.can(role):
            raise Forbidden(f"This needs the {role.value} role in {self.workspace.name}.")


def current_user(request: Request) -> User | None:
    user = request.scope.get("state", {}).get("user")
    return user if isinstance(user, User) else None


async def sign_in(request: Request, user: User, workspace_id: int | None = None) -> None:
    """Start a fresh session for `user`: nothing from before survives, the CSRF token is new.

    The cookie is signed but a copy of it would stay valid, so it also carries a random key
    whose hash is a `UserSession` row; signing out revokes the row.
    """
    await _revoke(request)
    runtime = request.app.state.runtime
    key = new_token("", 32)
    await UserSession.create(user=user, key_hash=hash_token(key), created_at=runtime.now())
    request.session.clear()
    request.session[USER_KEY] = user.id
    request.session[SESSION_KEY] = key
    if workspace_id is not None:
        request.session[WORKSPACE_KEY] = workspace_id
    csrf.rotate_token(request.session)
    request.scope.setdefault("state", {})["user"] = user


async def sign_out(request: Request) -> None:
    await _revoke(request)
    request.session.clear()
    request.scope.setdefault("state", {}).pop("user", None)


async def _revoke(request: Request) -> None:
    key = request.session.get(SESSION_KEY)
    if isinstance(key, str) and key:
        now = request.app.state.runtime.now()
        await UserSession.filter(key_hash=hash_token(key), revoked_at__isnull=True).update(
            revoked_at=now
        )


async def memberships(user: User) -> list[Membership]:
    """The user's memberships across workspaces (spans tenants by design: the switcher)."""
    with unscoped():
        return await Membership.filter(user_id=user.id).prefetch_related("workspace").order_by("id")


async def membership_in(user: User, workspace_id: int) -> Membership | None:
    with workspace_scope(workspace_id):
        return await Membership.filter(user_id=user.id).prefetch_related("workspace").first()


async def workspace_context(request: Request) -> WorkspaceContext | None:
    """The session's workspace when the user belongs to it, else their first; None if none."""
    user = current_user(request)
    if user is None:
        return None
    chosen = request.session.get(WORKSPACE_KEY)
    membership = await membership_in(user, chosen) if isinstance(chosen, int) else None
    if membership is None:
        found = await memberships(user)
        membership = found[0] if found else None
        if membership is None:
            return None
        request.session[WORKSPACE_KEY] = membership.workspace_id
    ctx = WorkspaceContext(user, membership.workspace, Role(membership.role))
    request.state.workspace_context = ctx
    return ctx


def require_user(request: Request) -> User:
    user = current_user(request)
    if user is None:
        target = request.url.path
        raise redirect_for(request, f"/signin?next={quote(target)}")
    return user


async def require_workspace(request: Request, *, onboarded: bool = True) -> WorkspaceContext:
    """The signed-in user's workspace context; with `onboarded`, also past every required step."""
    require_user(request)
    ctx = await workspace_context(request)
    if ctx is None:
        raise redirect_for(request, "/onboarding/workspace")
    if onboarded:
        step = next_required(await steps_for(request.app.state.runtime, request, ctx.workspace))
        if step is not None:
            raise redirect_for(request, step.url)
    return ctx


class AuthMiddleware:
    """Loads the session's user once per request, so `current_user` needs no database call."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith("/static/"):
            session = scope.get("session")
            if isinstance(session, dict) and USER_KEY in session:
                runtime = scope["app"].state.runtime
                user = await _session_user(session, since=runtime.now() - SESSION_LIFETIME)
                if user is None:
                    session.clear()  # revoked, expired, or the user is gone
                else:
                    scope.setdefault("state", {})["user"] = user
        await self.app(scope, receive, send)


async def _session_user(session: dict[str, object], *, since: datetime) -> User | None:
    key, user_id = session.get(SESSION_KEY), session.get(USER_KEY)
    if not isinstance(key, str) or not isinstance(user_id, int):
        return None
    row = await UserSession.get_or_none(
        key_hash=hash_token(key), user_id=user_id, revoked_at__isnull=True, created_at__gt=since
    ).select_related("user")
    return row.user if row is not None else None
