"""The operator's case pages: the list, one case's timeline, and every action on it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from selectolax.lexbor import LexborHTMLParser as HTMLParser
from selectolax.lexbor import LexborNode

from core.clock import FrozenClock
from core.email import OutboundEmail
from core.runtime import Runtime
from core.tenancy import workspace_scope
from plugins.recovery import engine
from plugins.recovery.models import (
    Case,
    CaseNote,
    CaseStatus,
    CaseStep,
    RecoverySettings,
    StepStatus,
)
from plugins.recovery.ui import framing
from tests.core.web_support import csrf_of
from tests.plugins.recovery.conftest import settle
from tests.plugins.recovery.operator_support import htmx, operator_with_cases

BASE = "/app/recovery/cases"


def _text(node: LexborNode | None) -> str:
    assert node is not None
    return node.text()


async def test_the_list_shows_amount_time_since_failure_and_the_next_step(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock, declines: Any
) -> None:
    setup = await operator_with_cases(client, runtime, clock)
    clock.advance(timedelta(hours=5))
    page = await client.get(BASE)
    assert page.status_code == 200, page.text
    rows = HTMLParser(page.text).css("table.recovery-cases tbody tr")
    assert len(rows) == 1  # not the other workspace's case
    cells = [td.text(strip=True) for td in rows[0].css("td")]
    assert cells[0] == f"#{setup.case.id}" and cells[2] == "29.00 USD" and cells[3] == "funds"
    assert cells[4] == "open" and cells[5] == "5 h"
    # Day 0's email went out; the payday-aware retry is next, about two days out.
    assert cells[6] == "Retry the payment" and cells[7].startswith("in ")
    nav = [a.attributes.get("href") for a in HTMLParser(page.text).css("nav.sidenav a")]
    assert "/app/recovery" in nav

    for query in ("status=lost", "category=fraud", "min_amount=30"):
        filtered = await client.get(f"{BASE}?{query}")
        assert HTMLParser(filtered.text).css("table.recovery-cases tbody tr") == [], query
    kept = await client.get(f"{BASE}?status=open&category=funds&min_amount=29&sort=amount")
    assert len(HTMLParser(kept.text).css("table.recovery-cases tbody tr")) == 1
    hostile = await client.get(f"{BASE}?status=<x>&sort=drop&page=-3&min_amount=abc")
    assert hostile.status_code == 200


async def test_the_case_page_shows_every_step_the_email_as_sent_and_the_attempts(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock, declines: Any
) -> None:
    setup = await operator_with_cases(client, runtime, clock)
    page = await client.get(f"{BASE}/{setup.case.id}")
    assert page.status_code == 200, page.text
    tree = HTMLParser(page.text)
    steps = tree.css("ol.recovery-timeline > li")
    assert len(steps) == 7
    with workspace_scope(setup.ws):
        first = await CaseStep.get(case_id=setup.case.id, index=0)
        sent = await OutboundEmail.get(id=first.result["email_id"])
    email = steps[0]
    assert "done" in _text(email.css_first("h3"))
    subject = email.css_first(".recovery-email-subject strong")
    assert subject is not None and subject.text() == sent.subject
    text = email.css_first("pre.email-text")
    assert text is not None and text.text() == sent.text_body and "Hi Ada," in sent.text_body
    frame = email.css_first("iframe.email-html")
    assert frame is not None and frame.attributes.get("sandbox") == ""
    as_sent = await client.get(str(frame.attributes.get("src")))
    pixel = HTMLParser(sent.html_body).css_first("img")  # the open-tracking pixel
    assert pixel is not None and "/r/" in str(pixel.attributes.get("src"))
    assert as_sent.text == sent.html_body.replace(
        "<!doctype html>", '<!doctype html><base target="_blank">'
    ).replace("<img src=", "<img data-src=")  # shown as sent, but the pixel is not fetched
    assert "next" in _text(steps[1].css_first("h3"))
    attempts = tree.css("table.recovery-attempts tbody tr")
    assert len(attempts) == 1 and "insufficient_funds" in attempts[0].text()
    assert (await client.get(f"{BASE}/{setup.theirs.id}")).status_code == 404


async def test_pause_resume_skip_retry_and_cancel_from_the_page(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock, declines: Any
) -> None:
    setup = await operator_with_cases(client, runtime, clock)
    url = f"{BASE}/{setup.case.id}"
    token = csrf_of(await client.get(url))

    paused = await client.post(f"{url}/pause", data={"csrf_token": token}, headers=htmx())
    assert paused.status_code == 200
    fragment = HTMLParser(paused.text)
    assert fragment.css_first("header") is None and fragment.css_first("#case") is not None
    assert "Paused" in _text(fragment.css_first(".notice"))
    again = await client.post(f"{url}/pause", data={"csrf_token": token}, headers=htmx())
    assert again.status_code == 409
    resumed = await client.post(f"{url}/resume", data={"csrf_token": token})
    assert resumed.status_code == 303 and resumed.headers["location"] == url
    assert "Resumed." in (await client.get(url)).text  # the message, shown once

    skipped = await client.post(f"{url}/skip", data={"csrf_token": token}, headers=htmx())
    assert skipped.status_code == 200
    with workspace_scope(setup.ws):
        retry = await CaseStep.get(case_id=setup.case.id, index=1)
    assert retry.status == StepStatus.SKIPPED and retry.result["by"] == "ops@example.test"

    retried = await client.post(f"{url}/retry", data={"csrf_token": token}, headers=htmx())
    assert retried.status_code == 200
    await settle()
    with workspace_scope(setup.ws):
        manual = await CaseStep.get(case_id=setup.case.id, index=7)
    assert manual.type == "retry" and manual.config["manual"] is True

    forged = await client.post(f"{url}/cancel", data={"csrf_token": "forged"})
    assert forged.status_code == 403
    cancelled = await client.post(f"{url}/cancel", data={"csrf_token": token}, headers=htmx())
    assert cancelled.status_code == 200
    with workspace_scope(setup.ws):
        case = await Case.get(id=setup.case.id)
        pending = await CaseStep.filter(case_id=case.id, status=StepStatus.PENDING).count()
    assert case.status == CaseStatus.CANCELLED and pending == 0
    assert case.closed_reason == "cancelled by ops@example.test"
    refused = await client.post(f"{url}/skip", data={"csrf_token": token}, headers=htmx())
    assert refused.status_code == 409
    unknown = await client.post(f"{url}/explode", data={"csrf_token": token})
    assert unknown.status_code == 404


async def test_replace_the_next_step_and_resend_a_sent_email(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock, declines: Any
) -> None:
    setup = await operator_with_cases(client, runtime, clock)
    url = f"{BASE}/{setup.case.id}"
    token = csrf_of(await client.get(url))
    bad = {"csrf_token": token, "type": "email", "template": "reminder", "days": "-1"}
    assert (await client.post(f"{url}/replace", data=bad, headers=htmx())).status_code == 422
    unknown = {**bad, "type": "launch_missiles", "days": ""}
    assert (await client.post(f"{url}/replace", data=unknown, headers=htmx())).status_code == 422

    # The day-2 retry becomes a reminder email due now.
    form = {**bad, "days": "0", "hours": "0"}
    replaced = await client.post(f"{url}/replace", data=form, headers=htmx())
    assert replaced.status_code == 200, replaced.text
    await settle()
    with workspace_scope(setup.ws):
        old = await CaseStep.get(case_id=setup.case.id, index=1)
        new = await CaseStep.get(case_id=setup.case.id, index=7)
        sent = await OutboundEmail.get(id=new.result["email_id"])
    assert old.status == StepStatus.SKIPPED and old.result["reason"] == "replaced by the operator"
    assert new.type == "email" and new.status == StepStatus.DONE and new.config["replaces"] == 1
    assert sent.subject.startswith("Reminder:")
    assert new.idempotency_key != old.idempotency_key

    with workspace_scope(setup.ws):
        first = await CaseStep.get(case_id=setup.case.id, index=0)
    resend = f"{url}/steps/{first.id}/resend"
    resent = await client.post(resend, data={"csrf_token": token}, headers=htmx())
    assert resent.status_code == 200, resent.text
    await settle()
    with workspace_scope(setup.ws):
        again = await CaseStep.get(case_id=setup.case.id, index=8)
        copies = await OutboundEmail.filter(subject=first.result["subject"]).order_by("id")
    assert again.config["resend_of"] == 0 and again.status == StepStatus.DONE
    assert len(copies) == 2 and copies[0].idempotency_key != copies[1].idempotency_key
    page = await client.get(url)
    assert "resend of step 1" in page.text
    # A pending step cannot be "resent", and their step is not reachable through my case.
    with workspace_scope(setup.ws):
        pending = await CaseStep.get(case_id=setup.case.id, index=2)
    refused = await client.post(f"{url}/steps/{pending.id}/resend", data={"csrf_token": token})
    assert refused.status_code == 303
    assert "Only an email that was sent" in (await client.get(url)).text


async def test_editing_a_pending_email_sends_the_edited_version(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock, declines: Any
) -> None:
    setup = await operator_with_cases(client, runtime, clock)
    with workspace_scope(setup.ws):
        step = await CaseStep.get(case_id=setup.case.id, index=2)  # the day-3 email
    edit = f"{BASE}/{setup.case.id}/steps/{step.id}/edit"
    form_page = await client.get(edit)
    assert form_page.status_code == 200
    body_field = HTMLParser(form_page.text).css_first("textarea#edit-body")
    assert body_field is not None and "{{ link }}" in body_field.text()  # the template's wording
    token = csrf_of(form_page)
    for hostile, reason in (
        ("{{ ''.__class__.__mro__ }}", "attribute access"),
        ("{% for i in range(9) %}x{% endfor %}", "loops"),
        ("{{ link ", "line 1"),
        ("{{ password }}", "unknown variable"),
        ("x" * 10_001, "too long"),
    ):
        refused = await client.post(
            edit, data={"csrf_token": token, "subject": "Hi", "body": hostile}
        )
        assert refused.status_code == 422 and reason in refused.text, reason
    preview = await client.post(
        f"{BASE}/{setup.case.id}/steps/{step.id}/preview",
        headers=htmx(),
        data={
            "csrf_token": token,
            "subject": "About {{ amount }}",
            "body": "Dear {{ customer_name }}, see {{ link }}",
        },
    )
    assert preview.status_code == 200 and "About 29.00 USD" in preview.text
    saved = await client.post(
        edit,
        data={
            "csrf_token": token,
            "subject": "A note about {{ amount }}",
            "body": "{{ greeting }},\n\nPlease pay here:\n\n{{ link }}\n\n"
            "{{ closing }}\n{{ sender }}",
        },
    )
    assert saved.status_code == 303
    with workspace_scope(setup.ws):
        await step.refresh_from_db()
    assert step.config["edited_by"] == "ops@example.test"

    clock.advance(timedelta(days=3, minutes=1))
    await engine.run_due(runtime)
    await settle()
    with workspace_scope(setup.ws):
        await step.refresh_from_db()
        sent = await OutboundEmail.get(id=step.result["email_id"])
    assert sent.subject == "A note about 29.00 USD"
    assert sent.text_body.startswith("Hi Ada,\n\nPlease pay here:") and "/r/" in sent.text_body
    assert "Please pay here" in sent.html_body
    late = await client.post(edit, data={"csrf_token": token, "subject": "x", "body": "y"})
    assert late.status_code == 422 and "Only a pending email" in late.text


async def test_a_case_step_preview_uses_the_case_and_sends_nothing(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock, declines: Any
) -> None:
    setup = await operator_with_cases(client, runtime, clock)
    with workspace_scope(setup.ws):
        step = await CaseStep.get(case_id=setup.case.id, index=5)  # the final notice
        before = await OutboundEmail.filter().count()
    page = await client.get(f"{BASE}/{setup.case.id}/steps/{step.id}/preview", headers=htmx())
    assert page.status_code == 200
    tree = HTMLParser(page.text)
    assert tree.css_first("header") is None
    text = tree.css_first("pre.email-text")
    assert text is not None and "Hi Ada," in text.text() and "29.00 USD" in text.text()
    assert "ends in 16 days" in text.text() and "/r/" in text.text()
    frame = tree.css_first("iframe.email-html")
    assert frame is not None and "Update your payment details" in str(frame.attributes["srcdoc"])
    full = await client.get(f"{BASE}/{setup.case.id}/steps/{step.id}/preview")
    assert full.status_code == 200 and HTMLParser(full.text).css_first("header") is not None
    assert "Preview of step 6" in full.text
    with workspace_scope(setup.ws):
        assert await OutboundEmail.filter().count() == before


async def test_notes_keep_their_author_and_time(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock, declines: Any
) -> None:
    setup = await operator_with_cases(client, runtime, clock)
    url = f"{BASE}/{setup.case.id}"
    token = csrf_of(await client.get(url))
    added = await client.post(
        f"{url}/notes", data={"csrf_token": token, "body": "Called <b>Ada</b>"}, headers=htmx()
    )
    assert added.status_code == 200
    assert "Called &lt;b&gt;Ada&lt;/b&gt;" in added.text  # escaped, never markup
    empty = await client.post(f"{url}/notes", data={"csrf_token": token, "body": "  "})
    assert empty.status_code == 303
    with workspace_scope(setup.ws):
        notes = await CaseNote.filter(case_id=setup.case.id)
    assert [(n.body, n.author, n.created_at) for n in notes] == [
        ("Called <b>Ada</b>", "ops@example.test", clock.now())
    ]


async def test_the_processing_pause_stops_every_case_and_shows_on_the_pages(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock, declines: Any
) -> None:
    setup = await operator_with_cases(client, runtime, clock)
    page = await client.get(BASE)
    token = csrf_of(page)
    assert HTMLParser(page.text).css_first("form.recovery-pause-all") is not None
    paused = await client.post(
        "/app/recovery/processing", data={"csrf_token": token, "paused": "1", "next": BASE}
    )
    assert paused.status_code == 303
    with workspace_scope(setup.ws):
        assert (await RecoverySettings.get()).processing_paused
    with workspace_scope(setup.other):
        assert not (await RecoverySettings.get()).processing_paused
    shown = await client.get(f"{BASE}/{setup.case.id}")
    assert "Processing is paused." in shown.text
    clock.advance(timedelta(days=4))
    await engine.run_due(runtime)  # the other workspace's steps run, none of ours
    with workspace_scope(setup.ws):
        ours = await CaseStep.filter(case_id=setup.case.id, status=StepStatus.DONE).count()
    with workspace_scope(setup.other):
        theirs = await CaseStep.filter(case_id=setup.theirs.id, status=StepStatus.DONE).count()
    assert ours == 1 and theirs > 1
    await client.post("/app/recovery/processing", data={"csrf_token": token, "paused": "0"})
    await engine.run_due(runtime)
    with workspace_scope(setup.ws):
        ours = await CaseStep.filter(case_id=setup.case.id, status=StepStatus.DONE).count()
    assert ours > 1
    forged = await client.post("/app/recovery/processing", data={"paused": "1"})
    assert forged.status_code == 403


async def test_nothing_of_another_workspace_is_reachable(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock, declines: Any
) -> None:
    setup = await operator_with_cases(client, runtime, clock)
    token = csrf_of(await client.get(BASE))
    theirs = f"{BASE}/{setup.theirs.id}"
    with workspace_scope(setup.other):
        their_first = await CaseStep.get(case_id=setup.theirs.id, index=0)
        their_email = await CaseStep.get(case_id=setup.theirs.id, index=2)
    with workspace_scope(setup.ws):
        my_email = await CaseStep.get(case_id=setup.case.id, index=2)
    data = {"csrf_token": token, "body": "x", "subject": "x", "type": "email", "days": "0"}
    posts = [
        *[f"{theirs}/{action}" for action in ("pause", "resume", "cancel", "retry", "skip")],
        f"{theirs}/replace",
        f"{theirs}/notes",
        f"{theirs}/steps/{their_first.id}/resend",
        f"{theirs}/steps/{their_email.id}/edit",
        f"{theirs}/steps/{their_email.id}/preview",
        # Their step through my case's address.
        f"{BASE}/{setup.case.id}/steps/{their_first.id}/resend",
        f"{BASE}/{setup.case.id}/steps/{their_email.id}/edit",
    ]
    for url in posts:
        assert (await client.post(url, data=data)).status_code == 404, url
    gets = [
        theirs,
        f"{theirs}/steps/{their_email.id}/edit",
        f"{theirs}/steps/{their_email.id}/preview",
        f"{BASE}/{setup.case.id}/steps/{their_email.id}/preview",
    ]
    for url in gets:
        assert (await client.get(url)).status_code == 404, url
    assert (await client.get(f"{BASE}/{setup.case.id}/steps/{my_email.id}/edit")).status_code == 200
    with workspace_scope(setup.other):
        case = await Case.get(id=setup.theirs.id)
        steps = await CaseStep.filter(case_id=case.id).order_by("index")
        notes = await CaseNote.filter().count()
    assert case.status == CaseStatus.OPEN and len(steps) == 7 and notes == 0
    assert all("edited_by" not in s.config for s in steps)


async def test_the_html_as_sent_is_served_inert_and_only_to_its_workspace(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock, declines: Any
) -> None:
    setup = await operator_with_cases(client, runtime, clock)
    with workspace_scope(setup.ws):
        first = await CaseStep.get(case_id=setup.case.id, index=0)
        second = await CaseStep.get(case_id=setup.case.id, index=2)
    with workspace_scope(setup.other):
        theirs = await CaseStep.get(case_id=setup.theirs.id, index=0)
    url = f"{BASE}/{setup.case.id}/steps/{first.id}/email.html"
    frame = HTMLParser((await client.get(f"{BASE}/{setup.case.id}")).text).css_first("iframe")
    assert frame is not None and frame.attributes.get("src") == url
    document = await client.get(url)
    assert document.status_code == 200
    policy = document.headers["content-security-policy"]
    # Inline styles as sent; no script, no remote image (a tracking pixel stays silent).
    assert "style-src 'unsafe-inline'" in policy and "img-src data:" in policy
    assert "script-src" not in policy and "default-src 'none'" in policy and "sandbox" in policy
    assert document.headers["x-frame-options"] == "SAMEORIGIN"
    # Links look as sent but open a new window, which the sandbox refuses: an operator's
    # click never reaches /r/{token} to be counted as the customer's.
    tree = HTMLParser(document.text)
    base = tree.css_first("base")
    assert base is not None and base.attributes.get("target") == "_blank"
    assert all("target" not in a.attributes for a in tree.css("a")) and tree.css("a")
    assert "sandbox" in policy and "allow-popups" not in policy
    assert (
        framing.email_document('<a target="_top" href="x">x</a>').body
        == b'<base target="_blank"><a href="x">x</a>'
    )
    assert (
        await client.get(f"{BASE}/{setup.case.id}/steps/{second.id}/email.html")
    ).status_code == 404
    for other in (
        f"{BASE}/{setup.theirs.id}/steps/{theirs.id}/email.html",
        f"{BASE}/{setup.case.id}/steps/{theirs.id}/email.html",
    ):
        assert (await client.get(other)).status_code == 404, other
    home = await client.get("/app/recovery")
    assert home.status_code == 303 and home.headers["location"] == BASE


async def test_a_win_back_case_reads_as_one_and_offers_no_retry(
    client: httpx.AsyncClient, runtime: Runtime, clock: FrozenClock, declines: Any
) -> None:
    from plugins.recovery.models import CaseKind

    setup = await operator_with_cases(client, runtime, clock)
    with workspace_scope(setup.ws):
        await Case.filter(id=setup.case.id).update(kind=CaseKind.WINBACK)
    page = await client.get(f"{BASE}/{setup.case.id}")
    tree = HTMLParser(page.text)
    assert _text(tree.css_first("h1")).startswith(f"Win-back #{setup.case.id}")
    buttons = [b.text() for b in tree.css(".recovery-actions button")]
    assert "Retry now" not in buttons and "Pause" in buttons
    listed = HTMLParser((await client.get(BASE)).text).css("table.recovery-cases tbody td")
    assert "win-back" in [td.text() for td in listed]
