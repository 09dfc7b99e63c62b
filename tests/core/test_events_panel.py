"""The webhook health panel: a fragment for htmx, a page otherwise, only the own workspace."""

from __future__ import annotations

import httpx
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from core.events.testing import connected_account, signed, stripe_event
from core.models import Workspace
from core.runtime import Runtime
from tests.core.web_support import create_workspace, sign_in


async def test_the_panel_shows_each_account_of_the_workspace(
    app: object, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await sign_in(client, "ops@example.test")
    await create_workspace(client, "Shop")
    mine = await Workspace.get(name="Shop")
    other = await Workspace.create(name="Other", slug="other")
    _, token = await connected_account(runtime, mine.id, stripe_account_id="acct_mine")
    await connected_account(runtime, other.id, stripe_account_id="acct_theirs")
    payload = stripe_event("customer.created", {"object": "customer", "id": "cus_1"})
    await client.post(f"/webhooks/stripe/{token}", **signed(payload))
    await client.post(f"/webhooks/stripe/{token}", **signed(payload, "whsec_forged_xxxxxx"))

    fragment = await client.get("/app/panels/webhook-health", headers={"HX-Request": "true"})
    assert fragment.status_code == 200, fragment.text
    tree = HTMLParser(fragment.text)
    assert tree.css_first("header") is None  # the fragment, not the page
    rows = tree.css("tbody tr")
    assert [row.attributes.get("data-account") for row in rows] == ["acct_mine"]
    signature_cell = rows[0].css_first(".signature-failures")
    assert signature_cell is not None and signature_cell.text().strip() == "1"
    assert "customer.created" in rows[0].text()

    page = await client.get("/app/panels/webhook-health")
    assert page.status_code == 200
    assert HTMLParser(page.text).css_first("h1") is not None


async def test_the_panel_is_on_the_dashboard(
    app: object, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await sign_in(client, "ops@example.test")
    await create_workspace(client, "Shop")
    ws = await Workspace.get(name="Shop")
    await connected_account(runtime, ws.id)
    dashboard = await client.get("/app")
    assert dashboard.status_code == 200, dashboard.text
    urls = [node.attributes.get("hx-get") for node in HTMLParser(dashboard.text).css("[hx-get]")]
    assert "/app/panels/webhook-health" in urls


async def test_signed_out_visitors_are_sent_to_sign_in(
    app: object, client: httpx.AsyncClient
) -> None:
    response = await client.get("/app/panels/webhook-health")
    assert response.status_code in {302, 303}
    assert response.headers["location"].startswith("/signin")
