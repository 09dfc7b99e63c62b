"""Cross-workspace access on every route, found by walking the app's route table.

A victim workspace gets real data through the real paths (its own Stripe account in the
sandbox, failed-invoice webhooks, recovery on, an audit run, API keys). An attacker signed in
to another workspace then calls every route and API endpoint that takes an id with each id the
victim's rows have (and the attacker's rows do not): nothing may answer 2xx, redirect as if it
acted, or change a single victim row. Pages without ids must not show the victim's data. A new
route is covered the day it is added.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.routing import BaseRoute, Mount, Route
from tortoise import Tortoise

from core.api.keys import KEY_PREFIX, VISIBLE, create_key
from core.crypto import hash_token, new_token
from core.events.testing import WEBHOOK_SECRET, connected_account, signed
from core.models import ApiKey, Workspace
from core.models.accounts import ConnectionMode, ConnectionStatus, StripeAccount
from core.models.api_keys import ApiScope
from core.models.workspaces import Membership, Role, User
from core.runtime import Runtime
from core.settings import Settings
from core.stripe.access import seal
from core.tenancy import TenantModel, unscoped, workspace_scope
from core.testing.fixtures import pointed_at
from core.web.sessions import session_cookie
from sandbox.seed import seed_scenario
from sandbox.testing import RunningSandbox, running_sandbox

# A refusal: bad input, not allowed, not found. Anything else for another workspace's id leaks.
REFUSED = {400, 403, 404, 405, 409, 422}
HIGH = 1_000_000
CSRF = "tenancy-walk-csrf-token-0123456789"
# The dev outbox shows every message on a development machine by design (see docs/web.md);
# links carry tokens, not ids.
NOT_TENANT_ROUTES = ("/dev/",)
VALUES_FOR_STR = {"action": "pause"}


@pytest.fixture(scope="module")
def seeded() -> Iterator[tuple[RunningSandbox, Any]]:
    with running_sandbox(seed="tenancy-walk") as sb:
        summary = sb.call(lambda: seed_scenario(sb.state, "demo", customers=30))
        yield sb, summary


@pytest.fixture
def settings(settings: Settings, seeded: Any) -> Settings:
    return pointed_at(settings, seeded[0])


def routes_of(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, Route]]:
    for route in routes:
        if isinstance(route, Mount):
            yield from routes_of(list(route.routes), prefix + route.path)
        elif isinstance(route, Route):
            yield prefix + route.path, route


def tenant_models() -> list[type[TenantModel]]:
    return [
        model
        for app in Tortoise.apps.values()
        for model in app.values()
        if issubclass(model, TenantModel) and not model._meta.abstract
    ]


async def rows_of(workspace_id: int) -> dict[str, list[dict[str, Any]]]:
    with unscoped():
        return {
            model.__name__: await model.filter(workspace_id=workspace_id).order_by("id").values()
            for model in tenant_models()
        }


def ids_in(rows: dict[str, list[dict[str, Any]]]) -> set[int]:
    return {int(row["id"]) for table in rows.values() for row in table if "id" in row}


async def victim(
    runtime: Runtime, client: httpx.AsyncClient, sb: RunningSandbox, business: Any, drain: Any
) -> int:
    """The victim's workspace, filled through the real intake, API and jobs."""
    ws = await Workspace.create(name="Victim", slug="victim")
    account, token = await connected_account(runtime, ws.id, stripe_account_id=business.account)
    seal(runtime, account, "api_key", business.restricted_key)
    with unscoped():
        await account.save()
    key = await create_key(runtime, ws.id, "write", name="victim")
    auth = {"Authorization": f"Bearer {key.secret}"}
    assert (await client.post("/api/v1/recovery/enable", headers=auth)).status_code == 200
    assert (await client.post("/api/v1/audit/runs", headers=auth, json={})).status_code in (
        200,
        201,
    )
    http, bearer = sb.http, {"Authorization": f"Bearer {business.secret_key}"}
    listed = http.get(
        "/v1/events", params={"type": "invoice.payment_failed", "limit": 100}, headers=bearer
    )
    # The failures whose invoice is still unpaid: each opens a recovery case.
    failed = [
        event
        for event in listed.json()["data"]
        if http.get(f"/v1/invoices/{event['data']['object']['id']}", headers=bearer).json()[
            "status"
        ]
        == "open"
    ][:3]
    assert failed, "the seed has unpaid failed invoices"
    for payload in failed:
        delivered = await client.post(
            f"/webhooks/stripe/{token}", **signed(payload, WEBHOOK_SECRET)
        )
        assert delivered.status_code == 200, delivered.text
    await drain()
    return ws.id


STRIPE_ID = re.compile(r"\b(?:acct|cus|in|ch|pi|pm|sub|evt|dp|re)_[A-Za-z0-9]{8,}\b")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")


