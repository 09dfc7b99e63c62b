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
