"""Request ids, security headers and the session cookie's attributes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from core.logs import request_id_var
from core.plugins import hookimpl
from core.settings import Settings
from core.web.middleware import SESSION_COOKIE, core_middleware


class EchoRequestId:
    @hookimpl
    def register_routes(self, settings: Any) -> list[Route]:
        async def echo(request: Request) -> PlainTextResponse:
            return PlainTextResponse(request_id_var.get() or "")

        return [Route("/test/request-id", echo)]


@pytest.fixture
def extra_plugins() -> list[tuple[str, object]]:
    return [("echo", EchoRequestId())]


async def test_request_id_reaches_route_code(client: httpx.AsyncClient) -> None:
    response = await client.get("/test/request-id", headers={"X-Request-Id": "trace-42"})
    assert response.text == "trace-42"
    assert request_id_var.get() is None  # reset after the request


async def test_request_id_is_made_or_kept(client: httpx.AsyncClient) -> None:
    made = await client.get("/healthz")
    assert len(made.headers["x-request-id"]) == 32
    again = await client.get("/healthz")
    assert again.headers["x-request-id"] != made.headers["x-request-id"]
    kept = await client.get("/healthz", headers={"X-Request-Id": "abc-123"})
    assert kept.headers["x-request-id"] == "abc-123"
    bad = await client.get("/healthz", headers={"X-Request-Id": "bad id\twith junk"})
    assert bad.headers["x-request-id"] != "bad id\twith junk"


async def test_security_headers(client: httpx.AsyncClient) -> None:
    response = await client.get("/signin")
    assert response.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["referrer-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_session_cookie_attributes(client: httpx.AsyncClient) -> None:
    response = await client.get("/signin")
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert "secure" not in cookie.lower()  # http base URL in tests


def test_cookie_is_secure_on_https(settings: Settings, runtime: object) -> None:
    https = runtime.__class__(  # type: ignore[call-arg]
        **{**runtime.__dict__, "settings": settings.replace(base_url="https://sl.example")}
    )
    session = next(m for m in core_middleware(https) if m.cls.__name__ == "SessionMiddleware")
    assert session.kwargs["https_only"] is True


async def test_static_files_are_served(client: httpx.AsyncClient) -> None:
    css = await client.get("/static/shell/app.css")
    assert css.status_code == 200
    assert "prefers-color-scheme: dark" in css.text


async def test_webhook_deliveries_take_the_machine_lane(
    client: httpx.AsyncClient, runtime: Any
) -> None:
    """A delivery skips sessions and browser headers but still carries a request id; a wrong
    method on a webhook path takes the ordinary stack (and its 405)."""
    from core.events.testing import connected_account, signed, stripe_event
    from core.models import Workspace

    ws = await Workspace.create(name="A", slug="a")
    _, token = await connected_account(runtime, ws.id)
    payload = stripe_event("customer.created", {"object": "customer", "id": "cus_1"})
    delivery = signed(payload)
    delivery["headers"]["X-Request-Id"] = "stripe-1"
    delivered = await client.post(f"/webhooks/stripe/{token}", **delivery)
    assert delivered.status_code == 200, delivered.text
    assert delivered.headers["x-request-id"] == "stripe-1"
    assert "set-cookie" not in delivered.headers
    assert "content-security-policy" not in delivered.headers
    unknown = await client.post("/webhooks/stripe/wh_nobody", content=b"{}")
    assert unknown.status_code == 404 and len(unknown.headers["x-request-id"]) == 32
    wrong_method = await client.get(f"/webhooks/stripe/{token}")
    assert wrong_method.status_code == 405
    assert wrong_method.headers["x-frame-options"] == "DENY"  # the ordinary stack answered
