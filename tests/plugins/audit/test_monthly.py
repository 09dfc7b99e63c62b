"""The monthly scheduled audit: opt in from settings, one run a month, summary to the owner."""

from __future__ import annotations

from typing import Any

import httpx
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from core.models.email import OutboundEmail
from core.runtime import Runtime
from core.tenancy import unscoped, workspace_scope
from plugins.audit.models import AuditRun, RunStatus
from tests.plugins.audit.support import CSRF, connect, sign_in


async def run_schedule(runtime: Runtime) -> None:
    with unscoped():  # as the job runner calls a task without a workspace
        await runtime.tasks["audit.monthly"].func(workspace_id=None, runtime=runtime)


async def test_monthly_run_emails_the_owner_once_a_month(
    app: Any, client: httpx.AsyncClient, runtime: Runtime, seeded: Any, drain: Any
) -> None:
    assert runtime.schedules["audit.monthly"].cron == "0 6 1 * *"
    workspace = await connect(runtime, seeded[1].businesses[0], "acme")
    quiet = await connect(runtime, seeded[1].businesses[1], "borealis")  # never opts in
    await sign_in(client, runtime, workspace)
    panel = await client.get("/app/audit/settings")
    assert panel.status_code == 200, (panel.status_code, panel.headers.get("location"))
    checkbox = HTMLParser(panel.text).css_first('input[name="monthly"]')
    assert checkbox is not None and "checked" not in checkbox.attributes
    saved = await client.post("/app/audit/settings", data={"csrf_token": CSRF, "monthly": "on"})
    assert "Monthly audit is on" in saved.text

    await run_schedule(runtime)
    await drain()
    await run_schedule(runtime)  # the same month: nothing new
    await drain()
    with workspace_scope(workspace.id):
        runs = await AuditRun.all()
    assert [(r.trigger, r.status) for r in runs] == [("scheduled", RunStatus.DONE)]
    with workspace_scope(quiet.id):
        assert not await AuditRun.all().exists()
    with unscoped():
        mails = await OutboundEmail.filter(to_address="acme@example.com")
    assert len(mails) == 1
    assert runs[0].results is not None
    assert runs[0].results["summary"][0] in mails[0].text_body
    assert f"/app/audit/runs/{runs[0].id}" in mails[0].text_body
