"""CSRF protection: every unsafe request carries the session's token (form field or header).

Pure ASGI, so the body a form check reads is replayed to the app unchanged. Paths that
authenticate by token instead of cookie (webhooks, the JSON API, customer links) are exempt.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import MutableMapping
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SESSION_KEY = "csrf"
FIELD = "csrf_token"
HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# /u/: RFC 8058 one-click unsubscribe, POSTed by mail clients; the signed token authorises it.
EXEMPT_PREFIXES = ("/webhooks/", "/api/", "/r/", "/u/")
# A form bigger than this is not read for its token (uploads send the header instead).
MAX_FORM_BYTES = 1024 * 1024


def get_token(session: MutableMapping[str, Any]) -> str:
    """The session's CSRF token, created on first use."""
    token = session.get(SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session[SESSION_KEY] = token
    return token


def rotate_token(session: MutableMapping[str, Any]) -> str:
    session.pop(SESSION_KEY, None)
    return get_token(session)


def _reject(reason: str) -> HTMLResponse:
    body = (
        "<!doctype html><html lang=en><meta charset=utf-8><title>Request refused</title>"
        "<main><h1>This request was refused (CSRF check)</h1>"
        f"<p>{reason} Reload the page you came from and try again.</p></main></html>"
    )
    return HTMLResponse(body, status_code=403)


class CsrfMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        session = scope.get("session") or {}
        expected = session.get(SESSION_KEY)
        if not isinstance(expected, str) or not expected:
            await _reject("Your session has no security token (cookies may be blocked).")(
                scope, receive, send
            )
            return
        request = Request(scope)
        supplied = request.headers.get(HEADER)
        if supplied is None:
            supplied, receive = await _token_from_form(scope, receive)
        if supplied is None or not hmac.compare_digest(supplied.encode(), expected.encode()):
            await _reject("The security token was missing or did not match your session.")(
                scope, receive, send
            )
            return
        await self.app(scope, receive, send)


async def _token_from_form(scope: Scope, receive: Receive) -> tuple[str | None, Receive]:
    """Read the body once, find the form's token, and hand back a receive that replays it."""
    content_type = Request(scope).headers.get("content-type", "")
    if not content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return None, receive
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        size += len(message.get("body", b""))
        if size > MAX_FORM_BYTES:
            return None, receive
        if not message.get("more_body", False):
            break
    replay = list(messages)

    async def replay_receive() -> Message:
        if replay:
            return replay.pop(0)
        return await receive()

    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def parse_receive() -> Message:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    form = await Request(scope, parse_receive).form()
    try:
        value = form.get(FIELD)
        return (value if isinstance(value, str) else None), replay_receive
    finally:
        await form.close()
