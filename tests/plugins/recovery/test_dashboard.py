"""Recovery's dashboard panels, the open-tracking pixel and `GET /api/v1/recovery/stats`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from core.api.keys import create_key
from core.clock import FrozenClock
from core.email import EmailStatus, OutboundEmail
from core.models import Workspace
from core.runtime import Runtime
from core.tenancy import workspace_scope
from plugins.recovery import charts, dashboard, handlers, tracking
from plugins.recovery.models import CaseStatus, CaseStep, RecoverySettings
from tests.core.web_support import connect_stripe, create_workspace, sign_in
from tests.plugins.recovery.conftest import event, invoice, settle
from tests.plugins.recovery.test_stats import make_case, make_email, make_step

HX = {"HX-Request": "true"}
DAY = timedelta(days=1)


async def _signed_in_workspace(client: httpx.AsyncClient) -> int:
    await sign_in(client, "ops@example.test")
    await create_workspace(client, "Shop")
    ws = await Workspace.get(name="Shop")
    await connect_stripe(ws.id)
    with workspace_scope(ws.id):
        await RecoverySettings.update_or_create(defaults={"enabled": True, "sender_name": "Shop"})
    return ws.id


async def _seed(now: Any, ws: int) -> None:
    other = await Workspace.create(name="Other", slug="other")
    with workspace_scope(other.id):  # never shown on Shop's dashboard
        await make_case(
            now,
            opened=2,
            status=CaseStatus.RECOVERED,
            recovered=1,
            amount=777_700,
            by="0:email",
            category="fraud",
            currency="gbp",
        )
        await make_case(now, opened=1, amount=555_500, category="revoked")
    with workspace_scope(ws):
        await make_case(
            now, opened=3, status=CaseStatus.RECOVERED, recovered=1, amount=1250, by="0:email"
        )
        await make_case(
            now,
            opened=40,
            status=CaseStatus.RECOVERED,
            recovered=35,
            amount=4000,
            by="1:retry",
            category="issuer",
        )
        await make_case(now, opened=5, status=CaseStatus.LOST, category="card_update")
        urgent = await make_case(now, opened=4, amount=8800)
        await make_step(urgent, 2, "retry", now + timedelta(hours=5))
        await make_step(urgent, 6, "final_action", now + 3 * DAY)
        await make_email(now, 1, EmailStatus.SENT)
        await make_email(now, 1, EmailStatus.FAILED, bounced=True)
        await make_email(now, 2, EmailStatus.SUPPRESSED)


async def test_panels_are_registered_and_render_the_workspace_figures(
    app: object, client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    ws = await _signed_in_workspace(client)
    await _seed(clock.now(), ws)
    home = HTMLParser((await client.get("/app")).text)
    urls = {node.attributes.get("hx-get") for node in home.css(".panel-body")}
    assert {p.url for p in dashboard.PANELS} <= urls

    opened = HTMLParser((await client.get(f"{dashboard.BASE}/open", headers=HX)).text)
    assert opened.css_first("header") is None  # a fragment, not the shell
    rows = [[td.text(strip=True) for td in tr.css("td")] for tr in opened.css("tbody tr")]
    assert len(rows) == 1 and rows[0][1] == "88.00 USD" and rows[0][2] == "4 d ago"
    assert rows[0][3] == "retry in 5 h" and rows[0][4] == "in 3 d"

    revenue = HTMLParser((await client.get(f"{dashboard.BASE}/revenue?range=30d", headers=HX)).text)
    assert revenue.css_first(".recovered-amount").text() == "12.50 USD"
    assert revenue.css_first(".recovery-rate strong").text() == "33%"  # 1 of 3 opened in 30 d
    current = revenue.css_first('.range-switch a[aria-current="true"]')
    assert current is not None and current.text() == "30 days"
    assert revenue.css_first("svg title") is not None and revenue.css_first("svg desc")
    every = HTMLParser((await client.get(f"{dashboard.BASE}/revenue?range=all", headers=HX)).text)
    assert every.css_first(".recovered-amount").text() == "52.50 USD"
    assert every.css_first(".recovery-rate strong").text() == "50%"  # 2 of 4

    steps = HTMLParser((await client.get(f"{dashboard.BASE}/steps?range=90d", headers=HX)).text)
    cells = [[td.text(strip=True) for td in tr.css("td")] for tr in steps.css("tbody tr")]
    assert cells == [
        ["Step 1: email", "1 (50%)", "12.50 USD"],
        ["Step 2: retry", "1 (50%)", "40.00 USD"],
    ]

    declines = HTMLParser(
        (await client.get(f"{dashboard.BASE}/declines?range=all", headers=HX)).text
    )
    by_category = {
        tr.css("td")[0].text(): tr.css("td")[3].text() for tr in declines.css("tbody tr")
    }
    assert by_category == {"funds": "50%", "issuer": "100%", "card update": "0%"}

    mail = HTMLParser(
        (await client.get(f"{dashboard.BASE}/deliverability?range=7d", headers=HX)).text
    )
    counts = {k: mail.css_first(f"td.{k}").text() for k in ("sent", "bounced", "suppressed")}
    assert counts == {"sent": "1", "bounced": "1", "suppressed": "1"}

    for name in ("revenue", "declines", "open"):  # nothing of the other workspace anywhere
        body = (await client.get(f"{dashboard.BASE}/{name}?range=all", headers=HX)).text
        assert "GBP" not in body and "5,555" not in body and "fraud" not in body

    page = await client.get(f"{dashboard.BASE}/revenue?range=7d")
    assert page.status_code == 200 and HTMLParser(page.text).css_first("header") is not None
    assert (await client.get(f"{dashboard.BASE}/revenue?range=1y", headers=HX)).status_code == 400


async def test_panels_need_a_signed_in_member(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{dashboard.BASE}/revenue", follow_redirects=False)
    assert response.status_code in (302, 303, 401)


def test_charts_describe_their_data_in_words() -> None:
    svg = charts.bars([charts.Bar("funds", 0.5, "50% of 4"), charts.Bar("<x>", 0, "0%")], "Rate")
    tree = HTMLParser(str(svg))
    node = tree.css_first("svg")
    assert node.attributes["role"] == "img"
    labelled = node.attributes["aria-labelledby"].split()
    assert [tree.css_first(f"#{i}").tag for i in labelled] == ["title", "desc"]
    assert tree.css_first("desc").text() == "funds: 50% of 4; <x>: 0%"  # escaped in the markup
    assert "<x>" not in str(svg) and len(tree.css("rect")) == 2
    line = HTMLParser(str(charts.sparkline([0, 5, 10], "Recovered", "10 on day 3")))
    points = line.css_first("polyline").attributes["points"].split()
    assert points[0].endswith(",45.0") and points[-1].endswith(",3.0")  # 0 at the bottom


async def test_the_pixel_records_the_first_open_and_stats_count_it(
    app: object,
    client: httpx.AsyncClient,
    runtime: Runtime,
    clock: FrozenClock,
    declines: Any,
) -> None:
    ws = await _signed_in_workspace(client)
    with workspace_scope(ws):
        await handlers.payment_failed(
            event("invoice.payment_failed", invoice(), clock.now()), ws, runtime
        )
        await settle()
        step = await CaseStep.get(index=0)
        email = await OutboundEmail.get(id=step.result["email_id"])
    assert email.status == EmailStatus.SENT
    img = HTMLParser(email.html_body).css_first('img[width="1"]')
    assert img is not None and "/r/o/" in img.attributes["src"]
    assert "/r/o/" not in email.text_body
    path = "/" + img.attributes["src"].split("/", 3)[3]
    clock.advance(60)
    first = await client.get(path)
    assert first.status_code == 200 and first.headers["content-type"] == "image/gif"
    assert "no-store" in first.headers["cache-control"]
    with workspace_scope(ws):
        opened_at = (await CaseStep.get(id=step.id)).result["opened_at"]
    assert opened_at == clock.now().isoformat()
    clock.advance(60)
    await client.get(path)
    forged = await client.get(path[:-3] + "abc")
    assert forged.status_code == 200 and forged.content == tracking.GIF
    with workspace_scope(ws):
        assert (await CaseStep.get(id=step.id)).result["opened_at"] == opened_at  # the first
        mail = await dashboard.stats.deliverability(dashboard.stats.window("7d", clock.now()))
    assert (mail.sent, mail.opened, mail.clicked) == (1, 1, 0)


async def test_stats_api_is_scoped_to_the_key_and_checks_the_range(
    app: object, client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> None:
    now = clock.now()
    mine = await Workspace.create(name="Mine", slug="mine")
    theirs = await Workspace.create(name="Theirs", slug="theirs")
    with workspace_scope(mine.id):
        await make_case(
            now, opened=3, status=CaseStatus.RECOVERED, recovered=1, amount=1000, by="0:email"
        )
        await make_case(
            now,
            opened=10,
            status=CaseStatus.RECOVERED,
            recovered=9,
            amount=3000,
            by="1:retry",
            currency="eur",
        )
        await make_case(now, opened=2, category="card_update")
    with workspace_scope(theirs.id):
        await make_case(
            now, opened=2, status=CaseStatus.RECOVERED, recovered=1, amount=99_000, by="0:email"
        )
    key = await create_key(runtime, mine.id, "read")
    auth = {"Authorization": f"Bearer {key.secret}"}
    week = (await client.get("/api/v1/recovery/stats?range=7d", headers=auth)).json()
    assert week["range"] == "7d"
    assert week["recovered"]["amounts"] == [{"currency": "usd", "amount": 1000}]
    assert week["recovered"]["median_time_to_recover"] == 2 * 86400
    assert week["recovery_rate"] == {
        "rate": 0.5,
        "opened": 2,
        "recovered": 1,
        "lost": 0,
        "cancelled": 0,
        "active": 1,
    }
    assert [c["category"] for c in week["categories"]] == ["card_update", "funds"]
    assert week["open_cases"]["total"] == 1
    month = (await client.get("/api/v1/recovery/stats", headers=auth)).json()
    assert month["range"] == "30d" and len(month["recovered"]["amounts"]) == 2
    assert [s["step"] for s in month["steps"]] == ["0:email", "1:retry"]
    bad = await client.get("/api/v1/recovery/stats?range=2w", headers=auth)
    assert bad.status_code == 400
    other_key = await create_key(runtime, theirs.id, "read")
    other = (
        await client.get(
            "/api/v1/recovery/stats?range=all",
            headers={"Authorization": f"Bearer {other_key.secret}"},
        )
    ).json()
    assert other["recovered"]["amounts"] == [{"currency": "usd", "amount": 99_000}]
    assert other["open_cases"]["total"] == 0
    spec = (await client.get("/api/v1/openapi.json", headers=auth)).json()
    operation = spec["paths"]["/recovery/stats"]["get"]
    assert operation["parameters"][0]["schema"]["enum"] == ["7d", "30d", "90d", "all"]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "—"),
        (30, "1 min"),
        (3600 * 5, "5 h"),
        (86400 * 3 + 3600 * 4, "3 d 4 h"),
        (86400 * 12, "12 d"),
    ],
)
def test_durations_read_simply(seconds: float | None, text: str) -> None:
    assert dashboard.duration(seconds) == text
