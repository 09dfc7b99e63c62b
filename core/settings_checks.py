"""What `Settings.validate()` refuses and what `Settings.warnings()` points out.

A problem stops every process with one message listing them all. A warning is printed by
`secondloop config check` and logged by every process at start-up: the configuration works,
but probably not as meant. A half-configured Stripe Connect is a problem in production and a
warning elsewhere, where tests and the sandbox legitimately run without a Connect endpoint.
"""

from __future__ import annotations

import base64
import ipaddress
from email.utils import parseaddr
from urllib.parse import urlsplit

from core.settings import (
    DEV_ENCRYPTION_KEY,
    DEV_SECRET_KEY,
    LOG_LEVELS,
    Settings,
    SettingsError,
)


def problems(settings: Settings) -> list[str]:
    found = _general(settings) + _email(settings) + _connect(settings)[0]
    if settings.production:
        found += _production(settings)
    return found


def warnings(settings: Settings) -> list[str]:
    found = _connect(settings)[1]
    if not settings.smtp_url and not settings.production:
        if settings.dev_outbox == "on":
            found.append(
                "SECONDLOOP_DEV_OUTBOX=on: /dev/outbox shows every sign-in link to any client"
            )
        elif settings.dev_outbox == "off" or not is_loopback(urlsplit(settings.base_url).hostname):
            found.append(
                "SECONDLOOP_SMTP_URL is unset and /dev/outbox is off (the base URL is not "
                "loopback, or SECONDLOOP_DEV_OUTBOX=off): sign-in mail reaches nobody; set "
                "SECONDLOOP_SMTP_URL, or SECONDLOOP_DEV_OUTBOX=on on a development box"
            )
    return found


def is_loopback(host: str | None) -> bool:
    """`localhost`, `*.localhost`, 127.0.0.0/8 or ::1."""
    if not host:
        return False
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_address(value: str) -> bool:
    """An address (`a@b.c` or `Name <a@b.c>`) fit for a From header."""
    if "\r" in value or "\n" in value:
        return False
    _name, address = parseaddr(value)
    local, at, domain = address.rpartition("@")
    return bool(at and local and domain) and not any(c.isspace() for c in address)


def _general(settings: Settings) -> list[str]:
    found: list[str] = []
    if settings.environment not in {"development", "test", "production"}:
        found.append("SECONDLOOP_ENV must be development, test or production")
    if settings.database_url.split("://", 1)[0] not in {"sqlite", "postgres", "asyncpg"}:
        found.append("SECONDLOOP_DATABASE_URL must start with sqlite://, postgres:// or asyncpg://")
    if not (settings.embedded_broker or settings.broker_url.startswith(("redis://", "rediss://"))):
        found.append("SECONDLOOP_BROKER_URL must be memory:// or redis://…")
    for name, url in (
        ("SECONDLOOP_BASE_URL", settings.base_url),
        ("SECONDLOOP_STRIPE_API_BASE", settings.stripe_api_base),
        ("SECONDLOOP_STRIPE_CONNECT_BASE", settings.stripe_connect_base),
    ):
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            found.append(f"{name} must be an http(s) URL, got {url!r}")
    found += _keyring(settings.encryption_keys)
    if not 0 <= settings.webhook_secret_grace <= 30 * 24 * 3600:
        found.append("SECONDLOOP_WEBHOOK_SECRET_GRACE must be 0 to 2592000 seconds")
    if settings.log_level not in LOG_LEVELS:
        found.append(
            f"SECONDLOOP_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, "
            f"got {settings.log_level!r}"
        )
    return found


def _keyring(keys: tuple[str, ...]) -> list[str]:
    if not keys:
        return ["SECONDLOOP_ENCRYPTION_KEYS needs at least one key"]
    found = []
    for index, key in enumerate(keys):
        try:
            raw = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))
        except ValueError:
            raw = b""
        if len(raw) != 32:
            found.append(
                f"SECONDLOOP_ENCRYPTION_KEYS entry {index + 1} must be 32 bytes, base64url "
                "(make one with: python -c 'import os,base64;"
                "print(base64.urlsafe_b64encode(os.urandom(32)).decode())')"
            )
    return found


def _email(settings: Settings) -> list[str]:
    from core.email.ratelimit import configured_limits  # imports the models

    found: list[str] = []
    if settings.smtp_url and urlsplit(settings.smtp_url).scheme not in {"smtp", "smtps"}:
        found.append("SECONDLOOP_SMTP_URL must start with smtp:// or smtps://")
    if settings.dev_outbox not in {"auto", "on", "off"}:
        found.append(f"SECONDLOOP_DEV_OUTBOX must be auto, on or off, got {settings.dev_outbox!r}")
    if not is_address(settings.email_from):
        found.append(
            "SECONDLOOP_EMAIL_FROM must be an email address, optionally with a name "
            f"(e.g. 'SecondLoop <no-reply@example.com>'), got {settings.email_from!r}"
        )
    try:
        configured_limits(settings)
    except SettingsError as exc:
        found.append(str(exc))
    return found


def _connect(settings: Settings) -> tuple[list[str], list[str]]:
    """(problems, warnings) of the platform's Connect settings."""
    serious: list[str] = []
    mild: list[str] = []
    client_id, secret_key = settings.stripe_client_id, settings.stripe_secret_key
    if client_id and not secret_key:
        serious.append(
            "SECONDLOOP_STRIPE_CLIENT_ID is set without SECONDLOOP_STRIPE_SECRET_KEY: Connect "
            "OAuth needs the platform's secret key to exchange the authorization code"
        )
    if secret_key and not client_id:
        mild.append(
            "SECONDLOOP_STRIPE_SECRET_KEY is set without SECONDLOOP_STRIPE_CLIENT_ID: no account "
            "can connect with Stripe (OAuth) until the client id is set"
        )
    if client_id and not settings.stripe_connect_webhook_secret:
        serious.append(
            "SECONDLOOP_STRIPE_CLIENT_ID is set without SECONDLOOP_STRIPE_CONNECT_WEBHOOK_SECRET: "
            "events of accounts connected with Stripe are refused at /webhooks/stripe/connect "
            "(create the platform's Connect webhook endpoint and set its whsec_… secret)"
        )
    if client_id and not client_id.startswith("ca_"):
        mild.append(f"SECONDLOOP_STRIPE_CLIENT_ID is usually ca_…, got {client_id!r}")
    return (serious, mild) if settings.production else ([], serious + mild)


def _production(settings: Settings) -> list[str]:
    found: list[str] = []
    if settings.secret_key == DEV_SECRET_KEY or len(settings.secret_key) < 32:
        found.append("production needs SECONDLOOP_SECRET_KEY (32+ random characters)")
    if DEV_ENCRYPTION_KEY in settings.encryption_keys:
        found.append("production needs SECONDLOOP_ENCRYPTION_KEYS (not the development key)")
    if not settings.base_url.startswith("https://"):
        found.append("production needs an https:// SECONDLOOP_BASE_URL")
    if not settings.smtp_url:
        # Sign-in links would land in the outbox, which production does not show.
        found.append("production needs SECONDLOOP_SMTP_URL (sign-in links are emailed)")
    if settings.dev_outbox == "on":
        found.append("production cannot show the dev outbox: unset SECONDLOOP_DEV_OUTBOX")
    return found
