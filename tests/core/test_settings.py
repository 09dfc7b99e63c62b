from __future__ import annotations

import pytest

from core.settings import DEV_ENCRYPTION_KEY, Settings, SettingsError

GOOD_KEY = "A" * 43


def test_defaults_are_valid_for_development() -> None:
    Settings.from_env({}).validate()


def test_production_refuses_unsafe_defaults_listing_every_problem() -> None:
    settings = Settings.from_env({"SECONDLOOP_ENV": "production"})
    with pytest.raises(SettingsError) as info:
        settings.validate()
    message = str(info.value)
    for needle in ("SECRET_KEY", "ENCRYPTION_KEYS", "https://", "SMTP_URL"):
        assert needle in message


def test_production_with_real_values_passes() -> None:
    Settings.from_env(
        {
            "SECONDLOOP_ENV": "production",
            "SECONDLOOP_SECRET_KEY": "s" * 40,
            "SECONDLOOP_ENCRYPTION_KEYS": GOOD_KEY,
            "SECONDLOOP_BASE_URL": "https://recover.example.com/",
            "SECONDLOOP_SMTP_URL": "smtp://mail.example.com:587",
        }
    ).validate()


def test_bad_values_get_clear_messages() -> None:
    settings = Settings.from_env(
        {
            "SECONDLOOP_DATABASE_URL": "mysql://x",
            "SECONDLOOP_BROKER_URL": "amqp://x",
            "SECONDLOOP_ENCRYPTION_KEYS": "short",
        }
    )
    with pytest.raises(SettingsError) as info:
        settings.validate()
    assert "DATABASE_URL" in str(info.value)
    assert "BROKER_URL" in str(info.value)
    assert "32 bytes" in str(info.value)


def test_keyring_order_is_kept_and_secrets_are_masked() -> None:
    settings = Settings.from_env(
        {
            "SECONDLOOP_ENCRYPTION_KEYS": f"{GOOD_KEY}, {DEV_ENCRYPTION_KEY}",
            "SECONDLOOP_STRIPE_SECRET_KEY": "sk_test_verysecretvalue",
            "SECONDLOOP_DATABASE_URL": "postgres://u:hunter2@db/x",
        }
    )
    assert settings.encryption_keys == (GOOD_KEY, DEV_ENCRYPTION_KEY)
    shown = settings.masked()
    assert "verysecretvalue" not in str(shown) and "hunter2" not in str(shown)


def test_a_non_number_is_a_settings_error() -> None:
    with pytest.raises(SettingsError):
        Settings.from_env({"SECONDLOOP_SWEEP_INTERVAL": "soon"})


PRODUCTION = {
    "SECONDLOOP_ENV": "production",
    "SECONDLOOP_SECRET_KEY": "s" * 40,
    "SECONDLOOP_ENCRYPTION_KEYS": GOOD_KEY,
    "SECONDLOOP_BASE_URL": "https://recover.example.com/",
    "SECONDLOOP_SMTP_URL": "smtp://mail.example.com:587",
}


def _problems(env: dict[str, str]) -> str:
    with pytest.raises(SettingsError) as info:
        Settings.from_env(env).validate()
    return str(info.value)


def test_connect_client_id_needs_the_connect_webhook_secret_in_production() -> None:
    message = _problems(
        {**PRODUCTION, "SECONDLOOP_STRIPE_CLIENT_ID": "ca_1", "SECONDLOOP_STRIPE_SECRET_KEY": "sk"}
    )
    assert "SECONDLOOP_STRIPE_CONNECT_WEBHOOK_SECRET" in message
    Settings.from_env(
        {
            **PRODUCTION,
            "SECONDLOOP_STRIPE_CLIENT_ID": "ca_1",
            "SECONDLOOP_STRIPE_SECRET_KEY": "sk_live_x",
            "SECONDLOOP_STRIPE_CONNECT_WEBHOOK_SECRET": "whsec_x",
        }
    ).validate()


def test_connect_client_id_without_the_secret_key_is_a_production_problem() -> None:
    message = _problems(
        {
            **PRODUCTION,
            "SECONDLOOP_STRIPE_CLIENT_ID": "ca_1",
            "SECONDLOOP_STRIPE_CONNECT_WEBHOOK_SECRET": "whsec_x",
        }
    )
    assert "without SECONDLOOP_STRIPE_SECRET_KEY" in message


def test_half_a_connect_configuration_is_a_warning_outside_production() -> None:
    settings = Settings.from_env({"SECONDLOOP_STRIPE_CLIENT_ID": "ca_1"})
    settings.validate()
    warnings = " | ".join(settings.warnings())
    assert "without SECONDLOOP_STRIPE_SECRET_KEY" in warnings
    assert "without SECONDLOOP_STRIPE_CONNECT_WEBHOOK_SECRET" in warnings
    only_key = Settings.from_env({"SECONDLOOP_STRIPE_SECRET_KEY": "sk_test_x"})
    assert any("without SECONDLOOP_STRIPE_CLIENT_ID" in w for w in only_key.warnings())
    # The secret key alone still serves accounts connected earlier: a warning, even in production.
    production = Settings.from_env({**PRODUCTION, "SECONDLOOP_STRIPE_SECRET_KEY": "sk_live_x"})
    production.validate()
    assert any("without SECONDLOOP_STRIPE_CLIENT_ID" in w for w in production.warnings())
    assert Settings.from_env({}).warnings() == []


