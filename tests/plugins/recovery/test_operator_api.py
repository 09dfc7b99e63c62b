"""Operator controls over the API: skip, resend, notes; each in the key's workspace only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from core.api.keys import create_key
from core.clock import FrozenClock
from core.email import OutboundEmail
from core.runtime import Runtime
from core.tenancy import workspace_scope
from plugins.recovery.models import CaseNote, CaseStep, RecoverySettings, StepStatus
from tests.plugins.recovery.conftest import enabled_workspace, settle
from tests.plugins.recovery.operator_support import open_case


async def test_skip_resend_and_notes_through_the_api(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock, declines: Any
) -> None:
    ws = await enabled_workspace("a")
    other = await enabled_workspace("b")
    case = await open_case(runtime, ws, clock, "in_1")
    theirs = await open_case(runtime, other, clock, "in_9")
    key = await create_key(runtime, ws, "write", name="crm")
    auth = {"Authorization": f"Bearer {key.secret}"}
    base = f"/api/v1/recovery/cases/{case.id}"

    skipped = await client.post(f"{base}/skip", headers=auth)
    assert skipped.status_code == 200, skipped.text
    assert skipped.json()["skipped"] == {"index": 1, "type": "retry"}
    with workspace_scope(ws):
        step = await CaseStep.get(case_id=case.id, index=1)
    assert step.status == StepStatus.SKIPPED and step.result["by"] == "API key crm"

    resent = await client.post(f"{base}/steps/0/resend", headers=auth)
    assert resent.status_code == 200, resent.text
    assert resent.json()["resend_of"] == 0
    await settle()
    with workspace_scope(ws):
        assert await OutboundEmail.filter(category="recovery").count() == 2
    pending = await client.post(f"{base}/steps/2/resend", headers=auth)
    assert pending.status_code == 409 and "Only an email that was sent" in pending.text
    assert (await client.post(f"{base}/steps/99/resend", headers=auth)).status_code == 404

    added = await client.post(f"{base}/notes", headers=auth, json={"body": "Spoke to Ada"})
    assert added.status_code == 200 and added.json()["author"] == "API key crm"
    assert (await client.post(f"{base}/notes", headers=auth, json={"body": 3})).status_code == 422
    assert (await client.post(f"{base}/notes", headers=auth, json={"body": " "})).status_code == 422
    notes = (await client.get(f"{base}/notes", headers=auth)).json()["data"]
    assert [n["body"] for n in notes] == ["Spoke to Ada"]
    detail = (await client.get(base, headers=auth)).json()
    assert detail["notes"][0]["author"] == "API key crm"
    first, resend = detail["timeline"][0], detail["timeline"][7]
    assert first["email"]["status"] == "sent" and first["email"]["to"] == "ada@example.test"
    assert (
        resend["config"]["resend_of"] == 0
        and resend["email"]["subject"] == first["email"]["subject"]
    )
    assert detail["timeline"][2]["email"] is None  # not sent yet

    # The other workspace's case is not found through this key, and nothing of it changes.
    there = f"/api/v1/recovery/cases/{theirs.id}"
    for path in ("skip", "steps/0/resend", "notes"):
        assert (
            await client.post(f"{there}/{path}", headers=auth, json={"body": "x"})
        ).status_code == 404, path
    assert (await client.get(f"{there}/notes", headers=auth)).status_code == 404
    with workspace_scope(other):
        assert await CaseNote.filter().count() == 0
        assert await CaseStep.filter(case_id=theirs.id, status=StepStatus.SKIPPED).count() == 0
        assert await CaseStep.filter(case_id=theirs.id).count() == 7

    read_only = await create_key(runtime, ws, "read")
    denied = await client.post(
        f"{base}/skip", headers={"Authorization": f"Bearer {read_only.secret}"}
    )
    assert denied.status_code == 403
    spec = (await client.get("/api/v1/openapi.json", headers=auth)).json()["paths"]
    for path in ("skip", "steps/{index}/resend", "notes"):
        assert f"/recovery/cases/{{id}}/{path}" in str(spec), path
    assert set(
        spec["/api/v1/recovery/cases/{id}/notes"]
        if "/api/v1/recovery/cases/{id}/notes" in spec
        else spec["/recovery/cases/{id}/notes"]
    ) >= {"get", "post"}


async def test_replace_edit_and_processing_pause_through_the_api(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock, declines: Any
) -> None:
    ws = await enabled_workspace("a")
    other = await enabled_workspace("b")
    case = await open_case(runtime, ws, clock, "in_1")
    theirs = await open_case(runtime, other, clock, "in_9")
    key = await create_key(runtime, ws, "write", name="crm")
    auth = {"Authorization": f"Bearer {key.secret}"}
    base = f"/api/v1/recovery/cases/{case.id}"

    replaced = await client.post(
        f"{base}/replace", headers=auth,
        json={"type": "email", "template": "reminder", "delay_hours": 2},
    )
    assert replaced.status_code == 200, replaced.text
    new = replaced.json()
    assert new["type"] == "email" and new["config"]["replaces"] == 1
    with workspace_scope(ws):
        old = await CaseStep.get(case_id=case.id, index=1)
    assert old.status == StepStatus.SKIPPED and old.result["by"] == "API key crm"
    for bad in ({"type": "teleport"}, {"type": "retry", "template": "reminder"},
                {"type": "email", "delay_hours": -1}, {"type": "email", "delay_hours": "2"}):
        assert (await client.post(f"{base}/replace", headers=auth, json=bad)).status_code == 422
    garbled = await client.post(f"{base}/replace", headers=auth, content=b"{nope")
    assert garbled.status_code == 400

    edit = f"{base}/steps/{new['index']}/email"
    edited = await client.post(edit, headers=auth, json={"subject": "About your invoice",
                                                         "body": "Hi {{ customer_name }}"})
    assert edited.status_code == 200, edited.text
    assert edited.json()["config"]["subject"] == "About your invoice"
    sent = await client.post(f"{base}/steps/0/email", headers=auth, json={"subject": "x"})
    assert sent.status_code == 409  # the day-0 email has gone out
    two_lines = await client.post(edit, headers=auth, json={"subject": "a\nb"})
    assert two_lines.status_code == 409
    assert (await client.post(f"{base}/steps/99/email", headers=auth, json={})).status_code == 404

    paused = await client.post("/api/v1/recovery/processing/pause", headers=auth)
    assert paused.json() == {"processing_paused": True, "changed": True}
    again = await client.post("/api/v1/recovery/processing/pause", headers=auth)
    assert again.json()["changed"] is False
    with workspace_scope(other):
        assert not (await RecoverySettings.get()).processing_paused  # only the key's workspace
    resumed = await client.post("/api/v1/recovery/processing/resume", headers=auth)
    assert resumed.json()["processing_paused"] is False

    there = f"/api/v1/recovery/cases/{theirs.id}"
    assert (await client.post(f"{there}/replace", headers=auth,
                              json={"type": "email"})).status_code == 404
    assert (await client.post(f"{there}/steps/2/email", headers=auth,
                              json={"subject": "x"})).status_code == 404
    with workspace_scope(other):
        assert await CaseStep.filter(case_id=theirs.id).count() == 7
        assert not (await CaseStep.get(case_id=theirs.id, index=2)).config.get("subject")
    read_only = {"Authorization": f"Bearer {(await create_key(runtime, ws, 'read')).secret}"}
    for path in (f"{base}/replace", edit, "/api/v1/recovery/processing/pause"):
        assert (await client.post(path, headers=read_only, json={})).status_code == 403


async def test_cases_list_filters_by_since_and_pages(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock, declines: Any
) -> None:
    ws = await enabled_workspace("a")
    first = await open_case(runtime, ws, clock, "in_1")
    clock.advance(timedelta(days=2))
    cutoff = clock.now()
    second = await open_case(runtime, ws, clock, "in_2")
    third = await open_case(runtime, ws, clock, "in_3")
    auth = {"Authorization": f"Bearer {(await create_key(runtime, ws, 'read')).secret}"}
    url = "/api/v1/recovery/cases"

    async def ids(query: str) -> list[int]:
        response = await client.get(f"{url}?{query}", headers=auth)
        assert response.status_code == 200, response.text
        return [c["id"] for c in response.json()["data"]]

    assert await ids("") == [third.id, second.id, first.id]
    assert await ids(f"since={int(cutoff.timestamp())}") == [third.id, second.id]
    assert await ids(f"since={cutoff.isoformat()}") == [third.id, second.id]  # "+" unencoded
    assert await ids(f"since={cutoff.isoformat().replace('+00:00', '%2B00:00')}") == [
        third.id, second.id
    ]
    assert await ids(f"since={cutoff.date().isoformat()}") == [third.id, second.id]
    page = (await client.get(f"{url}?limit=2", headers=auth)).json()
    assert [c["id"] for c in page["data"]] == [third.id, second.id] and page["has_more"]
    rest = (await client.get(f"{url}?limit=2&starting_after={second.id}", headers=auth)).json()
    assert [c["id"] for c in rest["data"]] == [first.id] and not rest["has_more"]
    assert (await client.get(f"{url}?since=yesterday", headers=auth)).status_code == 422


async def test_every_recovery_endpoint_is_in_the_openapi_document(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    from core.api.openapi import openapi_path
    from plugins.recovery import plugin

    ws = await enabled_workspace("a")
    auth = {"Authorization": f"Bearer {(await create_key(runtime, ws, 'read')).secret}"}
    spec = (await client.get("/api/v1/openapi.json", headers=auth)).json()["paths"]
    routes = plugin.register_api_routes()
    assert len(routes) >= 15
    for route in routes:
        path = openapi_path(route.path)
        found = spec.get(path) or spec.get(f"/api/v1{path}")
        assert found is not None, path
        for method in route.methods:
            assert method.lower() in found, (method, path)
