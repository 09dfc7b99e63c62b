"""The core's middleware stack, pure ASGI (BaseHTTPMiddleware would break ContextVars)."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.logs import request_id_var
from core.runtime import Runtime
from core.web.auth import SESSION_LIFETIME, AuthMiddleware
from core.web.csrf import CsrfMiddleware

SESSION_COOKIE = "sl_session"
SESSION_MAX_AGE = int(SESSION_LIFETIME.total_seconds())
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

CSP = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data:",
        "style-src 'self'",
        "script-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "object-src 'none'",
    ]
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "x-content-type-options": "nosniff",
}


def new_request_id() -> str:
    """32 hex digits, as unique as a uuid4's. Not a secret (it is sent back and logged), so it
    needs no system randomness: `uuid4` asks the kernel each time, which was 2 % of a
    webhook's CPU here."""
    return f"{random.getrandbits(128):032x}"


async def with_request_id(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Run `app` under a sane incoming X-Request-Id, or a new one; logs and the response
    carry it."""
    incoming = b""
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            incoming = value
    text = incoming.decode("latin-1")
    request_id = text if _REQUEST_ID.match(text) else new_request_id()
    token = request_id_var.set(request_id)

    async def send_with_id(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [
                *message.get("headers", ()),
                (b"x-request-id", request_id.encode()),
            ]
        await send(message)

    try:
        await app(scope, receive, send_with_id)
    finally:
        request_id_var.reset(token)


class RequestIdMiddleware:
    """Takes a sane incoming X-Request-Id or makes one; logs and the response carry it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await with_request_id(self.app, scope, receive, send)


class MachineLane:
    """Deliveries from machines (Stripe's webhooks) skip the browser's middleware.

    Session cookies, CSRF tokens, the signed-in user and the browser's security headers mean
    nothing to a webhook, which authenticates by its signature, so the busiest path does not
    pass through them (a session cookie is never set on an answer to Stripe). A request under
    `prefix` that one of `routes` matches fully is handled here, with a request id; anything
    else (another method, another path) takes the ordinary stack, so errors and 405s read the
    same.
    """

    def __init__(self, app: ASGIApp, prefix: str, routes: Sequence[Route]) -> None:
        self.app, self.prefix, self.routes = app, prefix, tuple(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self.prefix):
            for route in self.routes:
                match, child_scope = route.matches(scope)
                if match is Match.FULL:
                    scope.update(child_scope)
                    await with_request_id(route.handle, scope, receive, send)
                    return
        await self.app(scope, receive, send)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def core_middleware(runtime: Runtime) -> list[Middleware]:
    from core.events.routes import WEBHOOK_PREFIX, webhook_routes

    settings = runtime.settings
    return [
        Middleware(MachineLane, prefix=WEBHOOK_PREFIX, routes=webhook_routes()),
        Middleware(RequestIdMiddleware),
        Middleware(SecurityHeadersMiddleware),
        Middleware(
            SessionMiddleware,
            secret_key=settings.secret_key,
            session_cookie=SESSION_COOKIE,
            max_age=SESSION_MAX_AGE,
            same_site="lax",
            https_only=settings.base_url.startswith("https://"),
        ),
        Middleware(CsrfMiddleware),
        Middleware(AuthMiddleware),
    ]
