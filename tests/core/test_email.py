"""The email service with the local outbox: idempotency, suppression, unsubscribe, rate limits."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from core.clock import FrozenClock
from core.email import EmailStatus, OutboundEmail, Suppression, send_email
from core.email.tokens import make_token, read_token
from core.models import Job, Workspace
from core.models.events import JobStatus
from core.runtime import Runtime
from core.settings import Settings
from core.tenancy import unscoped, workspace_scope


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(extra={"SECONDLOOP_EMAIL_RATE_LIMITS": "3/m,100/d"}, plugins=())


async def _workspace(slug: str = "acme") -> Workspace:
    return await Workspace.create(name=slug.title(), slug=slug)


async def test_outbox_delivery_records_both_parts_and_headers(
    app: object, runtime: Runtime, drain
) -> None:
    ws = await _workspace()
    email = await send_email(
        runtime,
        workspace_id=ws.id,
        to="ann@example.com",
        subject="Your card",
        text="Hello Ann,\n\nplease <update> it.",
        idempotency_key="k1",
    )
    await drain()
    with unscoped():
        email = await OutboundEmail.get(id=email.id)
    assert email.status == EmailStatus.SENT
    assert email.transport == "outbox"
    assert email.headers["X-SecondLoop-Idempotency-Key"] == "k1"
    assert "List-Unsubscribe" not in email.headers  # not customer-facing
    assert "&lt;update&gt;" in email.html_body and "<p>" in email.html_body
    assert email.message_id.startswith("<")
    assert email.from_address.endswith("<no-reply@secondloop.local>")


async def test_same_idempotency_key_sends_once(app: object, runtime: Runtime, drain) -> None:
    ws = await _workspace()
    first = await send_email(
        runtime,
        workspace_id=ws.id,
        to="a@example.com",
        subject="S",
        text="t",
        idempotency_key="same",
    )
    second = await send_email(
        runtime,
        workspace_id=ws.id,
        to="a@example.com",
        subject="S2",
        text="t2",
        idempotency_key="same",
    )
    await drain()
    assert first.id == second.id
    with unscoped():
        assert await OutboundEmail.filter(workspace_id=ws.id).count() == 1
        assert await Job.filter(name="core.email.deliver").count() == 1
    # The same key in another workspace, or with no workspace, is a different message.
    other = await _workspace("other")
    third = await send_email(
        runtime,
        workspace_id=other.id,
        to="a@example.com",
        subject="S",
        text="t",
        idempotency_key="same",
    )
    fourth = await send_email(
        runtime,
        workspace_id=None,
        to="a@example.com",
        subject="S",
        text="t",
        idempotency_key="same",
    )
    fifth = await send_email(
        runtime,
        workspace_id=None,
        to="a@example.com",
        subject="S",
        text="t",
        idempotency_key="same",
    )
    assert len({first.id, third.id, fourth.id}) == 3 and fourth.id == fifth.id


async def test_suppressed_address_is_not_sent(app: object, runtime: Runtime, drain) -> None:
    ws = await _workspace()
    with workspace_scope(ws.id):
        await Suppression.create(email="gone@example.com", created_at=runtime.now())
    email = await send_email(
        runtime,
        workspace_id=ws.id,
        to="Gone@Example.com",
        subject="S",
        text="t",
        idempotency_key="k",
        customer_facing=True,
    )
    await drain()
    with unscoped():
        assert (await OutboundEmail.get(id=email.id)).status == EmailStatus.SUPPRESSED


async def test_one_click_unsubscribe_suppresses_later_mail(
    app: object, runtime: Runtime, client: httpx.AsyncClient, drain
) -> None:
    ws = await _workspace()
    email = await send_email(
        runtime,
        workspace_id=ws.id,
        to="bob@example.com",
        subject="S",
        text="t",
        idempotency_key="k1",
        customer_facing=True,
    )
    header = email.headers["List-Unsubscribe"]
    assert email.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "mailto:" in header
    url = header.split("<", 1)[1].split(">", 1)[0]
    path = url.removeprefix(runtime.settings.base_url)
    assert path.startswith("/u/")

    page = await client.get(path)  # a link scanner's GET changes nothing
    assert page.status_code == 200
    assert HTMLParser(page.text).css_first("form[method=post] button") is not None
    with unscoped():
        assert not await Suppression.filter(workspace_id=ws.id).exists()

    # RFC 8058: the mail client POSTs the one-click body, with no cookie and no CSRF token.
    done = await client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    again = await client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert again.status_code == 200
    with unscoped():
        rows = await Suppression.filter(workspace_id=ws.id).values_list("email", "reason")
    assert rows == [("bob@example.com", "unsubscribe")]

    later = await send_email(
        runtime,
        workspace_id=ws.id,
        to="bob@example.com",
        subject="S",
        text="t",
        idempotency_key="k2",
        customer_facing=True,
    )
    await drain()
    with unscoped():
        assert (await OutboundEmail.get(id=later.id)).status == EmailStatus.SUPPRESSED


async def test_forged_unsubscribe_token_is_refused(
    app: object, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    ws = await _workspace()
    token = make_token(runtime.settings, ws.id, "bob@example.com")
    assert read_token(runtime.settings, token) is not None
    other = runtime.settings.replace(secret_key="another-secret")
    forged = make_token(other, ws.id, "bob@example.com")
    assert read_token(runtime.settings, forged) is None
    response = await client.post(f"/u/{forged}", data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 404
    with unscoped():
        assert not await Suppression.filter(workspace_id=ws.id).exists()


async def test_rate_limit_defers_and_never_drops(
    app: object, runtime: Runtime, clock: FrozenClock, drain
) -> None:
    ws = await _workspace()
    ids = []
    for n in range(5):
        email = await send_email(
            runtime,
            workspace_id=ws.id,
            to=f"c{n}@example.com",
            subject="S",
            text="t",
            idempotency_key=f"k{n}",
        )
        ids.append(email.id)
    await drain()
    with unscoped():
        statuses = dict(await OutboundEmail.filter(id__in=ids).values_list("id", "status"))
        pending = await Job.filter(name="core.email.deliver", status=JobStatus.PENDING).count()
    assert sorted(statuses.values()).count(EmailStatus.SENT) == 3  # the limit is 3 a minute
    assert pending == 2

    clock.advance(timedelta(seconds=61))
    await drain()
    with unscoped():
        statuses = dict(await OutboundEmail.filter(id__in=ids).values_list("id", "status"))
    assert set(statuses.values()) == {EmailStatus.SENT}


async def test_customer_facing_mail_needs_a_workspace(app: object, runtime: Runtime) -> None:
    with pytest.raises(ValueError, match="workspace"):
        await send_email(
            runtime,
            workspace_id=None,
            to="a@example.com",
            subject="S",
            text="t",
            idempotency_key="k",
            customer_facing=True,
        )
    with pytest.raises(ValueError, match="header"):
        await send_email(
            runtime,
            workspace_id=None,
            to="a@example.com",
            subject="S",
            text="t",
            idempotency_key="k",
            headers={"X-Evil": "a\r\nBcc: x@example.com"},
        )


async def test_an_attempt_that_died_mid_send_is_resent_once_after_the_claim_expires(
    app: object, runtime: Runtime, clock: FrozenClock, drain
) -> None:
    from core.email.delivery import CLAIM_TIMEOUT

    ws = await _workspace()
    email = await send_email(
        runtime,
        workspace_id=ws.id,
        to="a@example.com",
        subject="S",
        text="t",
        idempotency_key="crash",
    )
    await drain()  # let the first delivery finish (on Redis it runs in a worker)
    # As if a worker claimed it and died before recording the outcome.
    with unscoped():
        await OutboundEmail.filter(id=email.id).update(
            status=EmailStatus.SENDING, claimed_at=clock.now(), sent_at=None, transport=""
        )
        job = await Job.get(name="core.email.deliver")
        await Job.filter(id=job.id).update(status=JobStatus.PENDING, run_after=clock.now())
    await drain()
    with unscoped():
        assert (await OutboundEmail.get(id=email.id)).status == EmailStatus.SENDING
        assert (await Job.get(id=job.id)).status == JobStatus.PENDING  # waiting, not given up
    clock.advance(CLAIM_TIMEOUT + timedelta(seconds=1))
    await drain()
    with unscoped():
        resent = await OutboundEmail.get(id=email.id)
    assert resent.status == EmailStatus.SENT and resent.message_id == email.message_id


def test_rate_limit_setting_is_validated_at_start_up(settings: Settings) -> None:
    from core.app import create_runtime
    from core.email.ratelimit import parse_limits
    from core.settings import SettingsError

    assert [(lim.count, lim.window.total_seconds()) for lim in parse_limits("10/s, 5/min")] == [
        (10, 1.0),
        (5, 60.0),
    ]
    bad = settings.replace(extra={"SECONDLOOP_EMAIL_RATE_LIMITS": "ten per second"})
    with pytest.raises(SettingsError, match="SECONDLOOP_EMAIL_RATE_LIMITS"):
        create_runtime(bad)


async def test_concurrent_claims_past_the_limit_lose_the_race(
    app: object, runtime: Runtime, clock: FrozenClock
) -> None:
    from core.email.ratelimit import lost_race

    ws = await _workspace()
    rows = []
    with unscoped():
        for n in range(4):  # four workers claimed at the same instant; the limit is 3 a minute
            rows.append(
                await OutboundEmail.create(
                    workspace_id=ws.id,
                    key=f"{ws.id}:r{n}",
                    idempotency_key=f"r{n}",
                    message_id=f"<r{n}@x>",
                    to_address="a@example.com",
                    from_address="f@x.test",
                    subject="S",
                    text_body="t",
                    html_body="<p>t</p>",
                    created_at=clock.now(),
                    status=EmailStatus.SENDING,
                    claimed_at=clock.now(),
                )
            )
    assert [await lost_race(runtime, row) for row in rows] == [False, False, False, True]


async def test_mail_for_another_workspace_is_refused_inside_a_scope(
    app: object, runtime: Runtime
) -> None:
    from core.tenancy import TenancyError

    a, b = await _workspace("a"), await _workspace("b")
    with workspace_scope(a.id), pytest.raises(TenancyError):
        await send_email(
            runtime,
            workspace_id=b.id,
            to="x@example.com",
            subject="S",
            text="t",
            idempotency_key="k",
        )


async def test_a_message_whose_job_was_lost_is_requeued(
    app: object, runtime: Runtime, clock: FrozenClock, drain
) -> None:
    from core.email.delivery import requeue

    ws = await _workspace()
    with unscoped():  # recorded, then the process died before enqueueing its delivery
        row = await OutboundEmail.create(
            workspace_id=ws.id,
            key=f"{ws.id}:lost",
            idempotency_key="lost",
            message_id="<lost@x>",
            to_address="a@example.com",
            from_address="f@x.test",
            subject="S",
            text_body="t",
            html_body="<p>t</p>",
            created_at=clock.now(),
        )
    assert await requeue(None, runtime) == 0  # too young: its enqueue may still be under way
    clock.advance(timedelta(minutes=2))
    assert await requeue(None, runtime) == 1
    assert await requeue(None, runtime) == 0
    await drain()
    with unscoped():
        assert (await OutboundEmail.get(id=row.id)).status == EmailStatus.SENT
    assert "core.email.requeue" in runtime.schedules


async def test_a_busy_workspace_checks_its_limits_in_one_query(
    app: object, runtime: Runtime, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the smallest limit in the longest window (here 3 of 100 a day), yet within every
    limit: the check is still one statement, not one per window (the tick's cost per email)."""
    from tortoise import connections

    from core.email.ratelimit import delay_for, lost_race

    ws = await _workspace()
    with unscoped():
        rows = [
            await OutboundEmail.create(
                workspace_id=ws.id,
                key=f"{ws.id}:b{n}",
                idempotency_key=f"b{n}",
                message_id=f"<b{n}@x>",
                to_address="a@example.com",
                from_address="f@x.test",
                subject="S",
                text_body="t",
                html_body="<p>t</p>",
                created_at=clock.now(),
                status=EmailStatus.SENT,
                claimed_at=clock.now() - timedelta(minutes=10 * n),
            )
            for n in range(5, 0, -1)
        ]
    conn = connections.get("default")
    statements: list[str] = []
    for name in ("execute_query", "execute_query_dict"):
        real = getattr(conn, name)

        async def counted(sql: str, values: object = None, _real: object = real) -> object:
            statements.append(sql)
            return await _real(sql, values)  # type: ignore[operator]

        monkeypatch.setattr(conn, name, counted)
    assert await delay_for(runtime, ws.id) == 0.0
    assert await lost_race(runtime, rows[-1]) is False
    assert len(statements) == 2, statements

    with unscoped():  # the same five sends, all in the last minute: over 3 a minute
        await OutboundEmail.filter(workspace_id=ws.id).update(claimed_at=clock.now())
    await rows[-1].refresh_from_db()
    assert await delay_for(runtime, ws.id) == 60.0  # until the window makes room for one more
    assert await lost_race(runtime, rows[-1]) is True
