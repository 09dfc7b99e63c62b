"""Operator controls over the API: skip, resend, notes; each in the key's workspace only."""

from __future__ import annotations

from typing import Any

import httpx

from core.api.keys import create_key
from core.clock import FrozenClock
from core.email import OutboundEmail
from core.runtime import Runtime
from core.tenancy import workspace_scope
from plugins.recovery.models import CaseNote, CaseStep, StepStatus
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
