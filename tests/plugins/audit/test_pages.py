"""The audit's pages: start a run, watch progress, read results, export, compare, panel."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import httpx
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from core.runtime import Runtime
from core.tenancy import workspace_scope
from plugins.audit.diagnostic import progress_of
from plugins.audit.diagnostic.streams import planned_keys
from plugins.audit.models import AuditRun, RunStatus
from plugins.audit.views import fmt
from tests.plugins.audit.support import CSRF, connect, sign_in


def parse(response: httpx.Response) -> HTMLParser:
    assert response.status_code == 200, response.text[:500]
    return HTMLParser(response.text)


async def start(client: httpx.AsyncClient, drain: Any) -> int:
    """Start a run from the page and wait for its job (inline, or a worker on Redis)."""
    started = await client.post("/app/audit/runs", data={"csrf_token": CSRF, "lookback_days": "90"})
    assert started.status_code == 303
    await drain()
    return int(started.headers["location"].rsplit("/", 1)[1])


async def test_run_results_chart_csv_and_panel(
    app: Any, client: httpx.AsyncClient, runtime: Runtime, seeded: Any, drain: Any
) -> None:
    workspace = await connect(runtime, seeded[1].businesses[0], "acme")
    await sign_in(client, runtime, workspace)
    index = parse(await client.get("/app/audit"))
    assert index.css_first('form[action="/app/audit/runs"]') is not None

    run_id = await start(client, drain)
    page = parse(await client.get(f"/app/audit/runs/{run_id}"))
    with workspace_scope(workspace.id):
        run = await AuditRun.get(id=run_id)
    assert run.status == RunStatus.DONE and run.results
    text = page.body.text() if page.body else ""
    assert run.results["summary"][0] in text
    bars = page.css("svg.timeline g.bar")
    months = run.results["expiring_cards"]["months"]
    assert [int(b.css("text")[1].text()) for b in bars] == [m["count"] for m in months]
    assert len(page.css("svg.timeline g.peak")) == (
        1 if run.results["expiring_cards"]["peak_month"] else 0
    )

    exported = await client.get(f"/app/audit/runs/{run_id}/failed_invoices.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == run.results["failed_invoices"]["count"] > 0
    assert {r["id"] for r in rows} == {r["id"] for r in run.results["failed_invoices"]["invoices"]}

    panel = parse(await client.get("/app/audit/panel", headers={"HX-Request": "true"}))
    assert run.results["summary"][0] in panel.text()

    second = await start(client, drain)
    compared = parse(await client.get(f"/app/audit/compare?a={run_id}&b={second}"))
    cells = compared.css("table.compare tbody tr")
    failed_row = [c.text() for c in cells[0].css("td")]
    count = str(run.results["failed_invoices"]["count"])
    assert failed_row == [count, count]


async def test_progress_fragment_polls_while_running(
    app: Any, client: httpx.AsyncClient, runtime: Runtime, seeded: Any
) -> None:
    workspace = await connect(runtime, seeded[1].businesses[0], "acme")
    other = await connect(runtime, seeded[1].businesses[1], "borealis")
    await sign_in(client, runtime, workspace)
    with workspace_scope(workspace.id):
        run = await AuditRun.create(
            stripe_account_id="acct_x",
            status=RunStatus.RUNNING,
            calls=7,
            progress={
                "invoices": {"pages": 3, "objects": 250, "done": False},
                "disputes": {"pages": 1, "objects": 2, "done": True},
            },
        )
    with workspace_scope(other.id):
        foreign = await AuditRun.create(stripe_account_id="acct_y")
    fragment = await client.get(
        f"/app/audit/runs/{run.id}?fragment=1", headers={"HX-Request": "true"}
    )
    html = parse(fragment)
    assert html.css_first("header.topbar") is None  # only the fragment
    poller = html.css_first("#audit-run")
    assert poller is not None and poller.attributes.get("hx-trigger") == "every 2s"
    progress = html.css_first("progress")
    assert progress is not None
    assert (progress.attributes.get("max"), progress.attributes.get("value")) == ("2", "1")
    assert "250 objects" in html.text()
    assert (await client.get(f"/app/audit/runs/{foreign.id}")).status_code == 404

    # A run that counts its lists: the bar's total is every list planned, started or not.
    with workspace_scope(workspace.id):
        planned = await AuditRun.create(
            stripe_account_id="acct_z",
            status=RunStatus.RUNNING,
            progress=progress_of({"streams": {"clocks": {"pages": 1, "done": True}}}),
        )
    html = parse(await client.get(f"/app/audit/runs/{planned.id}?fragment=1"))
    progress = html.css_first("progress")
    assert progress is not None
    assert (progress.attributes.get("max"), progress.attributes.get("value")) == (
        str(len(planned_keys([]))),
        "1",
    )


async def test_nav_and_onboarding_step(
    app: Any, client: httpx.AsyncClient, runtime: Runtime, seeded: Any
) -> None:
    workspace = await connect(runtime, seeded[1].businesses[0], "acme")
    await sign_in(client, runtime, workspace)
    dashboard = parse(await client.get("/app"))
    assert dashboard.css_first('nav a[href="/app/audit"]') is not None
    assert dashboard.css_first('[hx-get="/app/audit/panel"]') is not None
    settings = parse(await client.get("/app/settings"))
    assert settings.css_first('[hx-get="/app/audit/settings"]') is not None
    steps, failures = await runtime.host.gather(
        "onboarding_steps", workspace=workspace, request=None
    )
    assert not failures
    assert [(s.key, s.url, s.required) for s in steps if s.key == "audit"] == [
        ("audit", "/app/audit", False)
    ]


async def test_onboarding_step_is_done_after_a_finished_run(
    app: Any, runtime: Runtime, seeded: Any
) -> None:
    from plugins.audit.onboarding import audit_step

    workspace = await connect(runtime, seeded[1].businesses[0], "acme")
    step = await audit_step(workspace)
    assert (step.url, step.required, step.done) == ("/app/audit", False, False)
    with workspace_scope(workspace.id):
        await AuditRun.create(stripe_account_id="acct_x", status=RunStatus.DONE)
    assert (await audit_step(workspace)).done


async def test_latest_recoverable_is_offered_as_a_service(
    app: Any, client: httpx.AsyncClient, runtime: Runtime, seeded: Any, drain: Any
) -> None:
    workspace = await connect(runtime, seeded[1].businesses[0], "acme")
    service = runtime.services["audit.latest_recoverable"]
    assert await service(workspace.id) is None
    await sign_in(client, runtime, workspace)
    run_id = await start(client, drain)
    with workspace_scope(workspace.id):
        run = await AuditRun.get(id=run_id)
    assert run.results is not None
    assert await service(workspace.id) == run.results["failed_invoices"]["recoverable"]["amount"]


async def test_a_failed_run_keeps_polling_only_while_it_will_retry(
    app: Any, client: httpx.AsyncClient, runtime: Runtime, seeded: Any
) -> None:
    workspace = await connect(runtime, seeded[1].businesses[0], "acme")
    await sign_in(client, runtime, workspace)
    with workspace_scope(workspace.id):
        retrying = await AuditRun.create(
            stripe_account_id="acct_x",
            status=RunStatus.FAILED,
            attempts=1,
            error="APIConnectionError",
        )
        spent = await AuditRun.create(
            stripe_account_id="acct_x",
            status=RunStatus.FAILED,
            attempts=5,
            error="APIConnectionError",
        )
    page = parse(await client.get(f"/app/audit/runs/{retrying.id}"))
    node = page.css_first("#audit-run")
    assert node is not None and node.attributes.get("hx-trigger") == "every 10s"
    page = parse(await client.get(f"/app/audit/runs/{spent.id}"))
    node = page.css_first("#audit-run")
    assert node is not None and "hx-trigger" not in node.attributes
    assert "start a new audit" in page.text()


async def test_disputes_and_business_health_read_as_dates_and_money(
    app: Any, client: httpx.AsyncClient, runtime: Runtime, seeded: Any, drain: Any
) -> None:
    workspace = await connect(runtime, seeded[1].businesses[0], "acme")
    await sign_in(client, runtime, workspace)
    run_id = await start(client, drain)
    with workspace_scope(workspace.id):
        run = await AuditRun.get(id=run_id)
    assert run.results is not None
    page = parse(await client.get(f"/app/audit/runs/{run_id}"))
    disputes, health = run.results["disputes"], run.results["health"]

    [deadline] = disputes["nearest_deadlines"]  # the seed's open dispute, in euros
    row = page.css_first("table.deadlines tbody tr")
    assert row is not None
    cells = [td.text() for td in row.css("td")]
    due = datetime.fromtimestamp(deadline["due_by"], UTC).strftime("%d %b %Y")
    assert cells == [deadline["id"], due, "49.00 EUR", "product not received"]
    section = page.css_first("section[aria-labelledby=disputes-title]")
    assert section is not None and str(deadline["due_by"]) not in section.text()
    figures = figures_of(page, "table.disputes")
    assert figures["Open"] == f"{disputes['open']['count']} ({fmt(disputes['open']['amount'])})"

    rows = figures_of(page, "table.health")
    assert rows["MRR (active and past due)"] == fmt(health["mrr"])
    assert (
        rows["Past due"]
        == f"{health['past_due']['count']} ({fmt(health['past_due']['mrr'])} a month)"
    )
    assert rows["Unpaid"] == f"{health['unpaid']['count']} ({fmt(health['unpaid']['mrr'])} a month)"
    assert rows["… with no retry scheduled"] == str(health["past_due_without_retry"])
    assert rows["Ended after failed payment in the period"].startswith(
        str(health["involuntary_churn"]["count"])
    )
    assert rows["Stripe's automatic retries (inferred)"].startswith(
        {"on": "on", "short": "on, but short", "off": "off"}.get(
            health["retries"]["inferred"], "unknown"
        )
    )


async def test_a_second_start_opens_the_run_under_way(
    app: Any, client: httpx.AsyncClient, runtime: Runtime, seeded: Any
) -> None:
    workspace = await connect(runtime, seeded[1].businesses[0], "acme")
    await sign_in(client, runtime, workspace)
    with workspace_scope(workspace.id):
        queued = await AuditRun.create(stripe_account_id=seeded[1].businesses[0].account)
    started = await client.post("/app/audit/runs", data={"csrf_token": CSRF, "lookback_days": "90"})
    assert started.headers["location"] == f"/app/audit/runs/{queued.id}?already=1"
    page = parse(await client.get(started.headers["location"]))
    notice = page.css_first("p.notice")
    assert notice is not None and "no second one started" in notice.text()
    with workspace_scope(workspace.id):
        assert await AuditRun.all().count() == 1


def figures_of(page: HTMLParser, selector: str) -> dict[str, str]:
    table = page.css_first(selector)
    assert table is not None, selector
    return {
        (tr.css_first("th").text() if tr.css_first("th") else ""): (
            tr.css_first("td").text() if tr.css_first("td") else ""
        )
        for tr in table.css("tr")
    }
