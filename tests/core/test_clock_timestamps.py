"""Rows the core creates carry the core's clock, not the wall clock: `auto_now_add` fields are
set from `runtime.now()` where the rows are made (a test-clock rehearsal or a frozen test sees
its own time on them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core import jobs
from core.auth import magic
from core.auth.workspaces import accept, create_workspace, invite
from core.clock import FrozenClock
from core.events.testing import connected_account
from core.models import Job, Membership, User
from core.models.workspaces import Role
from core.runtime import Runtime
from core.settings import Settings
from core.tenancy import unscoped, workspace_scope

THEN = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(plugins=())


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(THEN)


async def test_tenancy_rows_take_the_runtime_clock(app: object, runtime: Runtime) -> None:
    token = await magic.issue(runtime, "owner@example.com", "127.0.0.1")
    owner = (await magic.consume(runtime, token)).user
    assert owner is not None and owner.created_at == THEN

    workspace = await create_workspace(runtime, "Shop", owner)
    assert workspace.created_at == THEN
    with workspace_scope(workspace.id):
        (membership,) = await Membership.all()
        assert membership.created_at == THEN
        invitation = await invite(runtime, workspace, "new@example.com", Role.MEMBER, owner)
        assert invitation.invitation.created_at == THEN
    newcomer = await accept(runtime, invitation.invitation)
    assert (await User.get(id=newcomer.id)).created_at == THEN
    with workspace_scope(workspace.id):
        joined = await Membership.get(user_id=newcomer.id)
    assert joined.created_at == THEN


async def test_jobs_and_stripe_accounts_take_the_runtime_clock(
    app: object, runtime: Runtime
) -> None:
    from core.models import Workspace

    ws = await Workspace.create(name="Shop", slug="shop", created_at=THEN)
    job = await jobs.enqueue(runtime, "core.email.deliver", workspace_id=None, dispatch=False)
    assert job is not None
    with unscoped():
        assert (await Job.get(id=job.id)).created_at == THEN
    account, _ = await connected_account(runtime, ws.id)
    assert account.created_at == THEN


async def test_a_followed_test_clock_is_updated_in_the_runtime_clock(
    app: object, runtime: Runtime, clock: FrozenClock
) -> None:
    from core.events.clocks import follow_test_clock
    from core.events.normalize import StripeEvent, normalized
    from core.models import StripeTestClock, Workspace

    ws = await Workspace.create(name="Shop", slug="shop", created_at=THEN)

    def event(id: int, frozen: int, created: int) -> StripeEvent:
        obj = {"object": "test_helpers.test_clock", "id": "clock_1", "frozen_time": frozen}
        payload = {"id": f"evt_{id}", "type": "test_helpers.test_clock.ready", "created": created,
                   "data": {"object": {**obj, "status": "ready"}}}  # fmt: skip
        return normalized(id, f"evt_{id}", payload["type"], "acct_1", "", THEN, payload)

    with workspace_scope(ws.id):
        await follow_test_clock(event(1, 1_800_000_000, 1_800_000_000), ws.id, runtime)
        assert (await StripeTestClock.get(clock_id="clock_1")).updated_at == THEN
        clock.advance(timedelta(minutes=3))
        await follow_test_clock(event(2, 1_800_086_400, 1_800_000_100), ws.id, runtime)
        assert (await StripeTestClock.get(clock_id="clock_1")).updated_at == THEN + timedelta(
            minutes=3
        )