def victim_markers(rows: dict[str, list[dict[str, Any]]]) -> set[str]:
    """Strings only the victim's data holds: its Stripe ids and email addresses."""
    found: set[str] = set()
    for table in rows.values():
        for row in table:
            for value in row.values():
                if isinstance(value, str):
                    found.update(STRIPE_ID.findall(value))
                    found.update(EMAIL.findall(value))
    return found - {"mallory@attacker.example"}


def fill(path: str, values: dict[str, int]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        return str(values[name]) if name in values else VALUES_FOR_STR.get(name, "x")

    return re.sub(r"\{(\w+)(?::\w+)?\}", one, path)


async def test_no_route_reaches_another_workspace(
    app: Any, runtime: Runtime, client: httpx.AsyncClient, seeded: Any, drain: Any
) -> None:
    sb, summary = seeded
    victim_id = await victim(runtime, client, sb, summary.businesses[0], drain)
    before = await rows_of(victim_id)
    print({k: len(v) for k, v in before.items() if v})
    assert sum(len(t) for t in before.values()) > 20, "the victim has data to protect"
    assert before["Case"], "the failed invoices opened recovery cases"

    # The attacker: signed in to a workspace of their own, with their own write key. Their
    # rows get ids far from the victim's, so an id the walk tries is only ever the victim's.
    attacker = await Workspace.create(id=HIGH, name="Attacker", slug="attacker")
    user = await User.create(id=HIGH, email="mallory@attacker.example")
    with workspace_scope(attacker.id):
        await Membership.create(id=HIGH, workspace_id=attacker.id, user_id=user.id, role=Role.OWNER)
        await StripeAccount.create(
            id=HIGH,
            workspace_id=attacker.id,
            stripe_account_id="acct_attacker",
            mode=ConnectionMode.RESTRICTED_KEY,
            status=ConnectionStatus.ACTIVE,
        )
    secret = new_token(KEY_PREFIX, 32)
    with unscoped():
        await ApiKey.create(
            id=HIGH,
            workspace_id=attacker.id,
            name="mallory",
            prefix=secret[:VISIBLE],
            key_hash=hash_token(secret),
            scope=ApiScope.WRITE,
            created_at=runtime.now(),
        )
    client.cookies.set(
        "sl_session",
        await session_cookie(runtime, user, workspace_id=attacker.id, csrf=CSRF),
    )
    bearer = {"Authorization": f"Bearer {secret}"}
    # Pages that make the attacker's own rows on first visit (settings) are visited first.
    for path in (
        "/app",
        "/app/settings",
        "/app/recovery/cases",
        "/app/recovery/settings",
        "/app/audit",
    ):
        seen = await client.get(path)
        assert seen.status_code == 200, (path, seen.status_code, seen.headers.get("location"))
    # Ids repeat across tables: the attacker's own sequence 3 and the victim's case step 3.
    # Every victim id is tried; an answer for an id the attacker also owns somewhere passes
    # only if it shows none of the victim's data (and no victim row changes, checked below).
    theirs = ids_in(await rows_of(attacker.id))
    targets = sorted(ids_in(before) | {victim_id})
    markers = victim_markers(before)
    assert markers

    leaks: list[str] = []
    tried = 0
    for path, route in routes_of(list(app.routes)):
        ints = [
            n for n, c in route.param_convertors.items() if type(c).__name__ == "IntegerConvertor"
        ]
        if not ints or path.startswith(NOT_TENANT_ROUTES):
            continue
        # Two ids (a case and its step): every pair of the victim's lowest ids.
        choices = [targets] if len(ints) == 1 else [targets[:12]] * len(ints)
        for combo in itertools.product(*choices):
            url = fill(path, dict(zip(ints, combo, strict=True)))
            for method in sorted((route.methods or set()) - {"HEAD"}):
                api = path.startswith("/api/")
                response = await client.request(
                    method,
                    url,
                    headers=bearer if api else {},
                    json={} if api and method != "GET" else None,
                    data={"csrf_token": CSRF} if not api and method != "GET" else None,
                )
                tried += 1
                if response.status_code in REFUSED:
                    continue
                shown = [m for m in markers if m in response.text]
                if shown or not set(combo) <= theirs:
                    leaks.append(f"{method} {url} -> {response.status_code} {shown[:3]}")
    assert tried > 500
    assert leaks == []
    assert await rows_of(victim_id) == before, "a victim row changed"

    # Pages and lists without ids show only the attacker's own data.
    for path, route in routes_of(list(app.routes)):
        if route.param_convertors or "GET" not in (route.methods or set()):
            continue
        if not path.startswith(("/app", "/api/v1")) or path.endswith("openapi.json"):
            continue
        response = await client.get(path, headers=bearer if path.startswith("/api/") else {})
        shown = [m for m in markers if m in response.text]
        assert shown == [], f"GET {path} shows the victim's {shown}"
