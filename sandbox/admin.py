"""``/_sandbox/*``: the sandbox's own JSON API for tests, the demo and operators.

Not part of Stripe's API and not authenticated: the sandbox only ever listens locally.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.accounts import provision_account
from sandbox.context import Ctx
from sandbox.events import queue_deliveries, target_endpoints
from sandbox.keys import RESOURCES
from sandbox.payment_methods import set_behaviour
from sandbox.scheduler import run_due
from sandbox.state import SandboxState


def _error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": {"type": "invalid_request_error", "message": message}}, status)


class BadRequest(ValueError):
    """A /_sandbox request the helper cannot act on: answered 400 with the message."""


async def read_json(request: Request) -> dict[str, Any]:
    """The request's JSON object (``{}`` for an empty body); BadRequest otherwise."""
    body = await request.body()
    if not body:
        return {}
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest(f"Malformed JSON body: {exc}.") from None
    if not isinstance(data, dict):
        raise BadRequest("The body must be a JSON object.")
    return data


Endpoint = Callable[[Request], Awaitable[Response]]


def answers_400(endpoint: Endpoint) -> Endpoint:
    """Malformed JSON, or a value of the wrong type (``"rate": "fast"``), answers 400 with
    what was wrong instead of a 500."""

    @functools.wraps(endpoint)
    async def guarded(request: Request) -> Response:
        try:
            return await endpoint(request)
        except BadRequest as exc:
            return _error(str(exc))
        except (ValueError, TypeError) as exc:
            return _error(f"Invalid value in the request: {exc}")

    return guarded


