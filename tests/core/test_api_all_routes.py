"""Every /api/v1 endpoint of every installed plugin: keyless calls get 401 JSON, and the
OpenAPI document lists each one."""

from __future__ import annotations

import re

import httpx

from core.api.keys import create_key
from core.contributions import ApiRoute
from core.models import Workspace
from core.runtime import Runtime

PARAM = re.compile(r"{([a-zA-Z_]+)(?::([a-z]+))?}")


def concrete(path: str) -> str:
    return PARAM.sub(lambda m: "1" if m.group(2) == "int" else "x", path)


async def test_every_endpoint_needs_a_key_and_is_documented(
    app: object, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    routes: list[ApiRoute] = runtime.host.collect("register_api_routes")
    doc = (await client.get("/api/v1/openapi.json")).json()
    assert routes
    for route in routes:
        for method in route.methods:
            response = await client.request(method, "/api/v1" + concrete(route.path))
            assert response.status_code == 401, (method, route.path)
            assert response.json()["error"]["code"] == "unauthorized"
            assert method.lower() in doc["paths"][PARAM.sub(r"{\1}", route.path)]


async def test_read_keys_cannot_call_any_write_endpoint(
    app: object, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    ws = await Workspace.create(name="A", slug="a")
    read = await create_key(runtime, ws.id, "read")
    headers = {"Authorization": f"Bearer {read.secret}"}
    routes: list[ApiRoute] = runtime.host.collect("register_api_routes")
    for route in routes:
        for method in route.methods:
            if method in {"GET", "HEAD"} and route.scope == "read":
                continue
            response = await client.request(
                method, "/api/v1" + concrete(route.path), headers=headers, json={}
            )
            assert response.status_code == 403, (method, route.path)
