"""The onboarding gate: /app stays locked until a workspace exists and Stripe is verified."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from core.models.accounts import ConnectionMode, ConnectionStatus, StripeAccount
from core.models.workspaces import Membership, Role, Workspace
from core.onboarding import OnboardingStep
from core.plugins import hookimpl
from core.tenancy import workspace_scope
from tests.core.web_support import connect_stripe, create_workspace, html, sign_in


class Recorder:
    def __init__(self) -> None:
        self.created: list[tuple[str, str | None]] = []

    @hookimpl
    def workspace_created(self, workspace: Any, actor: Any, runtime: Any) -> None:
        self.created.append((workspace.name, actor.email if actor else None))


class ProfileStep:
    done = False

    @hookimpl
    def onboarding_steps(self, workspace: Any, request: Any) -> list[OnboardingStep]:
        return [OnboardingStep("profile", "Tell us about you", "/onboarding/profile", 50,
                               done=self.done, required=True)]


RECORDER = Recorder()
STEP = ProfileStep()


@pytest.fixture
def extra_plugins() -> list[tuple[str, object]]:
    RECORDER.created.clear()
    STEP.done = True
    return [("recorder", RECORDER), ("profile-step", STEP)]


async def test_anonymous_is_sent_to_sign_in(client: httpx.AsyncClient) -> None:
    for path in ("/app", "/app/settings", "/app/settings/members", "/onboarding/workspace"):
        response = await client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/signin?next="), path


async def test_walk_through_onboarding(client: httpx.AsyncClient) -> None:
    await sign_in(client, "owner@example.com")
    assert (await client.get("/app")).headers["location"] == "/onboarding/workspace"

    page = await client.get("/onboarding/workspace")
    steps = html(page).css(".steps li")
    assert [s.text(strip=True) for s in steps][:2] == ["1Create your workspace", "2Connect Stripe"]
    assert steps[0].attributes.get("aria-current") == "step"

    empty = await create_workspace(client, "   ")
    assert empty.status_code == 400
    created = await create_workspace(client, "Acme Inc.")
    assert created.status_code == 303 and created.headers["location"] == "/onboarding/stripe"
    assert RECORDER.created == [("Acme Inc.", "owner@example.com")]

    workspace = await Workspace.get(name="Acme Inc.")
    with workspace_scope(workspace.id):
        membership = await Membership.get(workspace_id=workspace.id)
    assert membership.role == Role.OWNER

    for path in ("/app", "/app/settings", "/app/settings/members"):
        assert (await client.get(path)).headers["location"] == "/onboarding/stripe", path
    assert (await client.get("/onboarding")).headers["location"] == "/onboarding/stripe"

    with workspace_scope(workspace.id):  # a connection not yet verified does not open the gate
        await StripeAccount.create(
            workspace_id=workspace.id, stripe_account_id="acct_pending",
            mode=ConnectionMode.OAUTH, status=ConnectionStatus.PENDING,
        )
    assert (await client.get("/app")).status_code == 303

    await connect_stripe(workspace.id)
    dashboard = await client.get("/app")
    assert dashboard.status_code == 200
    assert html(dashboard).css_first("h1").text() == "Acme Inc."
    assert (await client.get("/onboarding")).headers["location"] == "/app"


async def test_required_plugin_step_keeps_the_gate_shut(client: httpx.AsyncClient) -> None:
    await sign_in(client, "steps@example.com")
    await create_workspace(client, "Steps")
    await connect_stripe((await Workspace.get(name="Steps")).id)
    STEP.done = False
    assert (await client.get("/app")).headers["location"] == "/onboarding/profile"
    STEP.done = True
    assert (await client.get("/app")).status_code == 200


async def test_htmx_requests_get_hx_redirect(client: httpx.AsyncClient) -> None:
    response = await client.get("/app", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.headers["hx-redirect"].startswith("/signin?next=")
    assert "location" not in response.headers
