"""Settings: every knob comes from a `SECONDLOOP_*` environment variable, validated at start-up."""

from __future__ import annotations

import base64
import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

DEV_SECRET_KEY = "dev-insecure-secret-key-change-me"
# A fixed development keyring so `make demo` works with zero configuration; production refuses it.
DEV_ENCRYPTION_KEY = base64.urlsafe_b64encode(b"secondloop-dev-key-not-for-prod!").decode()
STRIPE_API_BASE = "https://api.stripe.com"
STRIPE_CONNECT_BASE = "https://connect.stripe.com"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# The variables the fields above read; every other SECONDLOOP_* variable is a plugin's or a
# core module's own option, kept in `Settings.extra`.
CORE_VARIABLES = frozenset(
    "SECONDLOOP_" + name
    for name in (
        "ENV", "DATABASE_URL", "BROKER_URL", "BROKER_QUEUE", "SECRET_KEY", "ENCRYPTION_KEYS",
        "BASE_URL", "STRIPE_API_BASE", "STRIPE_CONNECT_BASE", "STRIPE_SECRET_KEY",
        "STRIPE_CLIENT_ID", "STRIPE_CONNECT_WEBHOOK_SECRET", "SMTP_URL", "EMAIL_FROM",
        "DEV_OUTBOX", "PLUGINS", "MAX_WEBHOOK_BODY", "LOG_LEVEL", "SWEEP_INTERVAL",
        "WEBHOOK_SECRET_GRACE",
    )
)  # fmt: skip
# An extra variable whose name holds one of these is masked by `masked()`.
SECRET_WORDS = ("TOKEN", "SECRET", "KEY", "PASSWORD")


class SettingsError(ValueError):
    """A setting is missing or invalid; the message says which and how to fix it."""


