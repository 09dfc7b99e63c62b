"""The audit API's OpenAPI schemas name every figure a finished run returns, and the list
pages with a cursor."""

from __future__ import annotations

from typing import Any

import httpx

from core.api.keys import create_key
from core.runtime import Runtime
from core.tenancy import workspace_scope
from plugins.audit.models import AuditRun, RunStatus
from tests.plugins.audit.support import connect

TYPES = {
    "object": dict,
    "array": list,
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "null": type(None),
}


def mismatches(schema: dict[str, Any], value: Any, path: str = "$") -> list[str]:
    """Where `value` leaves `schema` (the JSON Schema subset the audit's schemas use). An
    object with `properties` must have exactly those keys, so the names are pinned."""
    kinds = schema.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds] if kinds else []
    if kinds and not any(
        isinstance(value, TYPES[k]) and not (k in ("integer", "number") and value is True)
        for k in kinds
    ):
        return [f"{path}: {value!r} is not {kinds}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{path}: {value!r} not in {schema['enum']}"]
    found: list[str] = []
    if isinstance(value, dict):
        properties = schema.get("properties")
        if properties is not None:
            if set(value) - set(properties):
                found.append(f"{path}: not in the schema: {sorted(set(value) - set(properties))}")
            if set(schema.get("required", [])) - set(value):
                found.append(f"{path}: missing: {sorted(set(schema['required']) - set(value))}")
            for key, sub in properties.items():
                if key in value:
                    found += mismatches(sub, value[key], f"{path}.{key}")
        elif isinstance(schema.get("additionalProperties"), dict):
            for key, item in value.items():
                found += mismatches(schema["additionalProperties"], item, f"{path}.{key}")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            found += mismatches(schema["items"], item, f"{path}[{index}]")
    return found


def response_schema(document: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    response = document["paths"][path][method]["responses"]["200"]
    schema: dict[str, Any] = response["content"]["application/json"]["schema"]
    return schema


async def test_a_finished_run_has_exactly_the_figures_its_schema_names(
    app: Any, client: httpx.AsyncClient, runtime: Runtime, seeded: Any, drain: Any
) -> None:
    workspace = await connect(runtime, seeded[1].businesses[1], "acme")
    auth = {"Authorization": f"Bearer {(await create_key(runtime, workspace.id, 'write')).secret}"}
    started = (await client.post("/api/v1/audit/runs", headers=auth)).json()
    await drain()
    run = (await client.get(f"/api/v1/audit/runs/{started['id']}", headers=auth)).json()
    assert run["status"] == "done" and run["results"]["disputes"]["nearest_deadlines"]
    document = (await client.get("/api/v1/openapi.json", headers=auth)).json()

    schema = response_schema(document, "/audit/runs/{id}", "get")
    assert mismatches(schema, run) == []
    assert response_schema(document, "/audit/runs", "post") == schema
    # The headline figures an integration reads are named in the document itself.
    results = schema["properties"]["results"]["properties"]
    failed = results["failed_invoices"]["properties"]
    assert {"count", "amount", "recoverable", "lost", "mrr_exposed"} <= set(failed)
    assert "months" in results["expiring_cards"]["properties"]
    assert "open" in results["disputes"]["properties"]
    # The checker has teeth: a renamed figure fails it.
    renamed = {**run, "results": {**run["results"], "failed": run["results"]["failed_invoices"]}}
    del renamed["results"]["failed_invoices"]
    assert len(mismatches(schema, renamed)) == 2

    listed = (await client.get("/api/v1/audit/runs", headers=auth)).json()
    assert mismatches(response_schema(document, "/audit/runs", "get"), listed) == []


async def test_the_list_pages_with_a_cursor_and_refuses_a_bad_limit(
    app: Any, client: httpx.AsyncClient, runtime: Runtime, seeded: Any
) -> None:
    workspace = await connect(runtime, seeded[1].businesses[1], "acme")
    auth = {"Authorization": f"Bearer {(await create_key(runtime, workspace.id, 'read')).secret}"}
    with workspace_scope(workspace.id):
        ids = [
            (await AuditRun.create(stripe_account_id="acct_x", status=RunStatus.DONE)).id
            for _ in range(3)
        ]
    first = (await client.get("/api/v1/audit/runs?limit=2", headers=auth)).json()
    assert [r["id"] for r in first["data"]] == ids[:0:-1] and first["has_more"]
    after = first["data"][-1]["id"]
    rest = (
        await client.get(f"/api/v1/audit/runs?limit=2&starting_after={after}", headers=auth)
    ).json()
    assert [r["id"] for r in rest["data"]] == [ids[0]] and not rest["has_more"]

    for query in ("limit=abc", "starting_after=x"):
        bad = await client.get(f"/api/v1/audit/runs?{query}", headers=auth)
        assert bad.status_code == 422, query
        assert bad.json()["error"]["code"] == "invalid_request"
        assert "must be an integer" in bad.json()["error"]["message"]


async def test_a_body_that_is_not_json_is_refused(
    app: Any, client: httpx.AsyncClient, runtime: Runtime, seeded: Any
) -> None:
    workspace = await connect(runtime, seeded[1].businesses[1], "acme")
    auth = {"Authorization": f"Bearer {(await create_key(runtime, workspace.id, 'write')).secret}"}
    for body, message in (
        ("{nope", "not valid JSON"),
        ('{"stripe_account": "acct_1"}', "stripe_account must be"),
    ):
        answer = await client.post("/api/v1/audit/runs", content=body, headers=auth)
        assert answer.status_code == 422 and message in answer.json()["error"]["message"]
