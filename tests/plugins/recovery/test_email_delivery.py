"""A recovery email while the SMTP server is down: the step is done, the message waits, and it
reaches the customer once when the server is back (real aiosmtpd, real SMTP)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from core.clock import FrozenClock
from core.email import EmailStatus, OutboundEmail
from core.runtime import Runtime
from core.settings import Settings
from core.tenancy import unscoped, workspace_scope
from core.testing.smtp import Inbox, free_port, smtp_server
from plugins.recovery import engine
from plugins.recovery.models import CaseStep, StepStatus
from tests.plugins.recovery.conftest import enabled_workspace
from tests.plugins.recovery.operator_support import open_case


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def settings(settings: Settings, port: int) -> Settings:
    return settings.replace(smtp_url=f"smtp://127.0.0.1:{port}")


async def test_smtp_down_defers_a_recovery_email_and_sends_it_once_when_back(
    app: object, runtime: Runtime, clock: FrozenClock, declines: Any, drain: Any, port: int
) -> None:
    ws = await enabled_workspace("a")
    case = await open_case(runtime, ws, clock, "in_1")  # the day-0 email: SMTP is down
    await drain()
    with workspace_scope(ws):
        first = await CaseStep.get(case_id=case.id, index=0)
    with unscoped():
        [waiting] = await OutboundEmail.filter(workspace_id=ws)
    assert first.status == StepStatus.DONE  # handed to the mail service: the step is done
    assert waiting.status == EmailStatus.QUEUED and waiting.attempts >= 1

    inbox = Inbox()
    with smtp_server(inbox, port):
        for _ in range(6):  # past the delivery's backoff
            clock.advance(timedelta(minutes=30))
            await drain()
        with workspace_scope(ws):  # a re-run of the step (after a crash) sends nothing new
            await CaseStep.filter(id=first.id).update(status=StepStatus.PENDING)
            await engine.run_step(runtime, first.id)
        await drain()
    with unscoped():
        sent = await OutboundEmail.get(id=waiting.id)
        count = await OutboundEmail.filter(workspace_id=ws).count()
    assert sent.status == EmailStatus.SENT and count == 1
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message["To"] == "ada@example.test"
    assert message["List-Unsubscribe"] and message["List-Unsubscribe-Post"]
