"""CSRF: unsafe requests need the session's token; token-authenticated paths are exempt."""

from __future__ import annotations

import httpx

from tests.core.web_support import csrf_of, html


async def test_post_without_token_is_refused(client: httpx.AsyncClient) -> None:
    await client.get("/signin")  # the session now holds a token
    refused = await client.post("/signin", data={"email": "a@example.com"})
    assert refused.status_code == 403
    assert "CSRF" in html(refused).css_first("h1").text()


async def test_post_with_wrong_token_is_refused(client: httpx.AsyncClient) -> None:
    await client.get("/signin")
    refused = await client.post("/signin", data={"email": "a@example.com", "csrf_token": "nope"})
    assert refused.status_code == 403


async def test_post_without_session_is_refused(client: httpx.AsyncClient) -> None:
    refused = await client.post("/signin", data={"email": "a@example.com", "csrf_token": "x"})
    assert refused.status_code == 403
    assert "cookies" in refused.text


async def test_form_field_accepted_and_body_still_reaches_the_route(
    client: httpx.AsyncClient,
) -> None:
    token = csrf_of(await client.get("/signin"))
    ok = await client.post("/signin", data={"email": "body@example.com", "csrf_token": token})
    assert ok.status_code == 200
    assert "body@example.com" in ok.text  # the route read the form the middleware had read


async def test_header_accepted(client: httpx.AsyncClient) -> None:
    token = csrf_of(await client.get("/signin"))
    ok = await client.post(
        "/signin", data={"email": "hdr@example.com"}, headers={"X-CSRF-Token": token}
    )
    assert ok.status_code == 200


async def test_token_from_another_session_is_refused(
    client: httpx.AsyncClient, app: object
) -> None:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as attacker:
        stolen = csrf_of(await attacker.get("/signin"))
    await client.get("/signin")
    refused = await client.post("/signin", data={"email": "v@example.com", "csrf_token": stolen})
    assert refused.status_code == 403


async def test_token_paths_are_exempt(client: httpx.AsyncClient) -> None:
    # No session, no token: the webhook route itself answers (404 unknown token), not CSRF.
    response = await client.post("/webhooks/stripe/unknown-token", content=b"{}")
    assert response.status_code != 403


async def test_body_hx_headers_carry_the_token(client: httpx.AsyncClient) -> None:
    page = await client.get("/signin")
    body = html(page).css_first("body")
    assert body is not None
    assert csrf_of(page) in (body.attributes.get("hx-headers") or "")
