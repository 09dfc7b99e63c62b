"""The two webhook endpoints: read a bounded body, verify its signature, store, answer.

`POST /webhooks/stripe/connect` is the platform's Connect endpoint (signed with
`SECONDLOOP_STRIPE_CONNECT_WEBHOOK_SECRET`; each event names its `account`).
`POST /webhooks/stripe/{token}` is one connected account's own endpoint, signed with the
`whsec_…` secret stored (encrypted) on its `StripeAccount`.

Answers: 200 once stored (or already stored; `"orphaned": true` when no live connection claims
the account, so the event is recorded for no workspace), 400 for a bad signature or a body that
is not a Stripe event, 404 for an unknown token, 413 for a body over `SECONDLOOP_MAX_WEBHOOK_BODY`.
Every error is JSON: `{"error": {"code": ..., "message": ...}}`.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse
from stripe import SignatureVerificationError, WebhookSignature
from tortoise.expressions import F

from core.events.endpoints import Endpoint, endpoint_for
from core.events.store import Stored, Target, store_event
from core.metrics import observe_intake
from core.models.accounts import ConnectionMode, ConnectionStatus, StripeAccount
from core.runtime import Runtime
from core.tenancy import unscoped

log = logging.getLogger(__name__)
TOLERANCE = 300  # seconds; Stripe's own default


class Rejected(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> JSONResponse:
        answer = JSONResponse({"error": {"code": self.code, "message": self.message}}, self.status)
        answer.outcome = self.code  # type: ignore[attr-defined]  # for core.metrics
        return answer


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refusing (413) as soon as it exceeds `limit` without reading the rest."""
    too_large = Rejected(413, "body_too_large", f"webhook bodies are limited to {limit} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


def text_of(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Rejected(400, "invalid_body", "the body is not UTF-8") from exc


def verify(body: str, header: str | None, secret: str) -> None:
    """Stripe's own check on the raw body: any `v1` may match (rotation), 300 s tolerance."""
    try:
        WebhookSignature.verify_header(body, header, secret, tolerance=TOLERANCE)
    except SignatureVerificationError as exc:
        raise Rejected(
            400, "invalid_signature", "the Stripe-Signature header does not verify"
        ) from exc


def parse(body: str) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise Rejected(400, "malformed_json", "the body is not valid JSON") from exc
    if not (
        isinstance(payload, dict)
        and isinstance(payload.get("id"), str)
        and isinstance(payload.get("type"), str)
        and isinstance(payload.get("created"), int)
        and isinstance(payload.get("data"), dict)
        and len(payload["id"]) <= 255
        and len(payload["type"]) <= 100
    ):
        raise Rejected(
            400, "not_an_event", "the body is not a Stripe event (id, type, created, data)"
        )
    return payload


def _answer(stored: Stored, orphaned: bool) -> JSONResponse:
    answer: dict[str, Any] = {
        "received": True,
        "stored": len(stored.event_ids),
        "duplicates": stored.duplicates,
    }
    if orphaned:  # recorded for no workspace: no live connection claims the account
        answer["orphaned"] = True
    response = JSONResponse(answer)
    # For core.metrics, which counts deliveries by outcome without reading the body again.
    response.outcome = (  # type: ignore[attr-defined]
        "duplicate"
        if stored.duplicates and not stored.event_ids
        else "orphaned"
        if orphaned
        else "stored"
    )
    return response


async def _store(
    runtime: Runtime, payload: dict[str, Any], targets: list[Target], body: str
) -> JSONResponse:
    try:
        stored = await store_event(runtime, payload, targets, body)
    except Exception:
        # Nothing was committed for this delivery: Stripe retries a non-2xx answer.
        log.exception("could not store Stripe event %s", payload.get("id"))
        return Rejected(503, "not_stored", "the event could not be stored; retry later").response()
    return _answer(stored, orphaned=all(t.workspace_id is None for t in targets))


@observe_intake
async def connect_webhook(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    secret = runtime.settings.stripe_connect_webhook_secret
    try:
        if not secret:
            raise Rejected(
                404, "not_configured", "SECONDLOOP_STRIPE_CONNECT_WEBHOOK_SECRET is not set"
            )
        body = text_of(await read_body(request, runtime.settings.max_webhook_body))
        try:
            verify(body, request.headers.get("stripe-signature"), secret)
        except Rejected:
            log.warning("Connect webhook with an invalid signature")
            raise
        payload = parse(body)
        account_id = payload.get("account")
        if not isinstance(account_id, str) or not account_id:
            raise Rejected(400, "no_account", "a Connect event names its `account`")
    except Rejected as rejected:
        return rejected.response()
    with unscoped():
        workspaces: list[Any] = list(
            await StripeAccount.filter(stripe_account_id=account_id, mode=ConnectionMode.OAUTH)
            .exclude(status=ConnectionStatus.REVOKED)
            .values_list("workspace_id", flat=True)
        )
    targets = [Target(int(ws), account_id, "connect") for ws in sorted(set(workspaces))]
    if not targets:
        log.info("orphaned event %s for unknown or revoked account %s", payload["id"], account_id)
    return await _store(runtime, payload, targets or [Target(None, account_id, "connect")], body)


@observe_intake
async def account_webhook(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    token = request.path_params["token"]
    try:
        endpoint = await endpoint_for(runtime, token)
        if endpoint is None:
            raise Rejected(404, "unknown_endpoint", "no Stripe connection has this webhook URL")
        body = text_of(await read_body(request, runtime.settings.max_webhook_body))
        endpoint = await _verified(runtime, endpoint, token, body, request.headers)
        payload = parse(body)
    except Rejected as rejected:
        return rejected.response()
    workspace_id = endpoint.workspace_id if endpoint.live else None
    target = Target(workspace_id, endpoint.stripe_account_id, "account")
    return await _store(runtime, payload, [target], body)


async def _verified(
    runtime: Runtime, endpoint: Endpoint, token: str, body: str, headers: Headers
) -> Endpoint:
    """Verify against the (possibly cached) secrets; on failure once more against a fresh read,
    so a secret rotated a moment ago is honoured. Failures are counted on the account."""
    signature = headers.get("stripe-signature")
    for attempt in range(2):
        if attempt:
            fresh = await endpoint_for(runtime, token, fresh=True)
            if fresh is None:
                raise Rejected(404, "unknown_endpoint", "no Stripe connection has this webhook URL")
            endpoint = fresh
        secrets = endpoint.secrets(runtime.now())
        if not secrets:
            raise Rejected(400, "no_secret", "this connection has no webhook signing secret yet")
        # The current secret, then (after a rotation, for its grace window) the previous one.
        for secret in secrets:
            try:
                verify(body, signature, secret)
                return endpoint
            except Rejected as rejected:
                failed = rejected
        if attempt:
            await _count_signature_failure(runtime, endpoint.account_id)
            raise failed
    raise AssertionError("unreachable")


async def _count_signature_failure(runtime: Runtime, account_id: int) -> None:
    log.warning("webhook with an invalid signature for Stripe connection %s", account_id)
    with unscoped():
        await StripeAccount.filter(id=account_id).update(
            signature_failures=F("signature_failures") + 1,
            last_signature_failure_at=runtime.now(),
        )
