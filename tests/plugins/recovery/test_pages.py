"""The recovery settings panel: a fragment for htmx, a page otherwise, only the own workspace."""

from __future__ import annotations

import httpx
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from core.models import Workspace
from core.runtime import Runtime
from core.tenancy import workspace_scope
from plugins.recovery.models import FinalAction, RecoverySettings
from tests.core.web_support import connect_stripe, create_workspace, csrf_of, sign_in

URL = "/app/recovery/settings"


async def test_recovery_is_turned_on_from_the_settings_panel(
    app: object, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await sign_in(client, "ops@example.test")
    await create_workspace(client, "Shop")
    ws = await Workspace.get(name="Shop")
    await connect_stripe(ws.id)  # an onboarded workspace
    other = await Workspace.create(name="Other", slug="other")
    with workspace_scope(other.id):
        await RecoverySettings.create(enabled=False, sender_name="Theirs")

    page = await client.get(URL)
    assert page.status_code == 200, page.text
    enabled = HTMLParser(page.text).css_first('input[name="enabled"]')
    assert enabled is not None and "checked" not in enabled.attributes  # off by default
    form = {
        "csrf_token": csrf_of(page), "enabled": "1", "final_action": "leave_past_due",
        "expiring_card_lead_days": "21", "sender_name": "Acme", "reply_to": "help@acme.test",
        "product_description": "Acme Pro",
    }
    saved = await client.post(URL, data=form, headers={"HX-Request": "true"})
    assert saved.status_code == 200, saved.text
    tree = HTMLParser(saved.text)
    assert tree.css_first("header") is None and tree.css_first(".notice") is not None
    with workspace_scope(ws.id):
        mine = await RecoverySettings.get()
    with workspace_scope(other.id):
        theirs = await RecoverySettings.get()
    assert mine.enabled and mine.final_action == FinalAction.LEAVE_PAST_DUE
    assert (mine.expiring_card_lead_days, mine.sender_name) == (21, "Acme")
    assert not theirs.enabled and theirs.sender_name == "Theirs"

    bad = await client.post(URL, data={**form, "reply_to": "not an address"})
    assert bad.status_code == 422
    forged = await client.post(URL, data={**form, "csrf_token": "nope"})
    assert forged.status_code in {400, 403}


async def test_the_panel_is_listed_for_the_settings_page(
    app: object, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await sign_in(client, "ops@example.test")
    await create_workspace(client, "Shop")
    ws = await Workspace.get(name="Shop")
    found, failures = await runtime.host.gather("settings_panels", workspace=ws, request=None)
    assert failures == [] and URL in [panel.url for panel in found]


async def test_turning_recovery_on_is_an_optional_onboarding_step(
    app: object, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    from core.onboarding import steps_for

    ws = await Workspace.create(name="Shop", slug="shop")
    step = next(s for s in await steps_for(runtime, None, ws) if s.key == "recovery")
    assert (step.url, step.done, step.required) == (URL, False, False)
    with workspace_scope(ws.id):
        await RecoverySettings.filter(workspace_id=ws.id).update(enabled=True)
    step = next(s for s in await steps_for(runtime, None, ws) if s.key == "recovery")
    assert step.done


async def test_the_panel_shows_what_the_latest_audit_found_recoverable(
    app: object, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await sign_in(client, "ops@example.test")
    await create_workspace(client, "Shop")
    ws = await Workspace.get(name="Shop")
    await connect_stripe(ws.id)

    async def latest_recoverable(workspace_id: int) -> dict[str, int] | None:
        return {"usd": 4700, "eur": 123456} if workspace_id == ws.id else None

    # The service an audit plugin offers; recovery reads it without importing that plugin.
    runtime.services["audit.latest_recoverable"] = latest_recoverable
    page = await client.get(URL)
    notice = HTMLParser(page.text).css_first(".notice strong")
    assert notice is not None and notice.text() == "1,234.56 EUR, 47.00 USD"
