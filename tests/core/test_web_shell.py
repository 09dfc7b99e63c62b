"""The dashboard shell: plugin panels and nav, a broken panel, switchers, htmx fragments."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.exceptions import HTTPException
from starlette.routing import Route

from core.contributions import NavLink, Panel
from core.models.workspaces import Workspace
from core.plugins import hookimpl
from tests.core.web_support import connect_stripe, create_workspace, csrf_of, html, sign_in


class Panels:
    @hookimpl
    def dashboard_panels(self, workspace: Any, request: Any) -> list[Panel]:
        return [
            Panel("second", "Second", f"/x/second?ws={workspace.id}", order=20),
            Panel("first", "First", "/x/first", order=10, width="full"),
        ]

    @hookimpl
    async def settings_panels(self, workspace: Any, request: Any) -> list[Panel]:
        return [Panel("prefs", "Preferences", "/x/prefs")]

    @hookimpl
    def nav_links(self, workspace: Any, request: Any) -> list[NavLink]:
        return [NavLink("Extra tools", "/x/tools", order=10)]

    @hookimpl
    def extra_css_urls(self, workspace: Any, request: Any) -> list[str]:
        return ["/x/panels.css", "/x/panels.css", "https://cdn.example/x.css", "//cdn.example/y"]


async def _explode(request: Any) -> Any:
    raise RuntimeError("fragment exploded with sk_test_secret_detail")


async def _missing(request: Any) -> Any:
    raise HTTPException(404, "No such report here.")


class Broken:
    @hookimpl
    def register_routes(self) -> list[Any]:
        return [Route("/x/explode", _explode), Route("/x/missing", _missing)]

    @hookimpl
    async def dashboard_panels(self, workspace: Any, request: Any) -> list[Panel]:
        raise RuntimeError("panel exploded")

    @hookimpl
    def nav_links(self, workspace: Any, request: Any) -> list[NavLink]:
        raise RuntimeError("nav exploded")

    @hookimpl
    def extra_css_urls(self, workspace: Any, request: Any) -> list[str]:
        raise RuntimeError("css exploded")


@pytest.fixture
def extra_plugins() -> list[tuple[str, object]]:
    return [("panels", Panels()), ("broken", Broken())]


async def onboarded(client: httpx.AsyncClient, email: str, name: str) -> Workspace:
    await sign_in(client, email)
    await create_workspace(client, name)
    workspace = await Workspace.get(name=name)
    await connect_stripe(workspace.id, f"acct_{name.lower()}")
    return workspace


async def test_dashboard_renders_panels_in_order_and_isolates_failures(
    client: httpx.AsyncClient,
) -> None:
    workspace = await onboarded(client, "dash@example.com", "Dash")
    page = html(await client.get("/app"))
    # Only this test's panels: the core and installed plugins contribute their own too.
    boxes = [b for b in page.css(".panel-body[hx-get]") if b.attributes["hx-get"].startswith("/x/")]
    assert [b.attributes["hx-get"] for b in boxes] == ["/x/first", f"/x/second?ws={workspace.id}"]
    assert all(b.attributes["hx-trigger"] == "load" for b in boxes)
    first_box = boxes[0].parent
    assert first_box is not None and "panel-full" in (first_box.attributes.get("class") or "")
    errors = page.css(".panel-error")
    assert len(errors) == 1 and "broken" in errors[0].text()
    nav = [a.text() for a in page.css("nav.sidenav a")]
    assert [x for x in nav if x in {"Dashboard", "Extra tools", "Settings"}] == [
        "Dashboard",
        "Extra tools",
        "Settings",
    ]
    assert page.css_first('nav.sidenav a[aria-current="page"]').text() == "Dashboard"
    assert page.css_first('script[src="/static/vendor/htmx.min.js"]') is not None
    sheets = [link.attributes["href"] for link in page.css('head link[rel="stylesheet"]')]
    assert sheets.count("/x/panels.css") == 1 and not [s for s in sheets if "cdn" in s]


async def test_settings_page_renders_settings_panels(client: httpx.AsyncClient) -> None:
    await onboarded(client, "set@example.com", "Settings Co")
    page = html(await client.get("/app/settings"))
    urls = [b.attributes["hx-get"] for b in page.css(".panel-body")]
    assert "/x/prefs" in urls
    assert page.css_first('a[href="/app/settings/members"]') is not None


async def test_htmx_request_gets_only_the_main_block(client: httpx.AsyncClient) -> None:
    await onboarded(client, "frag@example.com", "Frag")
    fragment = await client.get("/app", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and "<h1>Frag</h1>" in fragment.text


async def test_account_switcher(client: httpx.AsyncClient) -> None:
    workspace = await onboarded(client, "acc@example.com", "Accounts")
    second = await connect_stripe(workspace.id, "acct_second")
    page = await client.get("/app")
    options = html(page).css("#account-switch option")
    assert len(options) == 2
    switched = await client.post(
        "/app/accounts/switch", data={"account_id": str(second.id), "csrf_token": csrf_of(page)}
    )
    assert switched.status_code == 303
    chosen = html(await client.get("/app")).css_first("#account-switch option[selected]")
    assert chosen is not None and chosen.attributes["value"] == str(second.id)


async def test_workspace_switcher(client: httpx.AsyncClient) -> None:
    first = await onboarded(client, "multi@example.com", "First WS")
    await create_workspace(client, "Second WS")
    second = await Workspace.get(name="Second WS")
    await connect_stripe(second.id, "acct_two")
    page = await client.get("/app")
    assert html(page).css_first("h1").text() == "Second WS"
    options = html(page).css("#workspace-switch option")
    assert {o.text() for o in options} == {"First WS", "Second WS"}
    back = await client.post(
        "/app/workspaces/switch", data={"workspace_id": str(first.id), "csrf_token": csrf_of(page)}
    )
    assert back.status_code == 303
    assert html(await client.get("/app")).css_first("h1").text() == "First WS"


async def test_home_redirects(client: httpx.AsyncClient) -> None:
    assert (await client.get("/")).headers["location"] == "/signin"
    await sign_in(client, "home@example.com")
    assert (await client.get("/")).headers["location"] == "/app"
    assert (await client.get("/signin")).headers["location"] == "/app"


async def test_nav_marks_the_section_of_a_sub_page(client: httpx.AsyncClient) -> None:
    await onboarded(client, "nav@example.com", "Nav")
    page = html(await client.get("/app/settings/members"))
    current = page.css('nav.sidenav a[aria-current="page"]')
    assert [a.text() for a in current] == ["Settings"]


async def test_a_failing_fragment_or_page_says_why_in_place(app: Any) -> None:
    # A panel URL that crashes answers an error fragment htmx swaps into the box (base.html's
    # responseHandling), never a traceback or a detail of the exception.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as raw:
        crashed = await raw.get("/x/explode", headers={"HX-Request": "true"})
        assert crashed.status_code == 500
        assert crashed.text.startswith('<p class="error" role="alert">')
        assert "sk_test" not in crashed.text and "exploded" not in crashed.text
        page = await raw.get("/x/explode")
        assert page.status_code == 500 and "<html" in page.text and "logged" in page.text
        missing = await raw.get("/x/missing")
        assert missing.status_code == 404
        assert html(missing).css_first("h1").text() == "Not found"
        assert "No such report here." in missing.text
        unknown = await raw.get("/api/v1/nowhere")
        assert unknown.headers["content-type"].startswith("application/json")


async def test_htmx_swaps_error_answers_and_failed_nav_is_named(client: httpx.AsyncClient) -> None:
    await onboarded(client, "swap@example.com", "Swap")
    page = html(await client.get("/app"))
    config = page.css_first('meta[name="htmx-config"]').attributes["content"]
    assert '"[45]..", "swap": true' in config
    assert page.css_first('script[src="/static/shell/app.js"]') is not None
    assert (await client.get("/static/shell/app.js")).status_code == 200
    failed = page.css_first("nav.sidenav .nav-error")
    assert failed is not None and "broken" in failed.text()
