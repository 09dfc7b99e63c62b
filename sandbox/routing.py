"""The request pipeline every ``/v1`` route goes through.

Authentication, rate limit, ``Stripe-Account``, restricted-key permissions, parameter
parsing, idempotency, the handler, ``expand[]``, Stripe's error body and headers — in that
order. Handlers are plain synchronous functions ``(ctx) -> dict``: they run on the event
loop without awaiting, so each request sees and leaves the store consistent.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox import API_VERSION
from sandbox.context import Ctx
from sandbox.errors import (
    StripeError,
    api_error,
    authentication,
    idempotency_mismatch,
    invalid_request,
    permission,
    rate_limited,
)
from sandbox.expand import expand
from sandbox.forms import Params, parse_pairs
from sandbox.keys import ApiKey, redact
from sandbox.state import Account, IdempotentResult, SandboxState

log = logging.getLogger("sandbox")

Handler = Callable[[Ctx], Any]
_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$")
IDEMPOTENCY_TTL = 24 * 3600.0


@dataclass(frozen=True)
class ApiRoute:
    """One Stripe endpoint: ``resource`` names the restricted-key permission it needs."""

    method: str
    path: str
    handler: Handler
    resource: str
    # Publishable keys (pk_test_) may call this endpoint too, as Stripe.js does.
    publishable: bool = False


class RateLimiter:
    """A token bucket per API key; rate from state.rate_limits[key] or the config."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.buckets: dict[str, tuple[float, float]] = {}

    def check(self, secret: str) -> None:
        rate = self.state.rate_limits.get(secret, self.state.config.rate_limit)
        if rate is None:
            return
        now = time.monotonic()
        tokens, last = self.buckets.get(secret, (rate, now))
        tokens = min(rate, tokens + (now - last) * rate)
        if tokens < 1.0:
            self.buckets[secret] = (tokens, now)
            raise rate_limited()
        self.buckets[secret] = (tokens - 1.0, now)