class AdminRoutes:
    def __init__(self, state: SandboxState, persist: Any = None) -> None:
        self.state = state
        self.persist = persist

    def routes(self) -> list[Route]:
        def r(path: str, endpoint: Endpoint, methods: list[str]) -> Route:
            return Route(path, answers_400(endpoint), methods=methods)

        return [
            r("/_sandbox/health", self.health, methods=["GET"]),
            r("/_sandbox/platform", self.platform, methods=["GET"]),
            r("/_sandbox/accounts", self.create_account, methods=["POST"]),
            r("/_sandbox/accounts", self.list_accounts, methods=["GET"]),
            r("/_sandbox/keys", self.create_key, methods=["POST"]),
            r("/_sandbox/keys/roll", self.roll_key, methods=["POST"]),
            r("/_sandbox/clock", self.clock, methods=["GET"]),
            r("/_sandbox/clock/advance", self.advance_clock, methods=["POST"]),
            r("/_sandbox/deliveries", self.deliveries, methods=["GET"]),
            r("/_sandbox/delivery_options", self.delivery_options, methods=["GET", "POST"]),
            r("/_sandbox/events/{id}/resend", self.resend, methods=["POST"]),
            r("/_sandbox/rate_limits", self.rate_limits, methods=["POST"]),
            r("/_sandbox/payment_methods/{id}/behaviour", self.card_behaviour, methods=["POST"]),
            r("/_sandbox/persist", self.save, methods=["POST"]),
        ]

    async def health(self, request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def platform(self, request: Request) -> Response:
        platform = self.state.platform
        return JSONResponse(
            {
                "id": platform.id,
                "secret_key": platform.secret_key,
                "publishable_key": platform.publishable_key,
                "client_id": self.state.client_id,
            }
        )

    async def create_account(self, request: Request) -> Response:
        data = await read_json(request)
        result = provision_account(
            self.state,
            name=data.get("name"),
            email=data.get("email"),
            country=str(data.get("country") or "US"),
            currency=str(data.get("default_currency") or data.get("currency") or "usd").lower(),
            connected=bool(data.get("connected", True)),
        )
        return JSONResponse(result)

    async def list_accounts(self, request: Request) -> Response:
        return JSONResponse(
            {
                "data": [
                    {
                        "id": a.id,
                        "name": a.obj["business_profile"]["name"],
                        "email": a.obj["email"],
                        "platform": a.platform,
                        "is_platform": a.is_platform,
                        "objects": len(a.store.objects),
                    }
                    for a in self.state.accounts.values()
                ]
            }
        )

    async def create_key(self, request: Request) -> Response:
        data = await read_json(request)
        account_id = data.get("account") or self.state.platform_id
        if account_id not in self.state.accounts:
            return _error(f"No such account: {account_id}", 404)
        permissions = data.get("permissions") or {}
        if not isinstance(permissions, dict):
            raise BadRequest(
                'permissions must be a JSON object, e.g. {"customers": "read"}; resources: '
                + ", ".join(RESOURCES)
            )
        for resource, access in permissions.items():
            if resource not in RESOURCES or access not in ("none", "read", "write"):
                return _error(f"Invalid permission {resource}={access}; resources: {RESOURCES}")
        key = self.state.mint_key(account_id, "restricted", permissions)
        return JSONResponse(
            {"secret": key.secret, "account": account_id, "permissions": key.permissions}
        )

    async def roll_key(self, request: Request) -> Response:
        """``{"key": "sk_…"}``: what the account owner does with Roll key (expiring now) in the
        Dashboard — the key stops working at once; a replacement with the same access is
        returned. Rolling an OAuth access token leaves the platform its refresh token."""
        data = await read_json(request)
        old = self.state.keys.get(str(data.get("key") or ""))
        if old is None or old.kind == "publishable":
            return _error("No such secret or restricted key.", 404)
        old.expired = True
        prefix = old.secret.split("_", 2)
        new = self.state.mint_key(
            old.account_id,
            old.kind,
            dict(old.permissions),
            issued_to=old.issued_to,
            prefix="_".join(prefix[:2]) if len(prefix) == 3 else None,
        )
        return JSONResponse({"secret": new.secret, "account": new.account_id, "rolled": True})

    async def clock(self, request: Request) -> Response:
        return JSONResponse({"now": self.state.clock.now()})

    async def advance_clock(self, request: Request) -> Response:
        data = await read_json(request)
        now = self.state.clock.now()
        seconds = int(data["to"]) - now if "to" in data else int(data.get("seconds", 0))
        if seconds < 0:
            return _error("The sandbox clock only moves forward.")
        now = self.state.clock.advance(seconds)
        ran = 0
        for account_id, clock in self.state.timers.clocks_with_timers():
            if clock is None:
                ran += run_due(self.state, account_id, None, now)
        return JSONResponse({"now": now, "timers_run": ran})

    async def deliveries(self, request: Request) -> Response:
        q = request.query_params
        filters = {k: q[k] for k in ("event", "endpoint", "type", "account") if k in q}
        entries = [
            e for e in self.state.delivery_log if all(e.get(k) == v for k, v in filters.items())
        ]
        if q.get("limit", "").isdigit():
            entries = entries[-int(q["limit"]) :] if int(q["limit"]) else []
        pending = [
            {
                "id": d.id,
                "event": d.event_id,
                "endpoint": d.endpoint_id,
                "attempt": d.attempt,
                "due": d.due,
            }
            for d in sorted(self.state.outbox)
        ]
        return JSONResponse({"data": entries, "pending": pending})

    async def resend(self, request: Request) -> Response:
        """Deliver an event again (like ``stripe events resend``), to one endpoint or all."""
        data = await read_json(request)
        account = self.state.accounts.get(str(data.get("account") or self.state.platform_id))
        if account is None:
            return _error("No such account", 404)
        event = account.store.get(request.path_params["id"])
        if event is None or event["object"] != "event":
            return _error(f"No such event: {request.path_params['id']}", 404)
        targets = target_endpoints(self.state, account, event["type"])
        if data.get("endpoint"):
            targets = [t for t in targets if t[1]["id"] == data["endpoint"]]
            if not targets:
                return _error("That endpoint does not receive this event.", 404)
        queue_deliveries(self.state, account, event, targets)
        return JSONResponse({"event": event["id"], "endpoints": [t[1]["id"] for t in targets]})

    async def delivery_options(self, request: Request) -> Response:
        options = self.state.delivery_options
        if request.method == "POST":
            data = await read_json(request)
            for name in ("duplicate", "reorder", "reorder_window", "delay", "paused"):
                if name in data:
                    setattr(options, name, type(getattr(options, name))(data[name]))
            if "retry_schedule" in data:
                schedule = data["retry_schedule"]
                options.retry_schedule = tuple(float(s) for s in schedule) if schedule else None
            self.state.wake_outbox()
        return JSONResponse(options.as_dict())

    async def rate_limits(self, request: Request) -> Response:
        data = await read_json(request)
        rate = data.get("rate")
        key = data.get("key")
        if rate is not None and (isinstance(rate, bool) or not isinstance(rate, int | float)):
            raise BadRequest(f"rate must be a number of requests per second or null, not {rate!r}.")
        if key:
            self.state.rate_limits[str(key)] = float(rate) if rate is not None else None
        else:
            self.state.config.rate_limit = float(rate) if rate is not None else None
        return JSONResponse({"key": key, "rate": rate})

    async def card_behaviour(self, request: Request) -> Response:
        data = await read_json(request)
        account = self.state.accounts.get(str(data.pop("account", self.state.platform_id)))
        if account is None:
            return _error("No such account", 404)
        try:
            behaviour = set_behaviour(Ctx(self.state, account), request.path_params["id"], **data)
        except TypeError as exc:
            return _error(str(exc))
        except Exception as exc:
            return _error(str(exc), 404)
        return JSONResponse(behaviour.as_dict())

    async def save(self, request: Request) -> Response:
        if self.persist is None or not self.state.config.state_file:
            return _error("No --state file configured.")
        self.persist()
        return JSONResponse({"saved": self.state.config.state_file})
