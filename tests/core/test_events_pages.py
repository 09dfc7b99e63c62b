"""`/app/events`: the workspace's own events with each handler's outcome, live, filterable."""

from __future__ import annotations

import httpx
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from core.events.testing import connected_account, signed, stripe_event
from core.models import Workspace
from core.models.events import Event
from core.runtime import Runtime
from core.tenancy import unscoped
from tests.core.web_support import create_workspace, sign_in


def _types(tree: HTMLParser) -> list[str]:
    return [code.text() for code in tree.css("tbody tr td a code")]


async def _deliver(client: httpx.AsyncClient, token: str, kind: str, obj: dict[str, str]) -> None:
    response = await client.post(f"/webhooks/stripe/{token}", **signed(stripe_event(kind, obj)))
    assert response.status_code == 200, response.text


async def test_events_arrive_filter_and_open(
    app: object, runtime: Runtime, client: httpx.AsyncClient, drain: object
) -> None:
    await sign_in(client, "ops@example.test")
    await create_workspace(client, "Shop")
    mine = await Workspace.get(name="Shop")
    other = await Workspace.create(name="Other", slug="other")
    _, token = await connected_account(runtime, mine.id, stripe_account_id="acct_mine")
    _, theirs = await connected_account(runtime, other.id, stripe_account_id="acct_theirs")

    empty = HTMLParser((await client.get("/app/events")).text)
    assert "No events yet" in empty.text()
    live = empty.css_first("#event-rows")
    assert live is not None and live.attributes.get("hx-trigger") == "every 5s"

    await _deliver(client, token, "customer.created", {"object": "customer", "id": "cus_1"})
    await _deliver(client, token, "invoice.paid", {"object": "invoice", "id": "in_1"})
    await _deliver(client, theirs, "customer.created", {"object": "customer", "id": "cus_x"})

    # The poll (an htmx request) gets only the rows: the newest first, this workspace's only.
    rows = await client.get("/app/events", headers={"HX-Request": "true"})
    tree = HTMLParser(rows.text)
    assert tree.css_first("header") is None
    assert _types(tree) == ["invoice.paid", "customer.created"]
    assert "cus_x" not in rows.text and "acct_theirs" not in rows.text

    filtered = HTMLParser((await client.get("/app/events?type=invoice.paid")).text)
    assert _types(filtered) == ["invoice.paid"]
    hostile = await client.get("/app/events?type=%3Cscript%3E&status=%3Cb%3E")
    assert hostile.status_code == 200 and "<script>" not in hostile.text

    with unscoped():
        event = await Event.get(stripe_account_id="acct_mine", type="invoice.paid")
        foreign = await Event.get(stripe_account_id="acct_theirs")
    detail = await client.get(f"/app/events/{event.id}")
    assert detail.status_code == 200
    payload = HTMLParser(detail.text).css_first("pre.payload")
    assert event.stripe_event_id in detail.text and payload is not None
    assert '"id": "in_1"' in payload.text()
    # Another workspace's event looks exactly like a missing one.
    assert (await client.get(f"/app/events/{foreign.id}")).status_code == 404
    assert (await client.get("/app/events/999999")).status_code == 404

    nav = [a.attributes.get("href") for a in HTMLParser(detail.text).css("nav.sidenav a")]
    assert "/app/events" in nav


async def test_older_events_page_on_and_do_not_poll(
    app: object, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await sign_in(client, "pager@example.test")
    await create_workspace(client, "Pager")
    ws = await Workspace.get(name="Pager")
    _, token = await connected_account(runtime, ws.id, stripe_account_id="acct_pager")
    for n in range(52):
        await _deliver(client, token, "customer.updated", {"object": "customer", "id": f"cus_{n}"})
    first = HTMLParser((await client.get("/app/events")).text)
    assert len(first.css("tbody tr")) == 50
    older = first.css_first('a[href^="/app/events?before="]')
    assert older is not None
    second = HTMLParser((await client.get(older.attributes["href"] or "")).text)
    assert len(second.css("tbody tr")) == 2
    rows = second.css_first("#event-rows")
    assert rows is not None and rows.attributes.get("hx-trigger") is None
