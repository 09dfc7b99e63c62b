"""The log filter that keeps secrets (Stripe's and our bearer URLs) out of log lines."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest

from core.redact import RedactSecrets, redact
from tests.core.logging_support import saved_logging


def test_redacts_keys_secrets_tokens_also_inside_form_bodies() -> None:
    line = (
        "key=rk_test_51AbCdEf secret whsec_Zx9_yy-12 url=%2Fwebhooks%2Fstripe%2Fwh_Ab-cD_ef12345 "
        "code=ac_9f8e7d6c refresh:rt_00112233 platform sk_live_abcdef12"
    )
    cleaned = redact(line)
    for secret in ("51AbCdEf", "Zx9_yy-12", "Ab-cD_ef12345", "9f8e7d6c", "00112233", "abcdef12"):
        assert secret not in cleaned
    assert "rk_test_[redacted]" in cleaned and "whsec_[redacted]" in cleaned


def test_leaves_ordinary_text_alone() -> None:
    line = "invoice in_123 paid; start_date=2026 smart_retry /webhooks/stripe/connect"
    assert redact(line) == line


def test_the_filter_rewrites_the_record(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.redact")
    logger.addFilter(RedactSecrets())
    with caplog.at_level(logging.INFO, logger="test.redact"):
        logger.info("using %s", "rk_live_supersecret1")
    assert caplog.records[0].getMessage() == "using rk_live_[redacted]"


def test_arguments_keep_their_shape_for_formatters_that_unpack_them() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "POST", "/webhooks/stripe/wh_AbCdEf123456", "1.1", 200),
        None,
    )
    RedactSecrets().filter(record)
    assert isinstance(record.args, tuple) and len(record.args) == 5 and record.args[4] == 200
    assert (
        record.getMessage() == '127.0.0.1:5000 - "POST /webhooks/stripe/wh_[redacted] HTTP/1.1" 200'
    )


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/signin/sl_AbCdEfGhIjKlMnOpQrStUv", "/signin/sl_[redacted]"),
        ("/invite/inv_AbCdEfGhIjKlMnOpQrStUv", "/invite/inv_[redacted]"),
        ("/u/eyJ3IjoxLCJlIjoiYUBiLmMifQ.Zx9-yy_12", "/u/[redacted]"),
        (
            "/u/eyJ3IjoxfQ.sig?List-Unsubscribe=One-Click",
            "/u/[redacted]?List-Unsubscribe=One-Click",
        ),
        ("/webhooks/stripe/Zz9-not-prefixed", "/webhooks/stripe/[redacted]"),
        ("/webhooks/stripe/connect", "/webhooks/stripe/connect"),
        ("/stripe/connect/callback?code=ac_123456789&state=x", None),
        (
            "/signin?next=%2Finvite%2Finv_AbCdEfGhIjKlMnOpQrStUv",
            "/signin?next=%2Finvite%2Finv_[redacted]",
        ),
        ("/signin", "/signin"),
        ("/app/settings/members/12/role", "/app/settings/members/12/role"),
    ],
)
def test_token_bearing_paths_are_redacted(path: str, expected: str | None) -> None:
    cleaned = redact(f"GET https://recover.example.com{path} HTTP/1.1")
    if expected is None:
        assert "123456789" not in cleaned
    else:
        assert cleaned == f"GET https://recover.example.com{expected} HTTP/1.1"


def test_secondloop_tokens_are_redacted_anywhere_but_short_names_stay() -> None:
    line = (
        "Authorization: Bearer sl_AbCdEfGhIjKlMnOpQrSt; cookie sl_session=x; inv_AbCdEfGhIjKlMnOpQr"
    )
    cleaned = redact(line)
    assert "AbCdEf" not in cleaned
    assert "sl_session" in cleaned


def test_redaction_is_idempotent() -> None:
    once = redact("/signin/sl_AbCdEfGhIjKlMnOpQrStUv rk_live_abcdefgh")
    assert redact(once) == once


@pytest.fixture
def restore_logging() -> Iterator[None]:
    with saved_logging():
        yield


def _access_record(path: str) -> logging.LogRecord:
    return logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", path, "1.1", 200),
        None,
    )


def test_uvicorn_access_line_with_a_magic_link_is_redacted() -> None:
    record = _access_record("/signin/sl_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg")
    RedactSecrets().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "GET /signin/sl_[redacted] HTTP/1.1" 200'


def test_logging_config_redacts_every_logger_end_to_end(
    monkeypatch: pytest.MonkeyPatch, restore_logging: None
) -> None:
    """configure_logging (what `serve` uses, with uvicorn's log_config=None) writes JSON lines
    to stderr; a token in the access log, in our own logger and in a traceback never shows."""
    import io
    import json
    import sys

    from core.logs import configure_logging
    from core.settings import Settings

    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    # As after something in the process applied uvicorn's own logging config.
    access = logging.getLogger("uvicorn.access")
    access.addHandler(logging.StreamHandler(io.StringIO()))
    access.propagate = False
    access.setLevel(logging.WARNING)
    configure_logging(Settings(log_level="INFO"))
    logging.getLogger("uvicorn.access").handle(_access_record("/invite/inv_AbCdEfGhIjKlMnOpQrStUv"))
    logging.getLogger("plugins.recovery.x").info("link %s", "https://x.test/u/eyJ3IjoxfQ.sig")
    try:
        raise RuntimeError("failed on /u/eyJ3IjoxfQ.sig")
    except RuntimeError:
        logging.getLogger("core.y").exception("boom")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["logger"] for line in lines] == ["uvicorn.access", "plugins.recovery.x", "core.y"]
    text = stream.getvalue()
    for secret in ("AbCdEfGhIjKl", "eyJ3IjoxfQ"):
        assert secret not in text
    assert "/invite/inv_[redacted]" in lines[0]["msg"]
    assert "/u/[redacted]" in lines[2]["exc"]


def test_a_bad_log_level_is_a_settings_error() -> None:
    from core.logs import configure_logging
    from core.settings import Settings, SettingsError

    with pytest.raises(SettingsError, match="SECONDLOOP_LOG_LEVEL"):
        configure_logging(Settings(log_level="LOUD"))


async def test_a_real_uvicorn_access_log_is_redacted(
    monkeypatch: pytest.MonkeyPatch, restore_logging: None
) -> None:
    """The way `serve` runs uvicorn (log_config=None after configure_logging): request a magic
    link and an unsubscribe link over a socket, read the access log lines."""
    import asyncio
    import io
    import socket
    import sys

    import httpx
    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from core.logs import configure_logging
    from core.settings import Settings

    async def ok(request: object) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/{rest:path}", ok)])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    configure_logging(Settings(log_level="INFO"))
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        await client.get("/signin/sl_AbCdEfGhIjKlMnOpQrStUvWxYz012345")
        await client.get("/u/eyJ3IjoxfQ.SiGnAtUrE")
    server.should_exit = True
    await task
    text = stream.getvalue()
    assert "GET /signin/sl_[redacted] HTTP/1.1" in text and "GET /u/[redacted] HTTP/1.1" in text
    assert "AbCdEfGhIjKl" not in text and "SiGnAtUrE" not in text


def test_a_plugins_token_paths_are_redacted_once_its_runtime_is_built(settings: Any) -> None:
    """A third-party plugin's customer links: declared with `register_token_paths`."""
    from core.app import create_runtime
    from core.plugins import build_plugin_host, hookimpl

    class Portal:
        @hookimpl
        def register_token_paths(self) -> list[str]:
            return ["portal/o", "portal"]

    before = redact("GET /portal/o/eyJ3IjoxfQ.SeCrEt HTTP/1.1")
    assert "SeCrEt" in before  # unknown until the plugin is loaded
    create_runtime(settings.replace(plugins=()), host=build_plugin_host((), [("portal", Portal())]))
    assert redact("GET /portal/o/eyJ3IjoxfQ.SeCrEt HTTP/1.1") == "GET /portal/o/[redacted] HTTP/1.1"
    assert redact("/portal/eyJ3IjoxfQ.SeCrEt/x") == "/portal/[redacted]/x"
    assert redact("/signin/sl_AbCdEfGhIjKlMnOpQrStUv") == "/signin/sl_[redacted]"


def test_recovery_customer_links_are_redacted(settings: Any) -> None:
    from core.app import create_runtime
    from core.plugins import build_plugin_host

    create_runtime(settings.replace(plugins=("recovery",)), host=build_plugin_host(("recovery",)))
    assert redact("/r/eyJ3IjoxLCJjIjoyfQ.abc") == "/r/[redacted]"
    assert redact("/r/eyJ3IjoxfQ.abc/welcome") == "/r/[redacted]/welcome"
    assert redact("/r/o/eyJ3IjoxfQ.abc") == "/r/o/[redacted]"


async def test_every_token_route_of_the_app_is_redacted(app: Any) -> None:
    """A route with a `{token}` segment (any plugin's, the built-in ones loaded) must be one
    whose token the log filter scrubs: its plugin declares it with `register_token_paths`."""
    from starlette.routing import Mount, Route

    def paths(routes: list[Any], prefix: str = "") -> list[str]:
        found = []
        for route in routes:
            if isinstance(route, Mount):
                found += paths(list(route.routes), prefix + route.path)
            elif isinstance(route, Route):
                found.append(prefix + route.path)
        return found

    bearer = [p for p in paths(app.routes) if "{token" in p]
    assert {"/signin/{token}", "/invite/{token}", "/u/{token}", "/r/{token}"} <= set(bearer)
    for path in bearer:
        concrete = re.sub(r"\{token[^}]*\}", "eyJ3IjoxfQ.SeCrEtToKeN", path)
        concrete = re.sub(r"\{[^}]+\}", "1", concrete)
        assert "SeCrEtToKeN" not in redact(f"GET {concrete} HTTP/1.1"), path