@dataclass(frozen=True)
class Settings:
    environment: str = "development"
    database_url: str = "sqlite://var/secondloop.db"
    broker_url: str = "memory://"
    broker_queue: str = "secondloop"
    secret_key: str = DEV_SECRET_KEY
    encryption_keys: tuple[str, ...] = (DEV_ENCRYPTION_KEY,)
    base_url: str = "http://127.0.0.1:8000"
    stripe_api_base: str = STRIPE_API_BASE
    stripe_connect_base: str = STRIPE_CONNECT_BASE
    stripe_secret_key: str = ""
    stripe_client_id: str = ""
    stripe_connect_webhook_secret: str = ""
    smtp_url: str = ""
    email_from: str = "SecondLoop <no-reply@secondloop.local>"
    # `/dev/outbox` (sign-in mail without SMTP): auto = only for a loopback base URL and client.
    dev_outbox: str = "auto"
    plugins: tuple[str, ...] | None = None
    max_webhook_body: int = 512 * 1024
    log_level: str = "INFO"
    # Seconds between sweeps for jobs whose broker message was lost.
    sweep_interval: float = 15.0
    # Seconds a rotated webhook signing secret (and a managed endpoint it signed for) stays valid.
    webhook_secret_grace: float = 24 * 3600.0
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @property
    def uses_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def embedded_broker(self) -> bool:
        return self.broker_url.startswith("memory")

    @property
    def var_dir(self) -> Path:
        return Path(os.environ.get("SECONDLOOP_VAR_DIR", "var"))

    def replace(self, **changes: object) -> Settings:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def validate(self) -> None:
        """Raise SettingsError with every problem at once, so an operator fixes them in one go.

        What a development or test process can live with is in `warnings()` instead."""
        from core.settings_checks import problems

        found = problems(self)
        if found:
            raise SettingsError("Invalid configuration:\n  - " + "\n  - ".join(found))

    def warnings(self) -> list[str]:
        """What works but probably is not what the operator meant: `config check` prints these
        and every process logs them at start-up."""
        from core.settings_checks import warnings

        return warnings(self)

    def masked(self) -> dict[str, str]:
        """The effective settings for display, every secret masked; then the other
        `SECONDLOOP_*` variables (plugins' options), masked when their name says secret."""
        secret = {"secret_key", "stripe_secret_key", "stripe_connect_webhook_secret"}
        shown: dict[str, str] = {}
        for f in dataclasses.fields(self):
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            if f.name in secret:
                shown[f.name] = _mask(str(value))
            elif f.name == "encryption_keys":
                shown[f.name] = ", ".join(_mask(k) for k in value)
            elif f.name in {"database_url", "broker_url", "smtp_url"}:
                shown[f.name] = mask_url_password(str(value))
            else:
                shown[f.name] = "" if value is None else str(value)
        for name, value in sorted(self.extra.items()):
            if name in CORE_VARIABLES:
                continue
            key = name.removeprefix("SECONDLOOP_").lower()
            secret_like = any(word in name.upper() for word in SECRET_WORDS)
            shown[key] = _mask(value) if secret_like else mask_url_password(value)
        return shown

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def get(name: str, default: str) -> str:
            return env.get(f"SECONDLOOP_{name}", "").strip() or default

        defaults = cls()
        plugins = get("PLUGINS", "")
        keys = get("ENCRYPTION_KEYS", "")
        environment = get("ENV", defaults.environment)
        dev_outbox = get("DEV_OUTBOX", defaults.dev_outbox)
        try:
            max_body = int(get("MAX_WEBHOOK_BODY", str(defaults.max_webhook_body)))
            sweep = float(get("SWEEP_INTERVAL", str(defaults.sweep_interval)))
            grace = float(get("WEBHOOK_SECRET_GRACE", str(defaults.webhook_secret_grace)))
        except ValueError as exc:
            raise SettingsError(f"Invalid number in configuration: {exc}") from exc
        var_dir = env.get("SECONDLOOP_VAR_DIR", "var")
        return cls(
            environment=environment,
            database_url=get("DATABASE_URL", f"sqlite://{var_dir}/secondloop.db"),
            broker_url=get("BROKER_URL", defaults.broker_url),
            broker_queue=get("BROKER_QUEUE", defaults.broker_queue),
            secret_key=get("SECRET_KEY", defaults.secret_key),
            encryption_keys=tuple(k.strip() for k in keys.split(",") if k.strip())
            if keys
            else (() if environment == "production" else defaults.encryption_keys),
            base_url=get("BASE_URL", defaults.base_url).rstrip("/"),
            stripe_api_base=get("STRIPE_API_BASE", defaults.stripe_api_base).rstrip("/"),
            stripe_connect_base=get("STRIPE_CONNECT_BASE", defaults.stripe_connect_base).rstrip(
                "/"
            ),
            stripe_secret_key=get("STRIPE_SECRET_KEY", ""),
            stripe_client_id=get("STRIPE_CLIENT_ID", ""),
            stripe_connect_webhook_secret=get("STRIPE_CONNECT_WEBHOOK_SECRET", ""),
            smtp_url=get("SMTP_URL", ""),
            email_from=get("EMAIL_FROM", defaults.email_from),
            dev_outbox=_ON_OFF.get(dev_outbox.lower(), dev_outbox.lower()),
            plugins=tuple(p.strip() for p in plugins.split(",") if p.strip()) if plugins else None,
            max_webhook_body=max_body,
            log_level=get("LOG_LEVEL", defaults.log_level).upper(),
            sweep_interval=sweep,
            webhook_secret_grace=grace,
            extra={k: v for k, v in env.items() if k.startswith("SECONDLOOP_")},
        )


# SECONDLOOP_DEV_OUTBOX spellings; anything else is kept as given and refused by validate().
_ON_OFF = dict.fromkeys(("on", "1", "true", "yes"), "on") | dict.fromkeys(
    ("off", "0", "false", "no"), "off"
)


def _mask(value: str) -> str:
    if not value:
        return "(unset)"
    return value[:4] + "…" + "*" * 6 if len(value) > 8 else "*" * 6


def mask_url_password(url: str) -> str:
    """`url` with its password, if any, replaced by asterisks (for messages and display)."""
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":******@", 1)
    return url
