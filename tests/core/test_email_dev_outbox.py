"""/dev/outbox shows sign-in links, so only to the developer's own machine unless opted in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from core.email import send_email
from core.email.outbox import dev_outbox_enabled
from core.models import Workspace
from core.runtime import Runtime
from core.settings import Settings, SettingsError
from core.settings_checks import is_loopback


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A developer's machine: the default base URL, no SMTP."""
    return settings.replace(base_url="http://127.0.0.1:8000")


async def _signin_mail(runtime: Runtime) -> Any:
    return await send_email(
        runtime,
        workspace_id=None,
        to="new@example.com",
        subject="Your sign-in link",
        text="Open it",
        idempotency_key="s1",
    )


async def test_dev_outbox_lists_sign_in_mail_only(
    app: object, runtime: Runtime, client: httpx.AsyncClient, drain
) -> None:
    signin = await _signin_mail(runtime)
    ws = await Workspace.create(name="Shop", slug="shop")
    await send_email(
        runtime,
        workspace_id=ws.id,
        to="c@example.com",
        subject="Workspace mail",
        text="t",
        idempotency_key="w1",
    )
    await drain()
    page = await client.get("/dev/outbox")
    assert page.status_code == 200
    subjects = [a.text() for a in HTMLParser(page.text).css("table.outbox td a")]
    assert subjects == ["Your sign-in link"]
    detail = await client.get(f"/dev/outbox/{signin.id}")
    assert detail.status_code == 200 and "Open it" in detail.text
    # A workspace's message is not reachable through the dev outbox.
    other = await client.get(f"/dev/outbox/{signin.id + 1}")
    assert other.status_code == 404


async def _from(app: Any, address: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def remote(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async for http in _from(app, "203.0.113.7"):
        yield http


async def test_a_server_bound_beyond_loopback_hides_it_from_other_machines(
    app: object, runtime: Runtime, client: httpx.AsyncClient, remote: httpx.AsyncClient, drain
) -> None:
    """No SECONDLOOP_ENV, no SMTP, `serve --host 0.0.0.0`: a visitor sees no sign-in links."""
    signin = await _signin_mail(runtime)
    await drain()
    assert (await remote.get("/dev/outbox")).status_code == 404
    assert (await remote.get(f"/dev/outbox/{signin.id}")).status_code == 404
    assert "Open it" not in (await remote.get(f"/dev/outbox/{signin.id}")).text
    # Through a reverse proxy on the same machine it is not the developer's browser either.
    proxied = await client.get("/dev/outbox", headers={"X-Forwarded-For": "203.0.113.7"})
    assert proxied.status_code == 404
    assert (await client.get("/dev/outbox")).status_code == 200


async def test_the_sent_page_links_the_outbox_only_where_it_opens(
    app: object, client: httpx.AsyncClient, remote: httpx.AsyncClient
) -> None:
    def outbox_link(html: str) -> bool:
        return HTMLParser(html).css_first('a[href="/dev/outbox"]') is not None

    for http, shown in ((client, True), (remote, False)):
        form = await http.get("/signin")
        token = HTMLParser(form.text).css_first("input[name=csrf_token]")
        assert token is not None
        sent = await http.post(
            "/signin",
            data={"email": "dev@example.com", "csrf_token": token.attributes["value"] or ""},
        )
        assert sent.status_code == 200, sent.text
        assert outbox_link(sent.text) is shown


class TestOptInRemote:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.replace(base_url="https://dev.example.com", dev_outbox="on")

    async def test_on_shows_it_to_any_client(
        self, app: object, runtime: Runtime, remote: httpx.AsyncClient, drain
    ) -> None:
        await _signin_mail(runtime)
        await drain()
        assert (await remote.get("/dev/outbox")).status_code == 200


@pytest.mark.parametrize(
    "change",
    [
        {"smtp_url": "smtp://127.0.0.1:2525"},
        {"environment": "production"},
        {"dev_outbox": "off"},
        {"base_url": "http://testserver"},
        {"base_url": "https://recover.example.com"},
        {"base_url": "http://0.0.0.0:8000"},
    ],
)
def test_dev_outbox_is_off_with_smtp_in_production_off_or_a_public_base_url(
    settings: Settings, change: dict[str, str]
) -> None:
    assert dev_outbox_enabled(settings)
    assert not dev_outbox_enabled(settings.replace(**change))


def test_defaults_allow_it_for_loopback_only() -> None:
    assert dev_outbox_enabled(Settings.from_env({}))
    assert dev_outbox_enabled(Settings.from_env({"SECONDLOOP_BASE_URL": "http://localhost:8000"}))
    assert not dev_outbox_enabled(Settings.from_env({"SECONDLOOP_BASE_URL": "http://10.0.0.5"}))
    assert dev_outbox_enabled(
        Settings.from_env({"SECONDLOOP_BASE_URL": "http://10.0.0.5", "SECONDLOOP_DEV_OUTBOX": "1"})
    )
    for host, loop in (("127.0.0.1", True), ("::1", True), ("[::1]", True), ("app.localhost", True),
                       ("10.0.0.1", False), ("example.com", False), (None, False)):  # fmt: skip
        assert is_loopback(host) is loop


def test_the_setting_is_validated() -> None:
    with pytest.raises(SettingsError, match="SECONDLOOP_DEV_OUTBOX must be auto, on or off"):
        Settings.from_env({"SECONDLOOP_DEV_OUTBOX": "maybe"}).validate()
    production = Settings.from_env(
        {
            "SECONDLOOP_ENV": "production",
            "SECONDLOOP_SECRET_KEY": "s" * 40,
            "SECONDLOOP_ENCRYPTION_KEYS": "A" * 43,
            "SECONDLOOP_BASE_URL": "https://recover.example.com",
            "SECONDLOOP_SMTP_URL": "smtp://mail.example.com:587",
            "SECONDLOOP_DEV_OUTBOX": "on",
        }
    )
    with pytest.raises(SettingsError, match="production cannot show the dev outbox"):
        production.validate()


def test_the_demo_turns_it_on(tmp_path: Any) -> None:
    from core.commands.demo import demo_settings

    assert demo_settings(Settings(), tmp_path).dev_outbox == "on"
    assert dev_outbox_enabled(demo_settings(Settings(base_url="http://0.0.0.0:8000"), tmp_path))
    assert demo_settings(Settings(dev_outbox="off"), tmp_path).dev_outbox == "off"
