"""/app/outbox: each workspace sees its own mail (/dev/outbox: test_email_dev_outbox.py)."""

from __future__ import annotations

import httpx
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from core.email import send_email
from core.models import Workspace
from core.runtime import Runtime
from tests.core.web_support import connect_stripe, create_workspace, sign_in


async def test_app_outbox_shows_only_the_own_workspace(
    app: object, runtime: Runtime, client: httpx.AsyncClient, drain
) -> None:
    await sign_in(client, "ops@example.test")
    await create_workspace(client, "Shop")
    mine = await Workspace.get(name="Shop")
    await connect_stripe(mine.id)
    other = await Workspace.create(name="Other", slug="other")
    own = await send_email(
        runtime,
        workspace_id=mine.id,
        to="a@example.com",
        subject="Mine <b>bold</b>",
        text="hello",
        idempotency_key="m",
        html="<p onclick=x>hi</p>",
    )
    theirs = await send_email(
        runtime,
        workspace_id=other.id,
        to="b@example.com",
        subject="Theirs",
        text="secret",
        idempotency_key="t",
    )
    await drain()

    page = await client.get("/app/outbox")
    assert page.status_code == 200, page.text
    subjects = [a.text() for a in HTMLParser(page.text).css("table.outbox td a")]
    assert subjects == ["Mine <b>bold</b>"]  # escaped text, not markup
    nav = HTMLParser(page.text).css_first('nav a[href="/app/outbox"]')
    assert nav is not None and nav.attributes.get("aria-current") == "page"
    detail = await client.get(f"/app/outbox/{own.id}")
    assert detail.status_code == 200
    frame = HTMLParser(detail.text).css_first("iframe")
    assert frame is not None and frame.attributes.get("sandbox") == ""
    assert (await client.get(f"/app/outbox/{theirs.id}")).status_code == 404


async def test_app_outbox_needs_sign_in(app: object, client: httpx.AsyncClient) -> None:
    response = await client.get("/app/outbox")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/signin")
