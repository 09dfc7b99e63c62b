"""The first-ship sequence, end to end over HTTP with the real plugins and a seeded sandbox:
sign in by magic link → create the workspace → connect Stripe by restricted key → run the
audit → turn on recovery → the dashboard. Each page shows where the operator stands and leads
to the next step."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from core.settings import Settings
from core.testing.fixtures import pointed_at
from sandbox.seed import seed_scenario
from sandbox.testing import RunningSandbox, running_sandbox
from tests.core.web_support import create_workspace, csrf_of, html, sign_in


@pytest.fixture(scope="module")
def seeded() -> Iterator[tuple[RunningSandbox, Any]]:
    with running_sandbox(seed="first-ship") as sb:
        summary = sb.call(lambda: seed_scenario(sb.state, "demo", customers=40))
        yield sb, summary


@pytest.fixture
def settings(settings: Settings, seeded: Any) -> Settings:
    return pointed_at(settings, seeded[0])


def strip(response: httpx.Response) -> dict[str, Any] | None:
    """The progress strip: each step's title and state, and where "Next" leads."""
    assert response.status_code == 200, response.text[:300]
    node = html(response).css_first("section.onboarding-strip")
    if node is None:
        return None
    steps = {}
    for li in node.css("li.step"):
        title = li.css_first(".step-title")
        assert title is not None
        state = (li.attributes.get("class") or "").replace("step", "").strip()
        steps[title.text(deep=False).strip()] = state
    after = node.css_first("a.button")
    return {"steps": steps, "next": after.attributes.get("href") if after else None}


async def test_sign_in_to_dashboard(client: httpx.AsyncClient, seeded: Any, drain: Any) -> None:
    business = seeded[1].businesses[0]
    await sign_in(client, "founder@shop.example")
    assert (await client.get("/app")).headers["location"] == "/onboarding/workspace"
    created = await create_workspace(client, "Shop")
    assert created.headers["location"] == "/onboarding/stripe"
    assert (await client.get("/app")).headers["location"] == "/onboarding/stripe"

    form = await client.get("/onboarding/stripe")
    connected = await client.post(
        "/onboarding/stripe/key",
        data={"api_key": business.restricted_key, "csrf_token": csrf_of(form)},
    )
    assert connected.status_code == 200, connected.text[:500]
    onward = html(connected).css_first("a.button")
    assert onward is not None and onward.attributes.get("href") == "/app/audit"
    assert "Run the revenue audit" in onward.text()

    # /app opens now; the dashboard shows the steps left and leads to the audit.
    dashboard = strip(await client.get("/app"))
    assert dashboard is not None and dashboard["next"] == "/app/audit"
    assert dashboard["steps"]["Create your workspace"] == "done"
    assert dashboard["steps"]["Connect Stripe"] == "done"
    assert list(dashboard["steps"])[2:] == ["Run the revenue audit", "Turn on payment recovery"]

    audit_page = await client.get("/app/audit")
    here = strip(audit_page)
    assert here is not None and here["steps"]["Run the revenue audit"] == "current"
    assert here["next"] is None  # this page is the next step
    started = await client.post(
        "/app/audit/runs", data={"csrf_token": csrf_of(audit_page), "lookback_days": "90"}
    )
    assert started.status_code == 303
    await drain()
    results = strip(await client.get(started.headers["location"]))
    assert results is not None and results["steps"]["Run the revenue audit"] == "done"
    assert results["next"] == "/app/recovery/settings"

    recovery = await client.get("/app/recovery/settings")
    assert strip(recovery) is not None
    assert "Your latest audit found" in recovery.text  # the recoverable amount carried over
    turned_on = await client.post(
        "/app/recovery/settings", data={"csrf_token": csrf_of(recovery), "enabled": "1"}
    )
    assert turned_on.status_code in (200, 303), turned_on.text[:300]
    # Every step done: the dashboard is the plain dashboard.
    assert strip(await client.get("/app")) is None


async def test_hide_skips_the_optional_steps(client: httpx.AsyncClient, seeded: Any) -> None:
    business = seeded[1].businesses[1]
    await sign_in(client, "second@shop.example")
    await create_workspace(client, "Second")
    form = await client.get("/onboarding/stripe")
    await client.post(
        "/onboarding/stripe/key",
        data={"api_key": business.restricted_key, "csrf_token": csrf_of(form)},
    )
    dashboard = await client.get("/app")
    assert strip(dashboard) is not None
    hidden = await client.post("/app/onboarding/hide", data={"csrf_token": csrf_of(dashboard)})
    assert hidden.status_code == 303
    assert strip(await client.get("/app")) is None
    assert strip(await client.get("/app/audit")) is None
