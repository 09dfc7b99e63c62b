"""The whole recovery journey, in a real browser, with every part real and over the network.

SecondLoop runs as `secondloop serve` would (uvicorn on a free port, SQLite, the in-process
broker with its worker and scheduler, SMTP to an aiosmtpd server); the Stripe sandbox runs over
HTTP and delivers its webhooks to the app through the endpoint SecondLoop itself created when
the workspace connected its restricted key. A renewal fails, the day-0 email lands in the SMTP
server, Chromium follows its link to the sandbox's Billing Portal and enters a new card like a
customer would, the sandbox pays the open invoice, and the case closes as recovered with no
further email. Every wait polls a condition with a deadline; nothing sleeps and hopes.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import pytest_asyncio
import uvicorn
from aiosmtpd.controller import Controller
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright, expect
from selectolax.lexbor import LexborHTMLParser
from tortoise.context import TortoiseContext

from core.api.keys import create_key
from core.app import Roles, create_app, create_runtime
from core.models.accounts import StripeTestClock
from core.models.email import OutboundEmail
from core.models.events import Event, Job, JobStatus
from core.models.workspaces import Workspace
from core.plugins import build_plugin_host
from core.runtime import Runtime
from core.settings import Settings
from core.stripe.restricted_key import connect_with_key
from core.tenancy import unscoped, workspace_scope
from core.testing.fixtures import pointed_at
from plugins.recovery.models import Case, CaseStatus, CaseStep, RecoverySettings, StepStatus
from sandbox.billing.scenario import Scenario
from sandbox.testing import RunningSandbox, running_sandbox_async
from tests.core.web_support import last_link

pytestmark = pytest.mark.browser
CHROMIUM = Path("/usr/bin/chromium")
HAVE_CHROMIUM = CHROMIUM.exists()
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path("/tmp")
WAIT = 20.0  # seconds any one condition may take before the test fails
T = TypeVar("T")


# -- waiting on conditions ----------------------------------------------------------------------


async def eventually(
    probe: Callable[[], Awaitable[T | None]], what: str, timeout: float = WAIT
) -> T:
    """Poll `probe` until it returns something truthy; fail after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        found = await probe()
        if found:
            return found
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)


async def _jobs_idle(runtime: Runtime) -> bool:
    """No job that is due is still pending or running (delayed ones may wait)."""
    with unscoped():
        busy = await Job.filter(
            status__in=[JobStatus.PENDING, JobStatus.RUNNING], run_after__lte=runtime.now()
        ).exists()
    return not busy


async def settle(live: Live) -> None:
    """Wait until the sandbox has delivered every event and the app has run every due job.

    Twice, because a job may call the sandbox (a retry, a portal session) and cause new events.
    """
    for _ in range(2):
        await asyncio.to_thread(live.sandbox.wait_for_deliveries, WAIT)
        await eventually(lambda: _jobs_idle(live.runtime), "the app's jobs to finish")


# -- nothing left behind ------------------------------------------------------------------------

_LISTENING: list[int] = []  # every port a fixture of this module listened on


