"""Magic-link sign-in: the round trip, single use, expiry, rate limits, session rotation."""

from __future__ import annotations

from datetime import timedelta

import httpx

from core.clock import FrozenClock
from core.crypto import hash_token
from core.models.auth import SignInToken
from core.models.workspaces import User
from tests.core.web_support import csrf_of, html, last_link, request_link, sign_in, use_link


async def test_round_trip_creates_user_and_leads_to_onboarding(client: httpx.AsyncClient) -> None:
    page = await client.get("/signin")
    assert page.status_code == 200
    form = html(page).css_first('form[action="/signin"]')
    assert form is not None and form.css_first('label[for="email"]') is not None

    sent = await request_link(client, "Ada@Example.com")
    assert sent.status_code == 200
    assert "ada@example.com" in html(sent).css_first("main").text()
    assert not await User.filter(email="ada@example.com").exists()

    path = await last_link("ada@example.com")
    done = await use_link(client, path)
    assert done.status_code == 303 and done.headers["location"] == "/app"
    assert await User.filter(email="ada@example.com").exists()

    app_page = await client.get("/app")
    assert app_page.status_code == 303
    assert app_page.headers["location"] == "/onboarding/workspace"


async def test_link_is_stored_only_as_hash(client: httpx.AsyncClient) -> None:
    await request_link(client, "hash@example.com")
    path = await last_link("hash@example.com")
    token = path.rsplit("/", 1)[1]
    row = await SignInToken.get(email="hash@example.com")
    assert row.token_hash == hash_token(token)
    assert token not in (row.token_hash, row.email, row.requested_ip)


async def test_get_does_not_burn_the_link(client: httpx.AsyncClient) -> None:
    await request_link(client, "scan@example.com")
    path = await last_link("scan@example.com")
    for _ in range(3):  # a mail scanner prefetching the URL
        assert (await client.get(path)).status_code == 200
    assert (await use_link(client, path)).status_code == 303


async def test_link_works_once(client: httpx.AsyncClient, app: object) -> None:
    await request_link(client, "once@example.com")
    path = await last_link("once@example.com")
    assert (await use_link(client, path)).status_code == 303
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        again = await other.get(path)
        assert again.status_code == 400
        assert "already used" in html(again).css_first('[role="alert"]').text()
        signin_page = await other.get("/signin")
        reuse = await other.post(path, data={"csrf_token": csrf_of(signin_page)})
        assert reuse.status_code == 400
        assert "already used" in reuse.text
        assert (await other.get("/app")).headers["location"].startswith("/signin")


async def test_link_expires_after_15_minutes(client: httpx.AsyncClient, clock: FrozenClock) -> None:
    await request_link(client, "late@example.com")
    path = await last_link("late@example.com")
    confirm = await client.get(path)
    clock.advance(timedelta(minutes=15, seconds=1))
    late = await client.post(path, data={"csrf_token": csrf_of(confirm)})
    assert late.status_code == 400
    assert "expired" in html(late).css_first('[role="alert"]').text()
    assert not await User.filter(email="late@example.com").exists()


async def test_unknown_link_is_refused(client: httpx.AsyncClient) -> None:
    page = await client.get("/signin/sl_not-a-real-token")
    assert page.status_code == 400
    assert "not valid" in page.text


async def test_rate_limit_per_email(client: httpx.AsyncClient, clock: FrozenClock) -> None:
    for _ in range(5):
        assert (await request_link(client, "many@example.com")).status_code == 200
    limited = await request_link(client, "many@example.com")
    assert limited.status_code == 429
    assert "Too many" in html(limited).css_first("h1").text()
    assert await SignInToken.filter(email="many@example.com").count() == 5
    # Another address from the same client is still served.
    assert (await request_link(client, "other@example.com")).status_code == 200
    clock.advance(timedelta(minutes=16))
    assert (await request_link(client, "many@example.com")).status_code == 200


async def test_rate_limit_per_client(client: httpx.AsyncClient) -> None:
    statuses = [
        (await request_link(client, f"user{i}@example.com")).status_code for i in range(21)
    ]
    assert statuses[:20] == [200] * 20
    assert statuses[20] == 429


async def test_session_rotates_on_sign_in(client: httpx.AsyncClient) -> None:
    before = csrf_of(await client.get("/signin"))
    cookie_before = client.cookies.get("sl_session")
    await sign_in(client, "rot@example.com")
    after = csrf_of(await client.get("/onboarding/workspace"))
    assert before != after
    assert client.cookies.get("sl_session") != cookie_before


async def test_sign_out(client: httpx.AsyncClient) -> None:
    await sign_in(client, "out@example.com")
    page = await client.get("/onboarding/workspace")
    out = await client.post("/signout", data={"csrf_token": csrf_of(page)})
    assert out.status_code == 303 and out.headers["location"] == "/signin"
    assert (await client.get("/app")).headers["location"].startswith("/signin")


async def test_next_is_kept_but_never_offsite(client: httpx.AsyncClient) -> None:
    page = await client.get("/signin?next=//evil.example/x")
    node = html(page).css_first('input[name="next"]')
    assert node is not None and node.attributes["value"] == "/app"


async def test_sign_out_revokes_a_copied_cookie(client: httpx.AsyncClient, app: object) -> None:
    await sign_in(client, "copy@example.com")
    stolen = client.cookies.get("sl_session")
    assert stolen
    page = await client.get("/onboarding/workspace")
    assert page.status_code == 200
    await client.post("/signout", data={"csrf_token": csrf_of(page)})
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", cookies={"sl_session": stolen}
    ) as thief:
        response = await thief.get("/onboarding/workspace")
        assert response.status_code == 303
        assert response.headers["location"].startswith("/signin")


async def test_session_ends_after_14_days(client: httpx.AsyncClient, clock: FrozenClock) -> None:
    await sign_in(client, "old@example.com")
    assert (await client.get("/onboarding/workspace")).status_code == 200
    clock.advance(timedelta(days=14, seconds=1))
    assert (await client.get("/onboarding/workspace")).status_code == 303


async def test_session_cookie_helper_signs_a_real_session(
    client: httpx.AsyncClient, runtime: object
) -> None:
    from core.web.sessions import session_cookie

    user = await User.create(email="tool@example.com")
    cookie = await session_cookie(runtime, user, csrf="known-token")  # type: ignore[arg-type]
    client.cookies.set("sl_session", cookie)
    page = await client.get("/onboarding/workspace")
    assert page.status_code == 200
    assert csrf_of(page) == "known-token"
