"""Helpers for the operator page tests: a signed-in workspace with an open case, form reading."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from core.clock import FrozenClock
from core.models import Workspace
from core.runtime import Runtime
from core.tenancy import workspace_scope
from plugins.recovery import handlers
from plugins.recovery.cases import settings_for
from plugins.recovery.models import Case, RecoverySettings
from tests.core.web_support import connect_stripe, create_workspace, sign_in
from tests.plugins.recovery.conftest import enabled_workspace, event, invoice, settle


@dataclass
class Setup:
    ws: int  # the signed-in operator's workspace
    other: int  # another workspace, with a case of its own
    case: Case
    theirs: Case


async def open_case(runtime: Runtime, ws: int, clock: FrozenClock, invoice_id: str) -> Case:
    with workspace_scope(ws):
        failed = event("invoice.payment_failed", invoice(invoice_id), clock.now())
        await handlers.payment_failed(failed, ws, runtime)
        await settle()
        return await Case.get(invoice_id=invoice_id)


async def operator_with_cases(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock
) -> Setup:
    """Signed in to "Shop" (recovery on, a funds case on in_1); "Other" has its own case."""
    await sign_in(client, "ops@example.test")
    await create_workspace(client, "Shop")
    ws = (await Workspace.get(name="Shop")).id
    await connect_stripe(ws)
    with workspace_scope(ws):
        await settings_for()  # onboarding may have made them already
        await RecoverySettings.filter().update(enabled=True, sender_name="Acme")
    other = await enabled_workspace("other")
    case = await open_case(runtime, ws, clock, "in_1")
    theirs = await open_case(runtime, other, clock, "in_9")
    return Setup(ws, other, case, theirs)


def fields_of(page: httpx.Response, selector: str) -> dict[str, str]:
    """The values a browser would submit from the form at `selector` (no button pressed)."""
    form = HTMLParser(page.text).css_first(selector)
    assert form is not None, f"no form {selector}"
    values: dict[str, str] = {}
    for node in form.css("input, textarea, select"):
        name = node.attributes.get("name")
        if not name:
            continue
        kind = node.attributes.get("type")
        if node.tag == "textarea":
            values[name] = node.text()
        elif node.tag == "select":
            chosen = node.css_first("option[selected]") or node.css_first("option")
            values[name] = (chosen.attributes.get("value") or "") if chosen else ""
        elif kind == "checkbox":
            if "checked" in node.attributes:
                values[name] = node.attributes.get("value") or "on"
        else:
            values[name] = node.attributes.get("value") or ""
    return values


def htmx() -> dict[str, Any]:
    return {"HX-Request": "true"}