@pytest.mark.parametrize(
    ("name", "value", "needle"),
    [
        ("SECONDLOOP_LOG_LEVEL", "loud", "SECONDLOOP_LOG_LEVEL must be one of DEBUG, INFO"),
        ("SECONDLOOP_EMAIL_FROM", "SecondLoop", "SECONDLOOP_EMAIL_FROM must be an email address"),
        ("SECONDLOOP_EMAIL_FROM", "a b@example.com", "SECONDLOOP_EMAIL_FROM"),
        ("SECONDLOOP_EMAIL_RATE_LIMITS", "10 per second", "SECONDLOOP_EMAIL_RATE_LIMITS"),
        ("SECONDLOOP_EMAIL_RATE_LIMITS", "0/s", "N ≥ 1"),
        ("SECONDLOOP_EMAIL_RATE_LIMITS", "10/w", "is not N/s, N/m, N/h or N/d"),
    ],
)
def test_bad_values_are_named_problems(name: str, value: str, needle: str) -> None:
    assert needle in _problems({name: value})


def test_good_email_values_pass() -> None:
    for sender in ("ops@example.com", "Ops Team <ops@example.com>", '"Ops, Inc." <o@example.com>'):
        Settings.from_env({"SECONDLOOP_EMAIL_FROM": sender}).validate()
    Settings.from_env({"SECONDLOOP_EMAIL_RATE_LIMITS": "5/s, 50/m,500/h"}).validate()
    Settings.from_env({"SECONDLOOP_LOG_LEVEL": "debug"}).validate()


def test_a_header_injection_in_email_from_is_refused() -> None:
    assert "SECONDLOOP_EMAIL_FROM" in _problems(
        {"SECONDLOOP_EMAIL_FROM": "a@example.com\r\nBcc: x@evil.test"}
    )


def test_masked_shows_other_variables_and_masks_the_secret_looking_ones() -> None:
    shown = Settings.from_env(
        {
            "SECONDLOOP_METRICS_TOKEN": "tok-supersecret-123",
            "SECONDLOOP_SOME_PLUGIN_API_KEY": "key-supersecret-456",
            "SECONDLOOP_ACME_PASSWORD": "hunter2hunter2",
            "SECONDLOOP_ACME_URL": "https://u:pw-supersecret@acme.test/",
            "SECONDLOOP_RECOVERY_TICK_SECONDS": "30",
            "SECONDLOOP_SECRET_KEY": "s" * 40,
        }
    ).masked()
    assert shown["recovery_tick_seconds"] == "30"
    for key in ("metrics_token", "some_plugin_api_key", "acme_password", "acme_url"):
        assert key in shown
    assert "supersecret" not in str(shown) and "hunter2" not in str(shown)
    # A core variable is shown once, under its field name.
    assert "secret_key" in shown and shown["secret_key"].startswith("ssss…")
    assert list(shown).count("secret_key") == 1


def test_config_check_prints_warnings_and_fails_on_unknown_plugins(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from core.cli import main

    for name in list(__import__("os").environ):
        if name.startswith("SECONDLOOP_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SECONDLOOP_STRIPE_CLIENT_ID", "ca_1")
    monkeypatch.setenv("SECONDLOOP_METRICS_TOKEN", "tok-supersecret-123")
    assert main(["config", "check"]) == 0
    out = capsys.readouterr().out
    assert "warning: SECONDLOOP_STRIPE_CLIENT_ID is set without" in out
    assert "metrics_token" in out and "supersecret" not in out
    assert "configuration OK" in out

    monkeypatch.setenv("SECONDLOOP_PLUGINS", "audit,nope")
    assert main(["config", "check"]) == 1
    captured = capsys.readouterr()
    assert "SECONDLOOP_PLUGINS names unknown plugins: nope" in captured.out
    assert "configuration OK" not in captured.out


def test_an_unknown_plugin_stops_serve_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from core.cli import main

    monkeypatch.setenv("SECONDLOOP_PLUGINS", "nope")
    monkeypatch.setenv("SECONDLOOP_DATABASE_URL", "sqlite://:memory:")
    assert main(["serve", "--no-migrate"]) == 2
    err = capsys.readouterr().err
    assert "SECONDLOOP_PLUGINS names unknown plugins: nope" in err
    assert "Traceback" not in err


def test_a_bad_log_level_stops_serve_with_every_problem(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from core.cli import main

    monkeypatch.setenv("SECONDLOOP_LOG_LEVEL", "loud")
    monkeypatch.setenv("SECONDLOOP_EMAIL_FROM", "nobody")
    assert main(["serve", "--no-migrate"]) == 2
    err = capsys.readouterr().err
    assert "SECONDLOOP_LOG_LEVEL" in err and "SECONDLOOP_EMAIL_FROM" in err
    assert "Traceback" not in err


def test_every_process_logs_the_warnings_at_start_up(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from core.commands import processes

    configured: list[Settings] = []
    monkeypatch.setattr(processes, "configure_logging", configured.append)
    settings = Settings(stripe_client_id="ca_1", stripe_secret_key="sk_test_1")
    with caplog.at_level("WARNING", logger="core.commands.processes"):
        processes.start_logging(settings)
    assert configured == [settings]
    assert [r.getMessage() for r in caplog.records] == [
        f"configuration: {w}" for w in settings.warnings()
    ]
    assert "SECONDLOOP_STRIPE_CONNECT_WEBHOOK_SECRET" in caplog.text
