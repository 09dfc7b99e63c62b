"""A scheduled run whose summary could not be sent: the job's retry sends it, once (real
SMTP through aiosmtpd)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

import plugins.audit.monthly
from core.clock import FrozenClock
from core.models.workspaces import Membership, Role, User
from core.runtime import Runtime
from core.settings import Settings
from core.tenancy import workspace_scope
from core.testing.smtp import Inbox, free_port, smtp_server
from plugins.audit.models import AuditRun, RunStatus
from plugins.audit.runner import account_to_audit, execute_run, start_run
from tests.plugins.audit.support import connect


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def settings(settings: Settings, port: int) -> Settings:
    return settings.replace(smtp_url=f"smtp://127.0.0.1:{port}")


@pytest.fixture
def inbox(port: int) -> Iterator[Inbox]:
    box = Inbox()
    with smtp_server(box, port):
        yield box


async def test_a_summary_that_failed_to_send_is_sent_by_the_retry_once(
    app: Any,
    runtime: Runtime,
    clock: FrozenClock,
    seeded: Any,
    drain: Any,
    inbox: Inbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    workspace = await connect(runtime, seeded[1].businesses[0], "acme")
    owner = await User.create(email="owner@example.test")
    with workspace_scope(workspace.id):
        await Membership.create(workspace_id=workspace.id, user_id=owner.id, role=Role.OWNER)
    real_send = plugins.audit.monthly.send_email
    failures = [ConnectionError("the database went away mid-send")]

    async def flaky_send(*args: Any, **kwargs: Any) -> Any:
        if failures:
            raise failures.pop()
        return await real_send(*args, **kwargs)

    monkeypatch.setattr(plugins.audit.monthly, "send_email", flaky_send)
    with workspace_scope(workspace.id):
        account = await account_to_audit()
        run = await start_run(runtime, workspace.id, account, trigger="scheduled")
        await drain()  # the job: the diagnostic finishes, the summary fails
        after_failure = await AuditRun.get(id=run.id)
    assert after_failure.status == RunStatus.DONE and after_failure.summary_sent_at is None
    assert inbox.messages == []

    clock.advance(timedelta(minutes=5))  # past the job's backoff: it retries
    await drain()
    with workspace_scope(workspace.id):
        sent = await AuditRun.get(id=run.id)
        assert sent.summary_sent_at is not None
        await execute_run(runtime, run.id)  # yet another retry sends nothing new
    await drain()
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message["To"] == "owner@example.test"
    assert sent.results is not None
    body = message.get_payload(decode=True) if not message.is_multipart() else None
    text = (body or message.get_payload(0).get_payload(decode=True)).decode()
    assert sent.results["summary"][0][:40] in text and f"/app/audit/runs/{run.id}" in text
