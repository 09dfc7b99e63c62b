"""The sequence editor: versions on save, running cases keep theirs, hostile input refused."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from core.clock import FrozenClock
from core.email import OutboundEmail
from core.models import Membership, User
from core.models.workspaces import Role
from core.runtime import Runtime
from core.tenancy import workspace_scope
from plugins.recovery import compose, sequences
from plugins.recovery.declines import Category
from plugins.recovery.models import Case, CaseStep, RecoverySettings, Sequence, SequenceVersion
from tests.core.web_support import csrf_of
from tests.plugins.recovery.conftest import enabled_workspace
from tests.plugins.recovery.operator_support import (
    fields_of,
    htmx,
    open_case,
    operator_with_cases,
)

URL = "/app/recovery/sequences"
BODY = "{{ greeting }},\n\n{{ amount }} is due.\n\n{{ link }}\n\n{{ closing }}"
KNOWN = {"email", "retry", "wait", "notify_operator", "final_action"}


async def test_saving_publishes_a_version_and_running_cases_keep_theirs(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock, declines: Any
) -> None:
    setup = await operator_with_cases(client, runtime, clock)  # the case started on version 1
    listed = await client.get(URL)
    assert listed.status_code == 200 and f'href="{URL}/funds"' in listed.text
    assert f'href="{URL}/winback"' in listed.text
    page = await client.get(f"{URL}/funds")
    assert page.status_code == 200, page.text
    form = fields_of(page, "form.recovery-editor")
    assert form["count"] == "7" and form["steps-1-type"] == "retry"
    assert form["steps-1-payday_aware"] == "1"
    # A new reminder wording and a shorter wait for the second email, formal tone.
    form.update(
        {
            "steps-2-day": "2",
            "steps-2-tone": "formal",
            "steps-2-subject": "Still due: {{ amount }}",
            "steps-2-body": BODY,
            "op": "save",
        }
    )
    saved = await client.post(f"{URL}/funds", data=form)
    assert saved.status_code == 303, saved.text
    assert "Saved as version 2" in (await client.get(f"{URL}/funds")).text
    with workspace_scope(setup.ws):
        current = await sequences.current_version(Category.FUNDS)
        running = await Case.get(id=setup.case.id)
        planned = await CaseStep.get(case_id=running.id, index=2)
    assert current.version == 2
    assert current.steps[2] == {
        "type": "email",
        "day": 2,
        "hours": 0,
        "template": "reminder",
        "tone": "formal",
        "subject": "Still due: {{ amount }}",
        "body": BODY,
    }
    assert current.steps[1]["payday_aware"] is True
    # The running case is still on version 1: its day-3 email has the template's wording.
    with workspace_scope(setup.ws):
        first = await SequenceVersion.get(id=running.sequence_version_id)
    assert first.version == 1 and (planned.due_at - running.opened_at).days == 3
    assert "subject" not in planned.config
    # A case opened now starts on version 2.
    later = await open_case(runtime, setup.ws, clock, "in_2")
    with workspace_scope(setup.ws):
        step = await CaseStep.get(case_id=later.id, index=2)
    assert later.sequence_version_id == current.id
    assert step.config["subject"] == "Still due: {{ amount }}"
    # The other workspace's sequence did not move.
    with workspace_scope(setup.other):
        assert (await sequences.current_version(Category.FUNDS)).version == 1


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"steps-0-day": "-2"}, "Step 1: the delay cannot be negative."),
        ({"steps-0-hours": "nan"}, "Step 1: the delay cannot be negative."),
        ({"steps-0-day": "ten"}, "Step 1: day must be a number"),
        ({"steps-0-day": "9999"}, "Step 1: day can be at most 365."),
        ({"steps-3-type": "rm -rf"}, "Step 4: unknown step type"),
        ({"steps-0-template": "nope"}, "Step 1: unknown template"),
        ({"steps-0-tone": "angry"}, "Step 1: unknown tone"),
        ({"steps-0-body": "x" * 10_001}, "Step 1 body is too long"),
        ({"steps-0-body": "{% if %}"}, "Step 1 body, line 1"),
        ({"steps-0-body": "{{ link.__class__ }}"}, "attribute access"),
        ({"steps-0-body": "{{ cycler.__init__.__globals__ }}"}, "attribute access"),
        ({"steps-0-body": "{{ customer_name * 99999999 }}"}, "arithmetic"),
        ({"steps-0-subject": "{{ secret_key }}"}, "unknown variable 'secret_key'"),
        ({"steps-0-subject": "{{ customer_name|center(99999999) }}"}, "filter 'center'"),
        ({"steps-0-extra": "{not json"}, "Step 1: the advanced settings are not valid JSON."),
        ({"steps-0-extra": "[1]"}, "must be a JSON object"),
        ({"count": "0"}, "A sequence needs at least one step."),
    ],
)
async def test_hostile_input_is_refused_with_a_clear_message(
    client: httpx.AsyncClient,
    runtime: Runtime,
    clock: FrozenClock,
    declines: Any,
    change: dict[str, str],
    reason: str,
) -> None:
    setup = await operator_with_cases(client, runtime, clock)
    form = {**fields_of(await client.get(f"{URL}/funds"), "form.recovery-editor"), **change}
    refused = await client.post(f"{URL}/funds", data={**form, "op": "save"}, headers=htmx())
    assert refused.status_code == 422
    error = HTMLParser(refused.text).css_first("#sequence-editor .error")
    assert error is not None and reason in error.text(), error.text() if error else refused.text
    assert error.attributes.get("role") == "alert"
    with workspace_scope(setup.ws):
        assert (await Sequence.get(category="funds")).current_version == 1


async def test_rows_are_added_moved_removed_and_previewed_without_saving(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock, declines: Any
) -> None:
    setup = await operator_with_cases(client, runtime, clock)
    with workspace_scope(setup.ws):
        await RecoverySettings.filter().update(
            product_description="Acme Pro", tones={"funds": "direct"}
        )
    form = fields_of(await client.get(f"{URL}/funds"), "form.recovery-editor")
    added = await client.post(f"{URL}/funds", data={**form, "op": "add"}, headers=htmx())
    form = fields_of(added, "form.recovery-editor")
    assert form["count"] == "8" and form["steps-7-type"] == "email"
    moved = await client.post(f"{URL}/funds", data={**form, "op": "up-1"}, headers=htmx())
    form = fields_of(moved, "form.recovery-editor")
    assert (form["steps-0-type"], form["steps-1-type"]) == ("retry", "email")
    removed = await client.post(f"{URL}/funds", data={**form, "op": "remove-0"}, headers=htmx())
    form = fields_of(removed, "form.recovery-editor")
    assert form["count"] == "7" and form["steps-0-type"] == "email"

    preview = await client.post(f"{URL}/funds", data={**form, "op": "preview-0"}, headers=htmx())
    text = HTMLParser(preview.text).css_first(".recovery-preview pre.email-text")
    assert text is not None
    # The category's tone (direct), the brand's product, sample customer details.
    assert text.text().startswith("Hello Ada Lovelace,") and "29.00 USD for Acme Pro" in text.text()
    assert text.text().rstrip().endswith("Regards,\nAcme")
    bad = {**form, "steps-0-body": "{{ nope }}", "op": "preview-0"}
    shown = await client.post(f"{URL}/funds", data=bad, headers=htmx())
    error = HTMLParser(shown.text).css_first(".recovery-preview .error")
    assert error is not None and "unknown variable 'nope'" in error.text()
    with workspace_scope(setup.ws):
        assert (await Sequence.get(category="funds")).current_version == 1  # nothing saved


async def test_reset_publishes_the_built_in_steps(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock, declines: Any
) -> None:
    setup = await operator_with_cases(client, runtime, clock)
    page = await client.get(f"{URL}/card_update")
    token = csrf_of(page)
    form = {**fields_of(page, "form.recovery-editor"), "count": "1", "op": "save"}
    assert (await client.post(f"{URL}/card_update", data=form)).status_code == 303
    reset = await client.post(f"{URL}/card_update/reset", data={"csrf_token": token})
    assert reset.status_code == 303
    with workspace_scope(setup.ws):
        current = await sequences.current_version(Category.CARD_UPDATE)
    assert current.version == 3 and current.steps == sequences.DEFAULTS[Category.CARD_UPDATE]
    assert (await client.get(f"{URL}/nope")).status_code == 404
    assert (await client.post(f"{URL}/nope/reset", data={"csrf_token": token})).status_code == 404


async def test_members_read_sequences_but_only_admins_change_them(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock, declines: Any
) -> None:
    from core.web.sessions import session_cookie

    setup = await operator_with_cases(client, runtime, clock)
    member = await User.create(email="member@example.test")
    with workspace_scope(setup.ws):
        await Membership.create(user=member, workspace_id=setup.ws, role=Role.MEMBER)
    client.cookies.set(
        "sl_session", await session_cookie(runtime, member, workspace_id=setup.ws, csrf="tok")
    )
    page = await client.get(f"{URL}/funds")
    assert page.status_code == 200 and "Only owners and admins" in page.text
    form = {**fields_of(page, "form.recovery-editor"), "op": "save"}
    assert (await client.post(f"{URL}/funds", data=form)).status_code == 403
    assert (await client.post(f"{URL}/funds/reset", data={"csrf_token": "tok"})).status_code == 403
    pause = {"csrf_token": "tok", "paused": "1"}
    assert (await client.post("/app/recovery/processing", data=pause)).status_code == 403
    with workspace_scope(setup.ws):
        assert (await Sequence.get(category="funds")).current_version == 1
        assert not (await RecoverySettings.get()).processing_paused


async def test_the_validator_refuses_what_the_engine_could_not_run(app: object) -> None:
    ws = await enabled_workspace("a")
    good = [{"type": "email", "day": 0, "template": "reminder", "body": "{{ link }}"}]
    sequences.validate(good, KNOWN)
    for steps, reason in (
        ([], "at least one step"),
        ([{"type": "wait", "day": 0}] * 31, "at most 30 steps"),
        ([{"type": "email", "day": 0, "subject": "a\nb"}], "single line"),
        ([{"type": "email", "day": 0, "body": 7}], "must be text"),
        (["email"], "not a step"),
    ):
        with pytest.raises(sequences.SequenceProblem, match=reason):
            sequences.validate(steps, KNOWN)  # type: ignore[arg-type]
    with workspace_scope(ws), pytest.raises(sequences.SequenceProblem):
        await sequences.publish(Category.FUNDS, [{"type": "email", "day": -1}], KNOWN)


def test_the_sandbox_renders_variables_and_ifs_and_nothing_else() -> None:
    body = (
        "{% if customer_name != 'there' %}{{ greeting }}{% else %}Hello{% endif %}"
        " {{ amount|lower }}"
    )
    compose.check(body, "Body", 1000)
    out = compose.render("S", body, compose.sample_values(tone="formal"))
    assert out.text == "Dear Ada Lovelace 29.00 usd\n"
    for hostile in (
        "{{ self }}",
        "{% set x = 1 %}",
        "{% include 'base.html' %}",
        "{{ range(10) }}",
        "{{ amount[0] }}",
        "{% macro m() %}{% endmacro %}",
    ):
        with pytest.raises(compose.TemplateProblem):
            compose.check(hostile, "Body", 1000)


async def test_brand_settings_set_a_tone_per_category_that_emails_use(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock, declines: Any
) -> None:
    setup = await operator_with_cases(client, runtime, clock)
    page = await client.get("/app/recovery/settings")
    form = fields_of(page, "form.recovery-settings")
    assert form["tone"] == "friendly" and form["tone_card_update"] == ""
    form.update(tone="formal", tone_card_update="direct", product_description="Acme Pro")
    hostile = await client.post("/app/recovery/settings", data={**form, "tone_funds": "<b>"})
    assert hostile.status_code == 422
    saved = await client.post("/app/recovery/settings", data=form)
    assert saved.status_code == 200, saved.text
    with workspace_scope(setup.ws):
        settings = await RecoverySettings.get()
    assert (settings.tone, settings.tones) == ("formal", {"card_update": "direct"})
    with workspace_scope(setup.other):
        assert (await RecoverySettings.get()).tones == {}

    funds_decline = declines["decline"]
    declines["decline"] = funds_decline.__class__(code="expired_card")
    card = await open_case(runtime, setup.ws, clock, "in_3")
    declines["decline"] = funds_decline
    funds = await open_case(runtime, setup.ws, clock, "in_4")
    with workspace_scope(setup.ws):
        texts = {}
        for case in (card, funds):
            step = await CaseStep.get(case_id=case.id, index=0)
            texts[case.category] = (await OutboundEmail.get(id=step.result["email_id"])).text_body
    assert (
        texts["card_update"].startswith("Hello Ada,") and "Regards,\nAcme" in texts["card_update"]
    )
    assert texts["funds"].startswith("Dear Ada,") and "Kind regards,\nAcme" in texts["funds"]


async def test_switching_a_step_type_redraws_its_fields_and_drops_the_wording_on_save(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock, declines: Any
) -> None:
    setup = await operator_with_cases(client, runtime, clock)
    form = fields_of(await client.get(f"{URL}/funds"), "form.recovery-editor")
    assert "steps-0-payday_aware" not in form  # an email has no payday setting
    form.update({"steps-0-type": "wait", "steps-0-subject": "Hello", "op": "refresh"})
    redrawn = await client.post(f"{URL}/funds", data=form, headers=htmx())
    tree = HTMLParser(redrawn.text)
    assert tree.css_first("#s0-subject") is None and tree.css_first("#s0-tone") is None
    kept = fields_of(redrawn, "form.recovery-editor")
    assert kept["steps-0-subject"] == "Hello"  # kept in the form, in case it switches back
    assert (await client.post(f"{URL}/funds", data={**kept, "op": "save"})).status_code == 303
    with workspace_scope(setup.ws):
        current = await sequences.current_version(Category.FUNDS)
    assert current.steps[0] == {"type": "wait", "day": 0, "hours": 0}
