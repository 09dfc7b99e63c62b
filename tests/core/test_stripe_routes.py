"""The Stripe pages over HTTP: onboarding both ways, settings (masked secrets, rotation,
disconnect), the OAuth callback (forged state) and cross-workspace access."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from core.models.accounts import ConnectionStatus, StripeAccount
from core.models.workspaces import Membership, Role, User, Workspace
from core.onboarding import next_step, steps_for
from core.runtime import Runtime
from core.settings import Settings
from core.stripe.access import unseal
from core.tenancy import workspace_scope
from core.testing.fixtures import pointed_at
from core.web.sessions import session_cookie
from sandbox.testing import RunningSandbox, running_sandbox

CSRF = "test-csrf-token-0123456789"


@pytest.fixture(scope="module")
def sb() -> Iterator[RunningSandbox]:
    with running_sandbox(seed="stripe-routes") as sandbox:
        yield sandbox


@pytest.fixture
def settings(settings: Settings, sb: RunningSandbox) -> Settings:
    return pointed_at(settings, sb)


async def signed_in(client: httpx.AsyncClient, runtime: Runtime, slug: str) -> Workspace:
    """A user who owns workspace `slug`, signed in on `client` (a session cookie as the
    app's SessionMiddleware would have set it)."""
    user = await User.create(email=f"{slug}@example.com")
    workspace = await Workspace.create(name=slug.title(), slug=slug)
    with workspace_scope(workspace.id):
        await Membership.create(workspace_id=workspace.id, user_id=user.id, role=Role.OWNER)
    cookie = await session_cookie(runtime, user, workspace_id=workspace.id, csrf=CSRF)
    client.cookies.set("sl_session", cookie)
    return workspace


async def post(client: httpx.AsyncClient, path: str, **data: str) -> httpx.Response:
    return await client.post(path, data={"csrf_token": CSRF, **data})


def page(response: httpx.Response) -> HTMLParser:
    return HTMLParser(response.text)


def text_of(response: httpx.Response, selector: str) -> str:
    node = page(response).css_first(selector)
    assert node is not None, f"{selector} not on the page"
    return str(node.text())


async def test_onboarding_offers_both_ways(
    client: httpx.AsyncClient, runtime: Runtime, sb: RunningSandbox
) -> None:
    await signed_in(client, runtime, "both")
    response = await client.get("/onboarding/stripe")
    assert response.status_code == 200
    html = page(response)
    actions = {f.attrs.get("action") for f in html.css("form")}
    assert {"/onboarding/stripe/oauth", "/onboarding/stripe/key"} <= actions
    scopes = {i.attrs.get("value") for i in html.css("input[name=scope]")}
    assert scopes == {"read_write", "read_only"}
    assert html.css_first("label[for=api_key]") is not None


async def test_connect_by_key_then_manage_in_settings(
    client: httpx.AsyncClient, runtime: Runtime, sb: RunningSandbox
) -> None:
    workspace = await signed_in(client, runtime, "keyweb")
    shop = sb.create_account(name="Web Shop")
    response = await post(client, "/onboarding/stripe/key", api_key=shop["restricted_key"])
    assert response.status_code == 200, response.text
    url = text_of(response, "#webhook-url")
    assert url.startswith("http://testserver/webhooks/stripe/")
    assert shop["restricted_key"] not in response.text

    with workspace_scope(workspace.id):
        account = await StripeAccount.get(stripe_account_id=shop["id"])
    secret = unseal(runtime, account, "webhook_secret")
    assert secret

    hub = await client.get("/app/settings")
    assert "/app/settings/stripe" in {a.attrs.get("href") for a in page(hub).css("a")}
    settings_page = await client.get("/app/settings/stripe")
    assert settings_page.status_code == 200, settings_page.text
    text = settings_page.text
    assert shop["restricted_key"] not in text and secret not in text  # masked only
    assert f"whsec_…{secret[-4:]}" in text and f"rk_test_…{shop['restricted_key'][-4:]}" in text
    assert shop["restricted_key"][-4:] in text
    assert text_of(settings_page, ".webhook-url") == url

    rotated = await post(client, f"/app/settings/stripe/{account.id}/rotate-token")
    assert rotated.status_code == 200
    new_url = text_of(rotated, ".webhook-url")
    assert new_url != url and new_url.startswith("http://testserver/webhooks/stripe/")

    await post(client, f"/app/settings/stripe/{account.id}/rotate-secret")
    with workspace_scope(workspace.id):
        account = await StripeAccount.get(id=account.id)
    assert unseal(runtime, account, "webhook_secret") not in (None, secret)

    # The key rolled in Stripe: a new URL cannot be pointed at, so nothing changes and the
    # accounts block (what htmx swaps) says why.
    sb.http.post("/_sandbox/keys/roll", json={"key": shop["restricted_key"]}).raise_for_status()
    refused = await post(client, f"/app/settings/stripe/{account.id}/rotate-token")
    assert refused.status_code == 502
    assert "The webhook URL was not changed" in refused.text
    assert text_of(refused, ".webhook-url") == new_url
    refused_htmx = await client.post(
        f"/app/settings/stripe/{account.id}/rotate-token",
        data={"csrf_token": CSRF},
        headers={"HX-Request": "true"},
    )
    assert refused_htmx.text.count("<h2") <= 1 and 'id="stripe-accounts"' in refused_htmx.text

    bad = await post(client, "/onboarding/stripe/key", api_key="pk_test_nope")
    assert bad.status_code == 400
    assert "publishable" in text_of(bad, "#connect-error")


async def test_another_workspace_cannot_see_or_touch_the_account(
    client: httpx.AsyncClient, app: Any, runtime: Runtime, sb: RunningSandbox
) -> None:
    await signed_in(client, runtime, "owner-a")
    shop = sb.create_account(name="Private")
    assert (await post(client, "/onboarding/stripe/key", api_key=shop["restricted_key"])).is_success
    [account_a] = [a async for a in _accounts(shop["id"])]
    token_hash = account_a.webhook_token_hash

    other = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    async with other:
        await signed_in(other, runtime, "owner-b")
        shop_b = sb.create_account(name="B's own")
        assert (
            await post(other, "/onboarding/stripe/key", api_key=shop_b["restricted_key"])
        ).is_success
        listing = await other.get("/app/settings/stripe")
        assert shop["id"] not in listing.text and "Private" not in listing.text
        for action in ("rotate-token", "rotate-secret", "disconnect", "switch"):
            response = await post(other, f"/app/settings/stripe/{account_a.id}/{action}")
            assert response.status_code == 404, action
    [after] = [a async for a in _accounts(shop["id"])]
    assert after.status == ConnectionStatus.ACTIVE and after.webhook_token_hash == token_hash


async def _accounts(stripe_id: str) -> Any:
    from core.stripe.accounts import accounts_for_stripe_id

    for account in await accounts_for_stripe_id(stripe_id):
        yield account


async def test_oauth_through_the_pages(
    client: httpx.AsyncClient, runtime: Runtime, sb: RunningSandbox
) -> None:
    workspace = await signed_in(client, runtime, "oauthweb")
    start = await post(client, "/onboarding/stripe/oauth", scope="read_only")
    assert start.status_code == 303
    authorize_url = start.headers["location"]
    assert authorize_url.startswith(f"{sb.url}/oauth/authorize?")
    callback = sb.authorize(authorize_url)  # submits the sandbox page's approve form
    path = callback.removeprefix("http://testserver")

    # A tampered state is refused with a clear page, and uses up the attempt.
    forged = await client.get(path.replace("state=", "state=x"))
    assert forged.status_code == 400
    assert "does not match" in text_of(forged, "#oauth-error")
    replay = await client.get(path)
    assert replay.status_code == 400

    # A fresh attempt goes through.
    start = await post(client, "/onboarding/stripe/oauth", scope="read_write")
    callback = sb.authorize(start.headers["location"])
    done = await client.get(callback.removeprefix("http://testserver"))
    # The first connection is onboarding: on to the next step a plugin offers (the audit).
    steps = await steps_for(runtime, None, workspace)  # type: ignore[arg-type]
    upcoming = next_step(steps)
    assert upcoming is not None and upcoming.key != "stripe"
    assert done.status_code == 303 and done.headers["location"] == upcoming.url
    with workspace_scope(workspace.id):
        account = await StripeAccount.get(status=ConnectionStatus.ACTIVE)
    assert account.scope == "read_write"
    listing = await client.get("/app/settings/stripe")
    assert "Connect OAuth (read_write)" in listing.text

    gone = await post(client, f"/app/settings/stripe/{account.id}/disconnect")
    assert gone.status_code == 303
    with workspace_scope(workspace.id):
        account = await StripeAccount.get(id=account.id)
    assert account.status == ConnectionStatus.REVOKED
    assert sb.state.accounts[account.stripe_account_id].platform is None

    # Connecting again later is not onboarding: back to the settings page.
    start = await post(client, "/onboarding/stripe/oauth", scope="read_write")
    again = await client.get(
        sb.authorize(start.headers["location"]).removeprefix("http://testserver")
    )
    assert again.status_code == 303
    assert again.headers["location"].startswith("/app/settings/stripe?connected=")


async def test_unsafe_requests_need_the_csrf_token(
    client: httpx.AsyncClient, runtime: Runtime, sb: RunningSandbox
) -> None:
    await signed_in(client, runtime, "csrf")
    shop = sb.create_account(name="Csrf")
    response = await client.post("/onboarding/stripe/key", data={"api_key": shop["restricted_key"]})
    assert response.status_code == 403


async def test_a_key_that_cannot_create_endpoints_gets_step_by_step_instructions(
    client: httpx.AsyncClient, runtime: Runtime, sb: RunningSandbox
) -> None:
    await signed_in(client, runtime, "manual")
    shop = sb.create_account(name="Manual")
    key = sb.http.post(
        "/_sandbox/keys",
        json={"account": shop["id"], "permissions": {"accounts": "read", "customers": "read"}},
    ).json()["secret"]
    response = await post(client, "/onboarding/stripe/key", api_key=key)
    assert response.status_code == 200
    html = page(response)
    url = text_of(response, "#webhook-url")
    steps = html.css_first("ol.instructions")
    assert steps is not None and url in steps.text()
    types = {node.text() for node in html.css("ul.event-types code")}
    assert "account.application.deauthorized" in types
    missing = text_of(response, ".missing-permissions")
    assert "Invoices: Write" in missing and "Disputes: Read" in missing


async def test_members_may_look_but_only_admins_change_connections(
    client: httpx.AsyncClient, app: Any, runtime: Runtime, sb: RunningSandbox
) -> None:
    workspace = await signed_in(client, runtime, "team")
    shop = sb.create_account(name="Team Shop")
    assert (await post(client, "/onboarding/stripe/key", api_key=shop["restricted_key"])).is_success
    [account] = [a async for a in _accounts(shop["id"])]

    member = await User.create(email="member@example.com")
    with workspace_scope(workspace.id):
        await Membership.create(workspace_id=workspace.id, user_id=member.id, role=Role.MEMBER)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        cookie = await session_cookie(runtime, member, workspace_id=workspace.id, csrf=CSRF)
        other.cookies.set("sl_session", cookie)
        assert (await other.get("/app/settings/stripe")).status_code == 200
        for action in ("rotate-token", "rotate-secret", "disconnect"):
            response = await post(other, f"/app/settings/stripe/{account.id}/{action}")
            assert response.status_code == 403, action
        response = await post(other, "/onboarding/stripe/key", api_key=shop["restricted_key"])
        assert response.status_code == 403
    [after] = [a async for a in _accounts(shop["id"])]
    assert after.status == ConnectionStatus.ACTIVE
    assert after.webhook_token_hash == account.webhook_token_hash


async def test_several_accounts_and_switching_between_them(
    client: httpx.AsyncClient, runtime: Runtime, sb: RunningSandbox
) -> None:
    await signed_in(client, runtime, "multi")
    first, second = sb.create_account(name="First"), sb.create_account(name="Second")
    for shop in (first, second):
        assert (
            await post(client, "/onboarding/stripe/key", api_key=shop["restricted_key"])
        ).is_success
    [a] = [x async for x in _accounts(first["id"])]
    [b] = [x async for x in _accounts(second["id"])]

    def current(response: httpx.Response) -> set[str]:
        html = page(response)
        return {
            str(node.attrs.get("id"))
            for node in html.css("article.stripe-account")
            if "working in now" in node.text()
        }

    # The last connected account is the one in use; switching changes it for this session.
    assert current(await client.get("/app/settings/stripe")) == {f"stripe-account-{b.id}"}
    assert (await post(client, f"/app/settings/stripe/{a.id}/switch")).status_code == 303
    assert current(await client.get("/app/settings/stripe")) == {f"stripe-account-{a.id}"}
    # A disconnected account is no longer the active one.
    await post(client, f"/app/settings/stripe/{a.id}/disconnect")
    listing = await client.get("/app/settings/stripe")
    assert current(listing) == {f"stripe-account-{b.id}"}
    revoked = page(listing).css_first(f"#stripe-account-{a.id}")
    assert revoked is not None and revoked.attrs.get("data-status") == "revoked"
