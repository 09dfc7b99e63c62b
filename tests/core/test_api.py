"""The /api/v1 mount: API-key auth, scopes, workspace isolation, JSON errors, OpenAPI."""

from __future__ import annotations

import types
from typing import Any

import httpx
import pytest
from starlette.requests import Request

from core.api import ApiError
from core.api.keys import create_key, revoke_key
from core.contributions import ApiRoute
from core.email import send_email
from core.models import ApiKey, OutboundEmail, Workspace
from core.plugins import hookimpl
from core.runtime import Runtime
from core.settings import Settings
from core.tenancy import current_workspace_id, unscoped


async def whoami(request: Request, workspace_id: int) -> dict[str, Any]:
    """Which workspace the key is bound to."""
    return {"workspace_id": workspace_id, "scope_active": current_workspace_id()}


async def email_subject(request: Request, workspace_id: int) -> dict[str, Any]:
    """Read one tenant-owned row through the scoped manager."""
    row = await OutboundEmail.get(id=request.path_params["id"])
    return {"subject": row.subject}


async def teapot(request: Request, workspace_id: int) -> None:
    raise ApiError(418, "teapot", "short and stout")


async def crash(request: Request, workspace_id: int) -> None:
    raise RuntimeError("boom: secret detail")


async def touch(request: Request, workspace_id: int) -> dict[str, bool]:
    return {"ok": True}


