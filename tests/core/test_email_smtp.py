"""Delivery through a real SMTP server (aiosmtpd): up, down then up, permanent refusal."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from core.clock import FrozenClock
from core.email import EmailStatus, OutboundEmail, Suppression, send_email
from core.metrics import metrics_of
from core.models import Workspace
from core.runtime import Runtime
from core.settings import Settings
from core.tenancy import unscoped
from core.testing.smtp import Inbox, free_port, smtp_server


class Refusing(Inbox):
    """Keeps what it receives; refuses `nobody@` as a hard bounce, greylists `grey@` once and
    rejects `spam@` by policy."""

    def __init__(self) -> None:
        super().__init__()
        self.greylisted: set[str] = set()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 No such user"
        if address.startswith("grey@") and address not in self.greylisted:
            self.greylisted.add(address)  # greylisting: refuse the first try, temporarily
            return "451 4.7.1 Try again later"
        if address.startswith("spam@"):
            return "554 5.7.1 Rejected by policy"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def settings(settings: Settings, port: int) -> Settings:
    return settings.replace(
        smtp_url=f"smtp://127.0.0.1:{port}",
        email_from="Acme Billing <billing@acme.test>",
        plugins=(),
    )


@pytest.fixture
def inbox() -> Refusing:
    return Refusing()


@pytest.fixture(name="smtp_server")
def running_smtp_server(inbox: Refusing, port: int) -> Iterator[Controller]:
    with smtp_server(inbox, port) as controller:
        yield controller


async def test_smtp_delivers_text_and_html_with_headers(
    smtp_server: Controller, inbox: Inbox, app: object, runtime: Runtime, drain
) -> None:
    ws = await Workspace.create(name="Acme", slug="acme")
    email = await send_email(
        runtime,
        workspace_id=ws.id,
        to="ann@example.com",
        subject="Payment failed",
        text="Please update your card.",
        html="<p>Please <b>update</b> your card.</p>",
        idempotency_key="dunning:in_1:1",
        customer_facing=True,
        from_name="Acme",
        reply_to="help@acme.test",
    )
    await drain()
    assert len(inbox.messages) == 1
    msg = inbox.messages[0]
    assert msg["From"] == "Acme <billing@acme.test>"
    assert msg["Reply-To"] == "help@acme.test"
    assert msg["Message-ID"] == email.message_id
    assert msg["X-SecondLoop-Idempotency-Key"] == "dunning:in_1:1"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "http://testserver/u/" in msg["List-Unsubscribe"]
    types = [part.get_content_type() for part in msg.walk()]
    assert types == ["multipart/alternative", "text/plain", "text/html"]
    with unscoped():
        stored = await OutboundEmail.get(id=email.id)
    assert stored.status == EmailStatus.SENT and stored.transport == "smtp"

    # A repeat of the key, and further drains, send nothing more.
    await send_email(
        runtime,
        workspace_id=ws.id,
        to="ann@example.com",
        subject="Payment failed",
        text="again",
        idempotency_key="dunning:in_1:1",
    )
    await drain()
    assert len(inbox.messages) == 1
    metrics = metrics_of(runtime)
    assert metrics is not None
    assert metrics.emails_total.labels(status="sent")._value.get() == 1


async def test_smtp_down_then_up_is_deferred_then_sent_once(
    inbox: Inbox, port: int, app: object, runtime: Runtime, clock: FrozenClock, drain
) -> None:
    email = await send_email(
        runtime,
        workspace_id=None,
        to="new@example.com",
        subject="Sign in",
        text="Your link",
        idempotency_key="signin:1",
    )
    await drain()
    with unscoped():
        stored = await OutboundEmail.get(id=email.id)
    assert stored.status == EmailStatus.QUEUED
    assert stored.attempts == 1 and "Connect" in stored.last_error

    with smtp_server(inbox, port):
        await drain()  # still inside the backoff: nothing is retried yet
        assert inbox.messages == []
        clock.advance(timedelta(seconds=11))
        await drain()
        clock.advance(timedelta(hours=2))
        await drain()
    assert len(inbox.messages) == 1
    with unscoped():
        stored = await OutboundEmail.get(id=email.id)
    assert stored.status == EmailStatus.SENT and stored.attempts == 2


async def test_hard_bounce_fails_and_suppresses(
    smtp_server: Controller, inbox: Inbox, app: object, runtime: Runtime, drain
) -> None:
    ws = await Workspace.create(name="Acme", slug="acme")
    email = await send_email(
        runtime,
        workspace_id=ws.id,
        to="nobody@example.com",
        subject="S",
        text="t",
        idempotency_key="k",
    )
    await drain()
    with unscoped():
        stored = await OutboundEmail.get(id=email.id)
        suppressed = await Suppression.filter(workspace_id=ws.id).values_list("email", "reason")
    assert stored.status == EmailStatus.FAILED and "550" in stored.last_error
    assert stored.bounced  # a permanent refusal, not a give-up after retries
    assert suppressed == [("nobody@example.com", "bounce")]
    assert inbox.messages == []


def test_smtp_url_parsing() -> None:
    from core.email.smtp import SmtpServer

    plain = SmtpServer.from_url("smtp://mailer%40shop.test:p%3Ass@mail.shop.test:587")
    assert plain == SmtpServer("mail.shop.test", 587, "mailer@shop.test", "p:ss", use_tls=False)
    implicit = SmtpServer.from_url("smtps://mail.shop.test")
    assert implicit == SmtpServer("mail.shop.test", 465, None, None, use_tls=True)
    assert SmtpServer.from_url("smtp://localhost").port == 25


async def test_temporary_refusal_retries_and_policy_refusal_fails_without_suppression(
    smtp_server: Controller,
    inbox: Inbox,
    app: object,
    runtime: Runtime,
    clock: FrozenClock,
    drain,
) -> None:
    ws = await Workspace.create(name="Acme", slug="acme")
    grey = await send_email(
        runtime,
        workspace_id=ws.id,
        to="grey@example.com",
        subject="S",
        text="t",
        idempotency_key="grey",
    )
    spam = await send_email(
        runtime,
        workspace_id=ws.id,
        to="spam@example.com",
        subject="S",
        text="t",
        idempotency_key="spam",
    )
    await drain()
    with unscoped():
        assert (await OutboundEmail.get(id=grey.id)).status == EmailStatus.QUEUED
        failed = await OutboundEmail.get(id=spam.id)
    assert failed.status == EmailStatus.FAILED and "554" in failed.last_error and failed.bounced
    clock.advance(timedelta(seconds=11))
    await drain()
    with unscoped():
        sent = await OutboundEmail.get(id=grey.id)
        assert sent.status == EmailStatus.SENT and not sent.bounced
        assert not await Suppression.filter(workspace_id=ws.id).exists()
    assert [m["To"] for m in inbox.messages] == ["grey@example.com"]
