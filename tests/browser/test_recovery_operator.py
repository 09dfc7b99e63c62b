"""In a real browser, by keyboard: the operator pauses and resumes a case, reads the email as
sent (styled as the customer saw it), and previews a step in the sequence editor — with no
console error, in light and dark."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.async_api import Browser, ConsoleMessage, expect

from core.clock import FrozenClock
from core.email import OutboundEmail
from core.models.workspaces import Membership, Role, User, Workspace
from core.tenancy import unscoped, workspace_scope
from plugins.recovery import compose
from plugins.recovery.cases import settings_for
from plugins.recovery.declines import Category
from plugins.recovery.models import (
    AttemptLedger,
    AttemptOutcome,
    AttemptSource,
    Case,
    CaseStep,
    RecoverySettings,
    StepStatus,
)
from plugins.recovery.sequences import current_version, plan
from tests.browser.test_signin import SHOTS, browser, server  # noqa: F401 (fixtures)
from tests.core.web_support import connect_stripe, last_link

pytestmark = pytest.mark.browser
BUTTON_BLUE = "rgb(29, 95, 214)"  # compose.to_html's button, as the customer's client shows it


async def _shop_with_a_case(clock: FrozenClock) -> Case:
    """A workspace with a funds case whose day-0 email was sent (rows made directly)."""
    with unscoped():
        ws = await Workspace.create(name="Shop", slug="shop")
        user = await User.create(email="ops@example.test")
        await Membership.create(user=user, workspace=ws, role=Role.OWNER)
    await connect_stripe(ws.id)
    with workspace_scope(ws.id):
        await settings_for()
        await RecoverySettings.filter().update(
            enabled=True, sender_name="Acme", product_description="Acme Pro"
        )
        version = await current_version(Category.FUNDS)
        case = await Case.create(
            stripe_account_id="acct_test",
            invoice_id="in_1",
            customer_id="cus_1",
            customer_email="ada@example.test",
            customer_name="Ada",
            amount=2900,
            opened_at=clock.now() - timedelta(hours=30),
            category="funds",
            code="card_declined",
            decline_code="insufficient_funds",
            sequence_version=version,
        )
        for planned in plan(version.steps, case.opened_at):
            await CaseStep.create(
                case=case,
                index=planned.index,
                type=planned.type,
                config=planned.config,
                due_at=planned.due_at,
                idempotency_key=f"recovery:{ws.id}:{case.id}:{planned.index}",
            )
        first = await CaseStep.get(case_id=case.id, index=0)
        subject, body = compose.default_wording("payment_failed")
        sent = compose.render(subject, body, compose.sample_values(product="Acme Pro"))
        email = await OutboundEmail.create(
            workspace_id=ws.id,
            key=f"{ws.id}:recovery:step:{first.id}",
            idempotency_key=f"recovery:step:{first.id}",
            message_id="<m@test>",
            to_address="ada@example.test",
            from_address="Acme <no-reply@test>",
            subject=sent.subject,
            text_body=sent.text,
            html_body=sent.html,
            status="sent",
            created_at=case.opened_at,
            sent_at=case.opened_at,
        )
        await CaseStep.filter(id=first.id).update(
            status=StepStatus.DONE,
            finished_at=case.opened_at,
            result={"email_id": email.id, "subject": sent.subject},
        )
        await AttemptLedger.create(
            stripe_account_id="acct_test",
            invoice_id="in_1",
            key="ch_1",
            source=AttemptSource.STRIPE,
            at=case.opened_at,
            outcome=AttemptOutcome.FAILED,
            decline_code="insufficient_funds",
            charge_id="ch_1",
        )
    return case


async def test_the_operator_works_a_case_and_a_sequence_by_keyboard(
    server: str,  # noqa: F811
    browser: Browser,  # noqa: F811
    clock: FrozenClock,
) -> None:
    case = await _shop_with_a_case(clock)
    page = await browser.new_page()
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and not message.location.get("url", "").endswith("favicon.ico"):
            errors.append(message.text)

    page.on("console", on_console)
    await page.goto(f"{server}/signin")
    await page.get_by_label("Email address").fill("ops@example.test")
    await page.get_by_role("button", name="Email me a sign-in link").click()
    await page.goto(f"{server}{await last_link('ops@example.test')}")
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{server}/app")
    await page.wait_for_load_state("networkidle")
    # The dashboard's own panels are another test's business: from here on, these pages.
    errors.clear()

    await page.get_by_role("link", name="Recovery", exact=True).click()
    await page.wait_for_url(f"{server}/app/recovery/cases")
    await page.get_by_role("link", name=f"#{case.id}", exact=True).focus()
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{server}/app/recovery/cases/{case.id}")

    # Pause and resume with the keyboard: htmx swaps the case in place, a status says so.
    await page.get_by_role("button", name="Pause", exact=True).focus()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("status").first).to_contain_text("Paused")
    await page.get_by_role("button", name="Resume", exact=True).focus()
    await page.keyboard.press("Space")
    await expect(page.get_by_role("status").first).to_have_text("Resumed.")
    assert page.url == f"{server}/app/recovery/cases/{case.id}"

    # The email as sent: its HTML part keeps the inline styles the customer's client shows.
    day0 = page.get_by_role("region", name="Timeline").get_by_role("listitem").first
    await day0.get_by_text("HTML", exact=True).click()
    button = day0.frame_locator("iframe").get_by_role("link", name="Update your payment details")
    await expect(button).to_have_css("background-color", BUTTON_BLUE)
    await page.screenshot(path=str(SHOTS / "secondloop-recovery-operator-case.png"), full_page=True)

    # The sequence editor: a step's type changes its fields; a preview needs no save.
    await page.get_by_role("link", name="Sequences", exact=True).click()
    await page.get_by_role("link", name="funds").click()
    await expect(
        page.get_by_label("payday-aware: move to the 1st or 15th when within 3 days")
    ).to_have_count(2)
    await page.locator("#s1-type").select_option("wait")  # the day-2 retry becomes a wait
    await expect(
        page.get_by_label("payday-aware: move to the 1st or 15th when within 3 days")
    ).to_have_count(1)
    await page.get_by_role("button", name="Preview").first.focus()
    await page.keyboard.press("Enter")
    preview = page.get_by_role("region", name="Preview of step 1")
    await expect(preview).to_contain_text("Hi Ada Lovelace,")
    await page.emulate_media(color_scheme="dark")
    await page.screenshot(path=str(SHOTS / "secondloop-recovery-editor-dark.png"), full_page=True)
    await page.emulate_media(color_scheme="light")
    with workspace_scope(case.workspace_id):
        assert (await current_version(Category.FUNDS)).version == 1  # nothing was saved
    assert not errors, errors
