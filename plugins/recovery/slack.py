"""Slack for the notify-operator step: a workspace's incoming webhook, posted at most once.

The webhook URL is a secret (whoever has it can post to the channel), so it is stored
encrypted with the core's keyring, bound to its settings row. Slack's incoming webhooks take no
idempotency key, so the step records its own key and `sending` on the step row *before* the
request: a run that finds `sending` left by a worker that died mid-request does not post again
(the message may be in the channel already; never twice beats at least once for a
notification). A 429 (after its `Retry-After`) or a 5xx, or a connection that never opened,
means Slack did not post: the step retries with backoff.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import httpx

from core.crypto import DecryptionError
from core.jobs import backoff
from core.runtime import Runtime
from plugins.recovery.models import CaseStep, RecoverySettings

log = logging.getLogger(__name__)
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
MAX_URL = 500


def _context(settings: RecoverySettings) -> str:
    return f"recovery_settings:{settings.id}:slack_webhook_url"


def check_url(url: str) -> str | None:
    """Why `url` cannot be a webhook URL, or None when it can."""
    parts = urlsplit(url)
    if len(url) > MAX_URL or parts.scheme not in ("https", "http") or not parts.netloc:
        return "The Slack webhook URL must be an https:// address."
    return None


def seal_url(runtime: Runtime, settings: RecoverySettings, url: str | None) -> None:
    """Store (or with None, forget) the webhook URL, encrypted; the caller saves the row."""
    settings.slack_webhook_url_enc = (
        runtime.keyring.encrypt(url, context=_context(settings)) if url else ""
    )


def webhook_url(runtime: Runtime, settings: RecoverySettings) -> str | None:
    if not settings.slack_webhook_url_enc:
        return None
    try:
        return runtime.keyring.decrypt(settings.slack_webhook_url_enc, context=_context(settings))
    except DecryptionError:
        log.error("workspace %s: the Slack webhook URL does not decrypt", settings.workspace_id)
        return None


def masked(runtime: Runtime, settings: RecoverySettings) -> str:
    """What the settings page shows: the host and the last characters, never the secret."""
    url = webhook_url(runtime, settings)
    if not url:
        return ""
    return f"{urlsplit(url).netloc}/…{url[-4:]}"


async def _record(step: CaseStep, state: dict[str, Any]) -> None:
    await step.refresh_from_db()
    await CaseStep.filter(id=step.id).update(result={**step.result, "slack": state})
    step.result = {**step.result, "slack": state}


async def post(step: CaseStep, url: str, text: str) -> float | None:
    """Post `text` once for this step. Returns None when finished, else seconds to retry after."""
    state: dict[str, Any] = dict(step.result.get("slack") or {})
    if state.get("state") in ("posted", "rejected", "unknown"):
        return None
    if state.get("state") == "sending":
        # The last run died between recording and hearing back: it may have posted.
        await _record(step, {**state, "state": "unknown"})
        return None
    attempt = int(state.get("attempt") or 0) + 1
    key = f"recovery:slack:{step.id}"
    sending = {"key": key, "state": "sending", "attempt": attempt}
    await _record(step, sending)
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT) as http:
            response = await http.post(
                url, json={"text": text}, headers={"Idempotency-Key": key}
            )
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        # The connection never opened: nothing reached Slack.
        delay = backoff(attempt).total_seconds()
        await _record(step, {**sending, "state": "retry", "error": str(exc)[:200]})
        return delay
    except httpx.HTTPError as exc:
        # The request may have arrived: do not risk a second post.
        await _record(step, {**sending, "state": "unknown", "error": str(exc)[:200]})
        return None
    status = response.status_code
    if 200 <= status < 300:
        await _record(step, {**sending, "state": "posted", "status": status})
        return None
    if status == 429 or status >= 500:
        delay = _retry_after(response) or backoff(attempt).total_seconds()
        await _record(step, {**sending, "state": "retry", "status": status})
        return delay
    # 400/403/404/410: a bad or revoked webhook; retrying cannot help.
    detail = {"state": "rejected", "status": status, "error": response.text[:200]}
    await _record(step, {**sending, **detail})
    return None


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(float(response.headers.get("Retry-After", "")), 1.0)
    except ValueError:
        return None