def bearer_secret(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() == "basic":
        try:
            user = base64.b64decode(value).decode()
        except ValueError:
            return None
        return user.split(":", 1)[0] or None
    return None


def authenticate(state: SandboxState, request: Request) -> ApiKey:
    secret = bearer_secret(request)
    if secret is None:
        raise authentication(
            "You did not provide an API key. You need to provide your API key in the "
            "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
            "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, "
            "or we can help at https://support.stripe.com/."
        )
    key = state.keys.get(secret)
    if key is None:
        raise authentication(f"Invalid API Key provided: {redact(secret)}")
    if key.expired:
        raise authentication(f"Expired API Key provided: {redact(secret)}")
    if key.revoked:
        raise authentication(
            f"The provided key '{redact(secret)}' does not have access to account "
            f"'{key.account_id}' (or that account does not exist). Application access may "
            "have been revoked."
        )
    return key


def resolve_account(state: SandboxState, key: ApiKey, header: str | None) -> Account:
    own = state.accounts[key.account_id]
    if not header or header == key.account_id:
        return own
    target = state.accounts.get(header)
    if target is None or target.platform != key.account_id or not key.is_platform_capable:
        raise permission(
            f"The provided key '{redact(key.secret)}' does not have access to account "
            f"'{header}' (or that account does not exist). Application access may have been "
            "revoked.",
            code="account_invalid",
        )
    return target


async def read_params(request: Request) -> tuple[Params, str]:
    if request.method in ("GET", "DELETE"):
        raw = request.url.query
    else:
        raw = (await request.body()).decode()
        if request.url.query:
            raw = f"{request.url.query}&{raw}" if raw else request.url.query
    pairs = parse_qsl(raw, keep_blank_values=True)
    return Params(parse_pairs(pairs)), json.dumps(sorted(pairs))


def json_response(
    body: Any, status: int, request_id: str, extra: dict[str, str] | None = None
) -> Response:
    headers = {"Request-Id": request_id, "Stripe-Version": API_VERSION}
    if extra:
        headers.update(extra)
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Response(content, status, headers=headers, media_type="application/json")


class Pipeline:
    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.limiter = RateLimiter(state)
        self._next_prune = time.time() + 600

    def _remember(self, record: tuple[str, str], result: IdempotentResult) -> None:
        # The SDK sends a key with every POST: drop expired ones now and then so a long-lived
        # sandbox does not keep every response it ever gave.
        store = self.state.idempotency
        store[record] = result
        if result.created >= self._next_prune:
            self._next_prune = result.created + 600
            horizon = result.created - IDEMPOTENCY_TTL
            for key in [k for k, v in store.items() if v.created < horizon]:
                del store[key]

    async def handle(self, request: Request, route: ApiRoute) -> Response:
        state = self.state
        request_id = state.ids.token("req")
        idem_key = request.headers.get("idempotency-key") if request.method == "POST" else None
        extra: dict[str, str] = {}
        record: tuple[str, str] | None = None
        fingerprint: tuple[str, str, str] | None = None
        try:
            version = request.headers.get("stripe-version")
            if version and not _VERSION.match(version):
                raise invalid_request(f"Invalid Stripe API version: {version}")
            key = authenticate(state, request)
            self.limiter.check(key.secret)
            account = resolve_account(state, key, request.headers.get("stripe-account"))
            if not (route.publishable and key.kind == "publishable"):
                key.require(route.resource, request.method != "GET", account.id)
            params, canonical = await read_params(request)
            if idem_key:
                extra["Idempotency-Key"] = idem_key
                record = (account.id, idem_key)
                fingerprint = (request.method, request.url.path, canonical)
                previous = state.idempotency.get(record)
                if previous is not None and time.time() - previous.created < IDEMPOTENCY_TTL:
                    if previous.fingerprint != fingerprint:
                        raise idempotency_mismatch(idem_key)
                    extra["Idempotent-Replayed"] = "true"
                    extra["Original-Request"] = previous.request_id
                    return json_response(previous.body, previous.status, request_id, extra)
            ctx = Ctx(
                state,
                account,
                params,
                path=dict(request.path_params),
                url=str(request.url),
                request_id=request_id,
                idempotency_key=idem_key,
                key=key,
            )
            body = route.handler(ctx)
            expansions = params.expand()
            if expansions:
                body = expand(ctx, body, expansions)
            status, payload = 200, json.dumps(body).encode()
        except StripeError as exc:
            status, payload = exc.status, json.dumps(exc.body()).encode()
            extra.update(exc.headers)
            # Validation failures are not saved: Stripe only stores requests that executed.
            if status in (400, 401, 403, 404, 429):
                record = None
        except Exception:
            log.exception("sandbox handler failed: %s %s", request.method, request.url.path)
            err = api_error()
            status, payload = err.status, json.dumps(err.body()).encode()
        if record is not None and fingerprint is not None:
            self._remember(
                record, IdempotentResult(fingerprint, status, payload, request_id, time.time())
            )
        return json_response(payload, status, request_id, extra)


def build_routes(pipeline: Pipeline, api_routes: list[ApiRoute]) -> list[Route]:
    """Group ApiRoutes by path into Starlette routes, then a Stripe-style 404 catch-all."""
    by_path: dict[str, dict[str, ApiRoute]] = {}
    for r in api_routes:
        by_path.setdefault(r.path, {})[r.method] = r

    def make(table: dict[str, ApiRoute]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            route = table.get(request.method)
            if route is None:
                return unrecognized(pipeline.state, request)
            return await pipeline.handle(request, route)

        return endpoint

    routes = [
        Route(path, make(table), methods=["GET", "POST", "DELETE"])
        for path, table in by_path.items()
    ]

    async def fallback(request: Request) -> Response:
        return unrecognized(pipeline.state, request)

    routes.append(Route("/v1/{rest:path}", fallback, methods=["GET", "POST", "DELETE"]))
    return routes


def unrecognized(state: SandboxState, request: Request) -> Response:
    err = StripeError(
        404,
        "invalid_request_error",
        f"Unrecognized request URL ({request.method}: {request.url.path}). Please see "
        "https://stripe.com/docs or we can help at https://support.stripe.com/.",
    )
    return json_response(err.body(), 404, state.ids.token("req"))
