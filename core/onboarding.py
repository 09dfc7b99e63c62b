"""Onboarding: the steps an operator walks before `/app` opens, and where they stand.

The core owns two steps (create the workspace, connect Stripe). Plugins add later ones with the
`onboarding_steps` hook, returning `OnboardingStep`s; a `required` step that is not `done` keeps
`/app` locked on it, an optional one is only shown in the progress indicator.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from core.models.accounts import ConnectionStatus, StripeAccount
from core.models.workspaces import Workspace
from core.runtime import Runtime
from core.tenancy import workspace_scope

WORKSPACE_URL = "/onboarding/workspace"
STRIPE_URL = "/onboarding/stripe"


@dataclass(frozen=True)
class OnboardingStep:
    key: str
    title: str
    url: str
    order: int = 100
    done: bool = False
    required: bool = False


async def stripe_connected(workspace: Workspace) -> bool:
    """A connection counts once it is verified (status active). One that needs reconnecting
    still counts: the operator reconnects it from the settings page, not from onboarding."""
    with workspace_scope(workspace.id):
        return await StripeAccount.filter(
            status__in=[ConnectionStatus.ACTIVE, ConnectionStatus.RECONNECT]
        ).exists()


async def steps_for(
    runtime: Runtime, request: Request, workspace: Workspace | None
) -> list[OnboardingStep]:
    """Every step in order, with `done` filled in for the core's own."""
    connected = workspace is not None and await stripe_connected(workspace)
    steps = [
        OnboardingStep(
            "workspace", "Create your workspace", WORKSPACE_URL, 0, workspace is not None, True
        ),
        OnboardingStep("stripe", "Connect Stripe", STRIPE_URL, 10, connected, True),
    ]
    if workspace is not None:
        extra, _failures = await runtime.host.gather(
            "onboarding_steps", workspace=workspace, request=request
        )
        steps.extend(s for s in extra if isinstance(s, OnboardingStep))
    return sorted(steps, key=lambda s: (s.order, s.key))


def next_step(steps: list[OnboardingStep]) -> OnboardingStep | None:
    """The first step not yet done, optional ones included: where "Continue" leads, so the
    first-ship sequence runs workspace → Stripe → audit → recovery → dashboard."""
    return next((s for s in steps if not s.done), None)


def step_at(steps: list[OnboardingStep], path: str) -> OnboardingStep | None:
    """The step whose page this is (`path` is its URL or below it)."""
    return next((s for s in steps if path == s.url or path.startswith(s.url + "/")), None)


def next_required(steps: list[OnboardingStep]) -> OnboardingStep | None:
    """The first required step not yet done: the one the gate sends the operator to."""
    return next((s for s in steps if s.required and not s.done), None)
