"""In a real browser: ask for a link, open it from the outbox, confirm, land on onboarding."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
import uvicorn
from playwright.async_api import Browser, async_playwright
from tortoise.context import TortoiseContext

from core.app import Roles, create_app, create_runtime
from core.clock import FrozenClock
from core.models.workspaces import Workspace
from core.plugins import build_plugin_host
from core.settings import Settings
from tests.core.web_support import connect_stripe, last_link

pytestmark = pytest.mark.browser
CHROMIUM = Path("/usr/bin/chromium")
HAVE_CHROMIUM = CHROMIUM.exists()
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SHOTS = Path("/tmp")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest_asyncio.fixture
async def server(settings: Settings, clock: FrozenClock) -> AsyncIterator[str]:
    """A real uvicorn server on a free port, in this test's event loop."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    live = settings.replace(base_url=base)
    runtime = create_runtime(live, host=build_plugin_host(live.plugins), clock=clock,
                             inline_jobs=True)
    app = create_app(live, runtime=runtime, roles=Roles(scheduler=False))
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    uv = uvicorn.Server(config)
    # Tortoise keeps its state in a ContextVar: entering one here lets the lifespan task (which
    # initialises it), uvicorn's connection tasks and this test all share the same connections.
    with TortoiseContext():
        task = asyncio.create_task(uv.serve())
        for _ in range(200):
            if uv.started or task.done():
                break
            await asyncio.sleep(0.05)
        assert uv.started, "uvicorn did not start"
        try:
            yield base
        finally:
            uv.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=10)


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


async def test_sign_in_through_the_link_lands_on_onboarding(server: str, browser: Browser) -> None:
    page = await browser.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    await page.goto(f"{server}/signin")
    await page.screenshot(path=str(SHOTS / "secondloop-signin.png"), full_page=True)
    await page.get_by_label("Email address").fill("browser@example.com")
    await page.get_by_role("button", name="Email me a sign-in link").click()
    await page.wait_for_url(f"{server}/signin")
    assert await page.get_by_role("heading", name="Check your email").is_visible()

    path = await last_link("browser@example.com")
    await page.goto(f"{server}{path}")
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{server}/onboarding/workspace")
    assert await page.get_by_role("heading", name="Create your workspace").is_visible()
    await page.screenshot(path=str(SHOTS / "secondloop-onboarding.png"), full_page=True)

    await page.get_by_label("Workspace name").fill("Browser Co")
    await page.get_by_role("button", name="Create workspace").click()
    await page.wait_for_url(f"{server}/onboarding/stripe")
    await page.screenshot(path=str(SHOTS / "secondloop-onboarding-stripe.png"), full_page=True)

    # Once a connection is verified the gate opens onto the dashboard shell.
    await connect_stripe((await Workspace.get(name="Browser Co")).id, "acct_browser")
    await page.goto(f"{server}/app")
    assert await page.get_by_role("heading", name="Browser Co").is_visible()
    await page.keyboard.press("Tab")  # the skip link is the first stop for keyboard users
    assert await page.evaluate("document.activeElement.textContent") == "Skip to content"
    await page.screenshot(path=str(SHOTS / "secondloop-dashboard.png"), full_page=True)
    await page.emulate_media(color_scheme="dark")
    await page.screenshot(path=str(SHOTS / "secondloop-dashboard-dark.png"), full_page=True)
    await page.emulate_media(color_scheme="light")

    await page.get_by_role("link", name="Settings").click()
    await page.get_by_role("link", name="Members and invitations").click()
    await page.get_by_label("Email address").fill("teammate@example.com")
    await page.get_by_label("Role").select_option("admin")
    await page.get_by_role("button", name="Send invitation").click()
    notice = await page.get_by_role("status").inner_text()
    assert notice == "Invitation sent to teammate@example.com."
    await page.screenshot(path=str(SHOTS / "secondloop-members.png"), full_page=True)
    assert errors == []  # no CSP violation, no missing asset, no script error