plugin = types.SimpleNamespace(
    register_api_routes=hookimpl(
        lambda: [
            ApiRoute("/test/whoami", whoami, name="whoami"),
            ApiRoute("/test/emails/{id:int}", email_subject, name="email_subject"),
            ApiRoute("/test/teapot", teapot, name="teapot"),
            ApiRoute("/test/crash", crash, name="crash"),
            ApiRoute(
                "/test/touch",
                touch,
                methods=("POST",),
                scope="write",
                name="touch",
                operation={"summary": "Touch something"},
            ),
        ]
    )
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(plugins=())


@pytest.fixture
def extra_plugins() -> list[tuple[str, object]]:
    return [("api-test", plugin)]


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def _two_workspaces(runtime: Runtime) -> tuple[Workspace, Workspace]:
    return (await Workspace.create(name="A", slug="a"), await Workspace.create(name="B", slug="b"))


async def test_missing_bad_and_revoked_keys_get_401_json(
    app: object, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    a, _ = await _two_workspaces(runtime)
    new = await create_key(runtime, a.id, "read")
    for headers in (
        {},
        bearer("sl_not-a-real-key"),
        {"Authorization": "Basic abc"},
        {"Authorization": new.secret},
    ):
        response = await client.get("/api/v1/test/whoami", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
        assert response.headers["www-authenticate"] == "Bearer"

    ok = await client.get("/api/v1/test/whoami", headers=bearer(new.secret))
    assert ok.status_code == 200
    assert ok.json() == {"workspace_id": a.id, "scope_active": a.id}
    with unscoped():
        stored = await ApiKey.get(id=new.key.id)
    assert stored.last_used_at is not None
    assert new.secret not in {stored.key_hash, stored.prefix} and new.secret.startswith(
        stored.prefix
    )

    assert await revoke_key(runtime, a.id, new.key.id)
    revoked = await client.get("/api/v1/test/whoami", headers=bearer(new.secret))
    assert revoked.status_code == 401


async def test_read_key_cannot_write(
    app: object, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    a, _ = await _two_workspaces(runtime)
    read = await create_key(runtime, a.id, "read")
    write = await create_key(runtime, a.id, "write")
    denied = await client.post("/api/v1/test/touch", headers=bearer(read.secret))
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "forbidden"
    allowed = await client.post("/api/v1/test/touch", headers=bearer(write.secret))
    assert allowed.status_code == 200 and allowed.json() == {"ok": True}
    also = await client.post(
        "/api/v1/suppressions", headers=bearer(read.secret), json={"email": "x@example.com"}
    )
    assert also.status_code == 403


async def test_a_key_of_workspace_a_cannot_read_b(
    app: object, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    a, b = await _two_workspaces(runtime)
    mail_b = await send_email(
        runtime,
        workspace_id=b.id,
        to="x@example.com",
        subject="B only",
        text="t",
        idempotency_key="k",
    )
    key_a = await create_key(runtime, a.id, "write")
    key_b = await create_key(runtime, b.id, "read")

    mine = await client.get(f"/api/v1/test/emails/{mail_b.id}", headers=bearer(key_b.secret))
    assert mine.status_code == 200 and mine.json() == {"subject": "B only"}
    theirs = await client.get(f"/api/v1/test/emails/{mail_b.id}", headers=bearer(key_a.secret))
    assert theirs.status_code == 404 and theirs.json()["error"]["code"] == "not_found"

    # The core's own email endpoints too.
    assert (
        await client.get(f"/api/v1/emails/{mail_b.id}", headers=bearer(key_a.secret))
    ).status_code == 404
    listed = await client.get("/api/v1/emails", headers=bearer(key_a.secret))
    assert listed.status_code == 200 and listed.json() == {"data": [], "has_more": False}
    listed_b = await client.get("/api/v1/emails", headers=bearer(key_b.secret))
    assert [row["subject"] for row in listed_b.json()["data"]] == ["B only"]

    added = await client.post(
        "/api/v1/suppressions", headers=bearer(key_a.secret), json={"email": "Gone@Example.com"}
    )
    assert added.status_code == 201 and added.json()["email"] == "gone@example.com"
    again = await client.post(
        "/api/v1/suppressions", headers=bearer(key_a.secret), json={"email": "gone@example.com"}
    )
    assert again.status_code == 200
    only_b = await client.get("/api/v1/suppressions", headers=bearer(key_b.secret))
    assert only_b.json() == {"data": [], "has_more": False}
    row_id = added.json()["id"]
    key_b_write = await create_key(runtime, b.id, "write")
    not_theirs = await client.delete(
        f"/api/v1/suppressions/{row_id}", headers=bearer(key_b_write.secret)
    )
    assert not_theirs.status_code == 404
    removed = await client.delete(f"/api/v1/suppressions/{row_id}", headers=bearer(key_a.secret))
    assert removed.status_code == 204
    listed_a = await client.get("/api/v1/suppressions", headers=bearer(key_a.secret))
    assert listed_a.json() == {"data": [], "has_more": False}


async def test_errors_are_json(app: object, runtime: Runtime, client: httpx.AsyncClient) -> None:
    a, _ = await _two_workspaces(runtime)
    key = await create_key(runtime, a.id, "write")
    auth = bearer(key.secret)

    missing = await client.get("/api/v1/no/such/thing", headers=auth)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    wrong_method = await client.delete("/api/v1/test/whoami", headers=auth)
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"
    invalid = await client.post("/api/v1/suppressions", headers=auth, content=b"{not json")
    assert invalid.status_code == 422 and invalid.json()["error"]["code"] == "invalid_json"
    bad_email = await client.post("/api/v1/suppressions", headers=auth, json={"email": 3})
    assert bad_email.status_code == 422
    teapot_ = await client.get("/api/v1/test/teapot", headers=auth)
    assert teapot_.status_code == 418 and teapot_.json() == {
        "error": {"code": "teapot", "message": "short and stout"}
    }
    crashed = await client.get("/api/v1/test/crash", headers=auth)
    assert crashed.status_code == 500
    assert crashed.json() == {"error": {"code": "internal_error", "message": "internal error"}}


async def test_openapi_lists_every_route(
    app: object, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    response = await client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"].startswith("3.1")
    assert doc["components"]["securitySchemes"]["apiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": doc["components"]["securitySchemes"]["apiKey"]["description"],
    }
    routes: list[ApiRoute] = runtime.host.collect("register_api_routes")
    assert len(routes) >= 5
    for route in routes:
        path = route.path.replace("{id:int}", "{id}")
        for method in route.methods:
            assert method.lower() in doc["paths"][path], (path, method)
    touch_op = doc["paths"]["/test/touch"]["post"]
    assert touch_op["summary"] == "Touch something" and touch_op["x-scope"] == "write"
    by_id = doc["paths"]["/test/emails/{id}"]["get"]
    assert by_id["parameters"][0] == {
        "name": "id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer"},
    }
    assert "401" in by_id["responses"]


async def test_lists_page_by_cursor(
    app: object, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    a, _ = await _two_workspaces(runtime)
    for n in range(5):
        await send_email(runtime, workspace_id=a.id, to=f"p{n}@example.com", subject=f"S{n}",
                         text="t", idempotency_key=f"p{n}")
    auth = bearer((await create_key(runtime, a.id, "read")).secret)
    first = (await client.get("/api/v1/emails?limit=2", headers=auth)).json()
    assert [row["subject"] for row in first["data"]] == ["S4", "S3"] and first["has_more"]
    cursor = first["data"][-1]["id"]
    second = (await client.get(f"/api/v1/emails?limit=2&starting_after={cursor}",
                               headers=auth)).json()
    assert [row["subject"] for row in second["data"]] == ["S2", "S1"] and second["has_more"]
    last = (await client.get(f"/api/v1/emails?starting_after={second['data'][-1]['id']}",
                             headers=auth)).json()
    assert [row["subject"] for row in last["data"]] == ["S0"] and not last["has_more"]
    bad = await client.get("/api/v1/emails?limit=many", headers=auth)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_request"
    sent = (await client.get("/api/v1/emails?status=sent&limit=200", headers=auth)).json()
    assert len(sent["data"]) == 5
    unknown = await client.get("/api/v1/emails?status=lost", headers=auth)
    assert unknown.status_code == 422
