"""Slack for notify_operator: the URL sealed from the settings page, posts to a real listener."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from core.clock import FrozenClock
from core.models import Workspace
from core.runtime import Runtime
from core.tenancy import workspace_scope
from plugins.recovery import engine, handlers, lookup, slack
from plugins.recovery.models import Case, CaseStep, RecoverySettings, StepStatus
from tests.core.web_support import connect_stripe, create_workspace, csrf_of, sign_in
from tests.plugins.recovery.conftest import enabled_workspace, event, invoice, settle


class SlackListener:
    """A local HTTP server standing in for hooks.slack.com: answers from a script."""

    def __init__(self, answers: list[tuple[int, dict[str, str]]]) -> None:
        self.answers = list(answers)
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                listener.requests.append((dict(self.headers), json.loads(body)))
                status, headers = listener.answers.pop(0) if listener.answers else (200, {})
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"error")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/T0/B0/secret"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener() -> Iterator[SlackListener]:
    # Slack is busy once, rate-limits once (asking for 7 s), then posts.
    hook = SlackListener([(503, {}), (429, {"Retry-After": "7"})])
    yield hook
    hook.close()


async def _flagged_case(runtime: Runtime, ws: int, clock: FrozenClock) -> tuple[Case, CaseStep]:
    """A stolen-card decline: its sequence notifies the operator at once."""
    with workspace_scope(ws):
        ev = event("invoice.payment_failed", invoice(), clock.now())
        await handlers.payment_failed(ev, ws, runtime)
        await settle()
        case = await Case.get(invoice_id="in_1")
        step = await CaseStep.get(case_id=case.id, type="notify_operator")
    return case, step


async def _run(runtime: Runtime, ws: int, step_id: int) -> str:
    with workspace_scope(ws):
        return await engine.run_step(runtime, step_id)


async def _step(ws: int, step_id: int) -> CaseStep:
    with workspace_scope(ws):
        return await CaseStep.get(id=step_id)


async def test_notify_operator_posts_once_after_a_5xx_and_a_429(
    app: object, runtime: Runtime, clock: FrozenClock, declines: Any, listener: SlackListener
) -> None:
    declines["decline"] = lookup.Decline(code="card_declined", decline_code="stolen_card")
    ws = await enabled_workspace("a")
    with workspace_scope(ws):
        settings = await RecoverySettings.get()
        slack.seal_url(runtime, settings, listener.url)
        await settings.save()
    case, step = await _flagged_case(runtime, ws, clock)
    assert case.category == "fraud"

    # The day-0 run met a 503: the step waits with backoff, having posted nothing.
    first = await _step(ws, step.id)
    assert first.status == StepStatus.PENDING and first.result["slack"]["state"] == "retry"
    assert first.due_at == clock.now() + timedelta(seconds=10)
    assert await _run(runtime, ws, step.id) == "not-claimed"  # not due yet
    clock.advance(timedelta(seconds=10))
    assert await _run(runtime, ws, step.id) == StepStatus.PENDING  # the 429
    second = await _step(ws, step.id)
    assert second.result["slack"] == {
        "key": f"recovery:slack:{step.id}",
        "state": "retry",
        "attempt": 2,
        "status": 429,
    }
    assert second.due_at == clock.now() + timedelta(seconds=7)  # Retry-After honoured
    clock.advance(timedelta(seconds=7))
    assert await _run(runtime, ws, step.id) == StepStatus.DONE
    done = await _step(ws, step.id)
    assert done.result["slack"]["state"] == "posted"

    # A worker re-running the finished step (it died before recording) posts nothing more.
    with workspace_scope(ws):
        await CaseStep.filter(id=step.id).update(status=StepStatus.PENDING, locked_until=None)
    assert await _run(runtime, ws, step.id) == StepStatus.DONE
    assert len(listener.requests) == 3
    headers, body = listener.requests[-1]
    assert headers["Idempotency-Key"] == f"recovery:slack:{step.id}"
    assert "fraud" in body["text"] and "ada@example.test" in body["text"]


async def test_a_post_left_mid_flight_is_never_repeated(
    app: object, runtime: Runtime, clock: FrozenClock, declines: Any, listener: SlackListener
) -> None:
    declines["decline"] = lookup.Decline(code="card_declined", decline_code="stolen_card")
    ws = await enabled_workspace("a")
    _, step = await _flagged_case(runtime, ws, clock)  # no URL yet: emails only
    assert (await _step(ws, step.id)).status == StepStatus.DONE and listener.requests == []
    with workspace_scope(ws):
        settings = await RecoverySettings.get()
        slack.seal_url(runtime, settings, listener.url)
        await settings.save()
        # A worker recorded its key and `sending`, then died before Slack answered.
        await CaseStep.filter(id=step.id).update(
            status=StepStatus.PENDING, result={"slack": {"key": "k", "state": "sending"}}
        )
    assert await _run(runtime, ws, step.id) == StepStatus.DONE
    after = await _step(ws, step.id)
    assert after.result["slack"]["state"] == "unknown" and listener.requests == []


async def test_a_refused_webhook_is_not_retried(
    app: object, runtime: Runtime, clock: FrozenClock, declines: Any
) -> None:
    hook = SlackListener([(404, {})])
    try:
        declines["decline"] = lookup.Decline(code="card_declined", decline_code="stolen_card")
        ws = await enabled_workspace("a")
        with workspace_scope(ws):
            settings = await RecoverySettings.get()
            slack.seal_url(runtime, settings, hook.url)
            await settings.save()
        _, step = await _flagged_case(runtime, ws, clock)
        refused = await _step(ws, step.id)
        assert refused.status == StepStatus.DONE
        assert refused.result["slack"]["state"] == "rejected" and len(hook.requests) == 1
    finally:
        hook.close()


async def test_the_webhook_url_is_stored_sealed_from_the_settings_page(
    app: object, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await sign_in(client, "ops@example.test")
    await create_workspace(client, "Shop")
    ws = await Workspace.get(name="Shop")
    await connect_stripe(ws.id)
    url = "/app/recovery/settings"
    page = await client.get(url)
    secret = "https://hooks.slack.com/services/T0/B0/abcdefsecret"
    form = {
        "csrf_token": csrf_of(page),
        "enabled": "1",
        "final_action": "cancel",
        "expiring_card_lead_days": "30",
        "winback_enabled": "1",
        "winback_first_hours": "4",
        "slack_webhook_url": secret,
    }
    saved = await client.post(url, data=form)
    assert saved.status_code == 200, saved.text
    with workspace_scope(ws.id):
        settings = await RecoverySettings.get()
    assert settings.winback_enabled and settings.winback_first_hours == 4
    assert "abcdefsecret" not in settings.slack_webhook_url_enc
    assert slack.webhook_url(runtime, settings) == secret
    shown = HTMLParser(saved.text)
    field = shown.css_first('input[name="slack_webhook_url"]')
    assert field is not None and "value" not in field.attributes  # never echoed back
    assert "abcdefsecret" not in saved.text and "hooks.slack.com/…cret" in saved.text

    # Saving again without a URL keeps it; bad values are refused; the box clears it.
    form["slack_webhook_url"] = ""
    await client.post(url, data=form)
    with workspace_scope(ws.id):
        assert slack.webhook_url(runtime, await RecoverySettings.get()) == secret
    bad = await client.post(url, data={**form, "slack_webhook_url": "javascript:alert(1)"})
    assert bad.status_code == 422
    bad = await client.post(url, data={**form, "winback_first_hours": "2"})
    assert bad.status_code == 422
    await client.post(url, data={**form, "slack_webhook_clear": "1"})
    with workspace_scope(ws.id):
        assert slack.webhook_url(runtime, await RecoverySettings.get()) is None


async def test_a_sealed_url_opens_only_on_its_own_settings_row(
    app: object, runtime: Runtime
) -> None:
    mine, theirs = await enabled_workspace("a"), await enabled_workspace("b")
    with workspace_scope(mine):
        settings = await RecoverySettings.get()
        slack.seal_url(runtime, settings, "https://hooks.slack.com/services/T/B/mine")
        await settings.save()
    with workspace_scope(theirs):
        other = await RecoverySettings.get()
        other.slack_webhook_url_enc = settings.slack_webhook_url_enc  # copied across rows
        assert slack.webhook_url(runtime, other) is None
        assert slack.masked(runtime, other) == ""


async def test_keys_rotate_re_encrypts_the_webhook_url(app: object, runtime: Runtime) -> None:
    import base64
    import os

    from core.commands.keys import rotate_all
    from core.crypto import Keyring

    ws = await enabled_workspace("a")
    url = "https://hooks.slack.com/services/T/B/rotated"
    with workspace_scope(ws):
        settings = await RecoverySettings.get()
        slack.seal_url(runtime, settings, url)
        await settings.save()
    new = base64.urlsafe_b64encode(os.urandom(32)).decode()
    old = Keyring(runtime.keyring.keys)
    both = Keyring((Keyring.from_strings([new]).keys[0], *old.keys))
    counts = await rotate_all(both)
    [count] = [
        c for c in counts if (c.model, c.field) == ("RecoverySettings", "slack_webhook_url_enc")
    ]
    assert (count.rotated, count.failed) == (1, 0)
    with workspace_scope(ws):
        settings = await RecoverySettings.get()
    only_new = Keyring.from_strings([new])
    context = f"recovery_settings:{settings.id}:slack_webhook_url"
    assert only_new.decrypt(settings.slack_webhook_url_enc, context=context) == url