@pytest.fixture(autouse=True)
def _no_leaks() -> Iterator[None]:
    """After the test (and every other fixture) is gone: no thread it started is still
    running and no port it listened on still accepts connections."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 10
    while True:
        # asyncio's default executor (asyncio.to_thread) belongs to the test's event loop,
        # which pytest-asyncio closes after this fixture.
        left = [
            t
            for t in threading.enumerate()
            if t not in before and t.is_alive() and not t.name.startswith("asyncio_")
        ]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not left, f"threads still running: {left}"
    for port in _LISTENING:
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still open"
    _LISTENING.clear()


# -- an SMTP server ------------------------------------------------------------------------------


class Inbox:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 Message accepted"


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def _free_port() -> int:
    with _free_socket() as sock:
        return int(sock.getsockname()[1])


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    _LISTENING.append(port)
    try:
        yield handler, port
    finally:
        controller.stop()


# -- the sandbox and the app, over HTTP ----------------------------------------------------------


@dataclass
class Live:
    base: str
    runtime: Runtime
    sandbox: RunningSandbox
    inbox: Inbox


@pytest_asyncio.fixture
async def sandbox() -> AsyncIterator[RunningSandbox]:
    async with running_sandbox_async(seed=None) as sb:
        _LISTENING.append(httpx.URL(sb.url).port or 0)
        yield sb


@pytest_asyncio.fixture
async def live(
    settings: Settings, sandbox: RunningSandbox, inbox: tuple[Inbox, int]
) -> AsyncIterator[Live]:
    """SecondLoop as `secondloop serve` runs it (web, worker, scheduler), on a free port."""
    handler, smtp_port = inbox
    sock = _free_socket()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    _LISTENING.append(sock.getsockname()[1])
    configured = pointed_at(settings, sandbox).replace(
        base_url=base,
        smtp_url=f"smtp://127.0.0.1:{smtp_port}",
        email_from="Acme Billing <billing@acme.test>",
    )
    runtime = create_runtime(configured, host=build_plugin_host(configured.plugins))
    app = create_app(configured, runtime=runtime, roles=Roles())
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    )
    # Tortoise keeps its state in a ContextVar: entering one here lets the lifespan task (which
    # opens the database), uvicorn's connection tasks and this test share the same connections.
    with TortoiseContext():
        task = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            await eventually(lambda: _started(server, task), "uvicorn to start", timeout=15)
            yield Live(base, runtime, sandbox, handler)
        finally:
            server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=15)
            sock.close()


async def _started(server: uvicorn.Server, task: asyncio.Task[None]) -> bool:
    if task.done():
        task.result()  # raises what stopped it
        raise AssertionError("uvicorn stopped during start-up")
    return bool(server.started)


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Browser]:
    if not HAVE_CHROMIUM:
        pytest.skip("Debian chromium is not installed (make test installs it)")
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield launched
        finally:
            await launched.close()


async def new_page(browser: Browser) -> tuple[Page, list[str]]:
    """A page, and the console errors it logs (a refused inline style, a failed script...)."""
    page = await browser.new_page()
    page.set_default_timeout(WAIT * 1000)
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # Chromium asks every origin for a favicon; neither the app nor the sandbox has one.
        if message.type == "error" and not message.location["url"].endswith("/favicon.ico"):
            errors.append(f"{page.url}: {message.text}")

    page.on("console", on_console)
    return page, errors


# -- the journey ---------------------------------------------------------------------------------


@dataclass
class Shop:
    workspace_id: int
    account: str
    scenario: Scenario


async def connected_shop(live: Live) -> Shop:
    """A workspace connected by restricted key (SecondLoop creates its webhook endpoint on the
    account) with recovery turned on through the API and its brand set."""
    account = await asyncio.to_thread(live.sandbox.create_account, name="Acme Analytics")
    workspace = await Workspace.create(name="Acme", slug="acme")
    connected = await connect_with_key(live.runtime, workspace, account["restricted_key"])
    assert connected.endpoint_created and connected.webhook_url.startswith(live.base)
    key = await create_key(live.runtime, workspace.id, "write")
    async with httpx.AsyncClient(base_url=live.base) as http:
        response = await http.post(
            "/api/v1/recovery/enable", headers={"Authorization": f"Bearer {key.secret}"}
        )
    assert response.status_code == 200 and response.json()["enabled"] is True, response.text
    with workspace_scope(workspace.id):
        await RecoverySettings.filter().update(
            sender_name="Acme", reply_to="help@acme.test", product_description="Acme Pro"
        )
    return Shop(workspace.id, account["id"], Scenario(live.sandbox, account=account["id"]))


async def advance(live: Live, shop: Shop, clock: str, **delta: float) -> int:
    """Advance the test clock, then wait until SecondLoop has followed it to the new time."""
    target = await asyncio.to_thread(shop.scenario.advance, clock, **delta)  # type: ignore[arg-type]
    expected = datetime.fromtimestamp(target, UTC)

    async def followed() -> bool:
        with workspace_scope(shop.workspace_id):
            seen = await StripeTestClock.filter(clock_id=clock, status="ready").first()
        return seen is not None and seen.frozen_time == expected

    await eventually(followed, f"SecondLoop to see clock {clock} ready at {expected}")
    await settle(live)
    return target


def link_in(text: str, base: str) -> str:
    links = re.findall(rf"{re.escape(base)}/r/[A-Za-z0-9_.\-]+", text)
    assert len(set(links)) == 1, f"expected one recovery link in {text!r}"
    return str(links[0])


def plain_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def check_day0_email(message: EmailMessage, base: str) -> tuple[str, str]:
    """The first email: subject, sender, both parts, one-click unsubscribe.

    Returns its link and its HTML part."""
    assert message["Subject"] == "Your payment for Acme Pro didn't go through"
    assert message["To"] == "ada@example.test"
    assert message["From"] == "Acme <billing@acme.test>"
    assert message["Reply-To"] == "help@acme.test"
    plain = message.get_body(preferencelist=("plain",))
    rich = message.get_body(preferencelist=("html",))
    assert plain is not None and rich is not None
    text, markup = str(plain.get_content()), str(rich.get_content())
    assert text.startswith("Hi Ada Lovelace,") and "29.00 USD for Acme Pro" in text
    link = link_in(text, base)
    shown = LexborHTMLParser(markup)
    assert shown.body is not None and "29.00 USD for Acme Pro" in shown.body.text()
    assert link in [a.attributes.get("href") for a in shown.css("a")]  # clickable, not just text
    unsubscribe = str(message["List-Unsubscribe"])
    assert re.fullmatch(
        rf"<{re.escape(base)}/[^>\s]+>, <mailto:billing@acme\.test\?[^>]+>", unsubscribe
    ), unsubscribe
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    return link, markup


async def test_a_failed_renewal_is_recovered_through_the_email_link(
    browser: Browser, live: Live
) -> None:
    shop = await connected_shop(live)
    s = shop.scenario

    # A trial on a card that attaches but whose charges fail: the sign-up costs nothing, the
    # first renewal declines.
    def subscribe() -> tuple[str, str, dict[str, Any]]:
        clock = s.clock()
        customer, _pm = s.customer(
            clock,
            card="pm_card_chargeCustomerFail",
            email="ada@example.test",
            name="Ada Lovelace",
        )
        return clock, customer, s.subscribe(customer, s.price(2900), trial_period_days=7)

    clock, _customer, sub = await asyncio.to_thread(subscribe)
    await settle(live)
    with workspace_scope(shop.workspace_id):
        assert await Case.all().count() == 0  # nothing has failed yet

    await advance(live, shop, clock, days=7, seconds=7200)  # the renewal, then its charge
    await eventually(lambda: _count(live.inbox.messages), "the day-0 email in the SMTP server")
    assert len(live.inbox.messages) == 1
    link, markup = check_day0_email(live.inbox.messages[0], live.base)
    invoice = await asyncio.to_thread(s.latest_invoice, sub["id"])
    assert invoice["status"] == "open" and invoice["billing_reason"] == "subscription_cycle"
    with workspace_scope(shop.workspace_id):
        case = await Case.get(invoice_id=invoice["id"])
        first = await CaseStep.get(case_id=case.id, index=0)
    assert (case.status, case.category, case.decline_code) == (
        CaseStatus.OPEN,
        "issuer",
        "generic_decline",
    )
    assert (first.type, first.status) == ("email", StepStatus.DONE)

    await advance(live, shop, clock, days=1)  # the customer reads the email the next day

    page, errors = await new_page(browser)
    # The customer opens the email (its HTML part, as a mail client shows it) and clicks.
    await page.set_content(markup)
    await page.locator(f'a[href="{link}"]').first.click()
    await page.wait_for_url(re.compile(rf"^{re.escape(live.sandbox.url)}/_sandbox/portal/"))
    await expect(page.get_by_role("heading", name="Manage your billing")).to_be_visible()
    await page.screenshot(path=str(SHOTS / "secondloop-recovery-portal.png"), full_page=True)
    await page.get_by_label("Card number").fill("4242 4242 4242 4242")
    await page.get_by_label("Expiry month").fill("12")
    await page.get_by_label("Expiry year").fill(str(datetime.now(UTC).year + 5))
    await page.get_by_label("CVC").fill("123")
    await page.get_by_role("button", name="Update payment method").click()
    await expect(page.get_by_text("Payment method updated.")).to_be_visible()
    await expect(page.get_by_text(f"Invoice {invoice['number']} paid.")).to_be_visible()
    await expect(page.locator("#payment-method")).to_contain_text("4242")
    await page.screenshot(path=str(SHOTS / "secondloop-recovery-portal-paid.png"), full_page=True)

    async def recovered() -> Case | None:
        with workspace_scope(shop.workspace_id):
            found = await Case.get(id=case.id)
        return found if found.status == CaseStatus.RECOVERED else None

    done = await eventually(recovered, "the case to be recovered")
    await settle(live)
    paid = await asyncio.to_thread(s.get, f"/v1/invoices/{invoice['id']}")
    paid_at = datetime.fromtimestamp(paid["status_transitions"]["paid_at"], UTC)
    with workspace_scope(shop.workspace_id):
        done = await Case.get(id=case.id)
        first = await CaseStep.get(id=first.id)
        pending = await CaseStep.filter(case_id=case.id, status=StepStatus.PENDING).count()
    assert paid["status"] == "paid" and done.recovered_amount == 2900
    assert done.recovered_by_step == "0:email"  # the email whose link the customer followed
    assert "clicked_at" in first.result and pending == 0
    assert done.recovered_at == paid_at
    assert done.time_to_recover == int((paid_at - done.opened_at).total_seconds())
    # In the customer's (test clock) time: a day after the failure, give or take its hour.
    assert 86_400 <= done.time_to_recover <= 86_400 + 7_200

    # The sequence had emails due on days 3 and 7: past them, nothing more is sent.
    await advance(live, shop, clock, days=8)
    with unscoped():
        sent = await OutboundEmail.filter(workspace_id=shop.workspace_id).count()
    assert sent == 1 and len(live.inbox.messages) == 1
    with workspace_scope(shop.workspace_id):
        ready = await Event.filter(type="test_helpers.test_clock.ready").count()
    assert ready >= 3  # the app followed every advance, so "nothing sent" means something

    # The same link after recovery: a friendly page on SecondLoop, not a portal.
    await page.goto(link)
    assert page.url == link
    await expect(page.get_by_role("heading", name="You're all set")).to_be_visible()
    await expect(page.get_by_text("There is nothing left to pay on this invoice.")).to_be_visible()
    await page.screenshot(path=str(SHOTS / "secondloop-recovery-link-paid.png"), full_page=True)
    assert not errors, errors

    deliveries = await asyncio.to_thread(live.sandbox.deliveries, account=shop.account)
    assert deliveries and all(d["succeeded"] for d in deliveries), deliveries


async def _count(messages: list[EmailMessage]) -> int:
    return len(messages)


async def test_an_authentication_decline_is_confirmed_on_the_hosted_invoice_page(
    browser: Browser, live: Live
) -> None:
    """A renewal that needs 3D Secure: the email's link opens the invoice's hosted page (not
    the portal), where the customer confirms the payment."""
    shop = await connected_shop(live)
    s = shop.scenario

    def subscribe() -> tuple[str, dict[str, Any]]:
        clock = s.clock()
        customer, _pm = s.customer(
            clock, card="pm_card_authenticationRequired", email="ada@example.test", name="Ada"
        )
        return clock, s.subscribe(customer, s.price(4900), trial_period_days=7)

    clock, sub = await asyncio.to_thread(subscribe)
    await advance(live, shop, clock, days=7, seconds=7200)
    mail = await eventually(lambda: mail_to(live.inbox, "ada@example.test"), "the email")
    assert mail["Subject"] == "Please confirm your payment for Acme Pro"
    link = link_in(plain_text(mail), live.base)
    invoice = await asyncio.to_thread(s.latest_invoice, sub["id"])
    with workspace_scope(shop.workspace_id):
        case = await Case.get(invoice_id=invoice["id"])
    assert (case.category, case.status) == ("authentication", CaseStatus.OPEN)

    page, errors = await new_page(browser)
    await page.goto(link)
    await page.wait_for_url(invoice["hosted_invoice_url"])
    await expect(page.locator("#status")).to_have_text("open")
    await page.get_by_role("button", name="Complete authentication").click()
    await expect(page.get_by_text("Payment received, thank you.")).to_be_visible()
    await expect(page.locator("#status")).to_have_text("paid")

    async def recovered() -> Case | None:
        with workspace_scope(shop.workspace_id):
            found = await Case.get(id=case.id)
        return found if found.status == CaseStatus.RECOVERED else None

    done = await eventually(recovered, "the case to be recovered")
    assert done.recovered_amount == 4900 and done.recovered_by_step == "0:email"
    await settle(live)
    await page.goto(link)
    await expect(page.get_by_role("heading", name="You're all set")).to_be_visible()
    assert len(live.inbox.messages) == 1 and not errors, errors


# -- the operator's side -------------------------------------------------------------------------


# What a reader sees of a link: enough to tell a styled button from a bare link.
STYLE_OF = "e => [getComputedStyle(e).display, getComputedStyle(e).backgroundColor].join(' ')"


async def mail_to(inbox: Inbox, address: str) -> EmailMessage | None:
    found = [m for m in inbox.messages if m["To"] == address]
    return found[-1] if found else None


async def test_the_operator_signs_in_connects_and_reads_the_case_timeline(
    browser: Browser, live: Live
) -> None:
    base = live.base
    page, errors = await new_page(browser)

    # Sign in with the link in the sign-in email, read from SecondLoop's outbox.
    await page.goto(f"{base}/signin")
    await page.get_by_label("Email address").fill("owner@acme.test")
    await page.get_by_role("button", name="Email me a sign-in link").click()
    await expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    await page.goto(base + await last_link("owner@acme.test"))
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{base}/onboarding/workspace")
    await page.get_by_label("Workspace name").fill("Acme")
    await page.get_by_role("button", name="Create workspace").click()
    await page.wait_for_url(f"{base}/onboarding/stripe")

    # Connect the Stripe account by pasting its restricted key; SecondLoop makes the endpoint.
    account = await asyncio.to_thread(live.sandbox.create_account, name="Acme Analytics")
    await page.get_by_label("Restricted key", exact=True).fill(account["restricted_key"])
    await page.get_by_role("button", name="Verify and connect").click()
    await expect(page.get_by_role("heading", name="Connected Acme Analytics")).to_be_visible()
    await expect(page.get_by_text("SecondLoop created this endpoint")).to_be_visible()

    # Turn recovery on in its settings.
    await page.goto(f"{base}/app/recovery/settings")
    await page.get_by_label("Recover failed payments").check()
    await page.get_by_label("Sender name").fill("Acme")
    await page.get_by_label("Product", exact=True).fill("Acme Pro")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("status")).to_have_text("Saved.")

    # A customer's renewal fails.
    s = Scenario(live.sandbox, account=account["id"])

    def failing_renewal() -> str:
        clock = s.clock()
        customer, _pm = s.customer(
            clock, card="pm_card_chargeCustomerFail", email="ada@example.test", name="Ada Lovelace"
        )
        s.subscribe(customer, s.price(2900), trial_period_days=7)
        s.advance(clock, days=7, seconds=7200)
        return clock

    await asyncio.to_thread(failing_renewal)
    sent = await eventually(lambda: mail_to(live.inbox, "ada@example.test"), "the day-0 email")
    html_part = sent.get_body(preferencelist=("html",))
    assert html_part is not None
    await settle(live)
    workspace = await Workspace.get(name="Acme")
    with workspace_scope(workspace.id):
        case = await Case.get()

    # The operator finds the case from the navigation and reads its timeline.
    await page.get_by_role("link", name="Recovery", exact=True).click()
    await page.wait_for_url(f"{base}/app/recovery/cases")
    await page.get_by_role("link", name=f"#{case.id}", exact=True).click()
    await page.wait_for_url(f"{base}/app/recovery/cases/{case.id}")
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Case #{case.id}: 29.00 USD from Ada Lovelace"
    )
    timeline = page.get_by_role("region", name="Timeline").get_by_role("listitem")
    await expect(timeline).to_have_count(7)  # the issuer sequence: emails, retries, final steps
    day0 = timeline.nth(0)
    await expect(day0.get_by_role("heading")).to_contain_text("Email the customer")
    await expect(day0.get_by_role("heading")).to_contain_text("done")
    await expect(day0).to_contain_text("Email to ada@example.test: sent")
    await expect(day0).to_contain_text("Your payment for Acme Pro didn't go through")
    await expect(timeline.nth(1).get_by_role("heading")).to_contain_text("Retry the payment")
    await expect(timeline.nth(1).get_by_role("heading")).to_contain_text("next")
    attempts = page.get_by_role("region", name="Payment attempts")
    await expect(attempts.get_by_role("row").nth(1)).to_contain_text("generic_decline")
    # The email as sent: its HTML part looks as it does in the customer's mail client. The
    # button is found by its words there, since the case page may defuse its link.
    client = await browser.new_page()
    await client.set_content(str(html_part.get_content()))
    button = client.get_by_role("link").first
    words, sent_as = await button.inner_text(), await button.evaluate(STYLE_OF)
    await client.close()
    await day0.get_by_text("HTML", exact=True).click()
    preview = day0.frame_locator("iframe").get_by_text(words, exact=True)
    await expect(preview).to_be_visible()
    await page.screenshot(path=str(SHOTS / "secondloop-recovery-case.png"), full_page=True)
    assert await preview.evaluate(STYLE_OF) == sent_as  # styled as sent, not bare text

    # A note, added through htmx, appears in place.
    await page.get_by_label("Add a note").fill("Called Ada: new card on its way.")
    await page.get_by_role("button", name="Add note").click()
    notes = page.get_by_role("region", name="Notes")
    await expect(notes.get_by_role("listitem")).to_contain_text("Called Ada: new card on its way.")
    assert page.url == f"{base}/app/recovery/cases/{case.id}"
    assert not errors, errors
