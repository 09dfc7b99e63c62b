"""Sandbox configuration: one dataclass, built by the CLI or by tests."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class SandboxConfig:
    """Everything that changes how a sandbox behaves.

    ``seed`` makes ids, keys and secrets deterministic; ``frozen_time`` stops the sandbox's
    own clock (it then only moves with ``POST /_sandbox/clock/advance``).
    """

    seed: str | None = None
    state_file: str | None = None
    persist_interval: float | None = 30.0
    frozen_time: int | None = None
    # Real-time multiplier for auto-advancing every ready test clock (None = off).
    clock_speed: float | None = None
    # With clock_speed: real seconds between two advances of one clock (each advance sends
    # test_helpers.test_clock.advancing then ready, as Stripe does).
    clock_advance_interval: float = 5.0
    tick_interval: float = 1.0
    # Requests per second allowed per API key (None = unlimited).
    rate_limit: float | None = None
    # Seconds between webhook delivery attempts after a non-2xx answer; its length is the
    # number of retries. Stripe's test mode retries a few times over hours; tests compress it.
    webhook_retry_schedule: tuple[float, ...] = (60.0, 300.0, 1800.0, 7200.0)
    webhook_timeout: float = 10.0
    # Stripe declines a declining test card already when it is attached; turn off to put
    # such cards on file (seeding realistic renewal failures).
    validate_cards_on_attach: bool = True
    # Modules that extend the sandbox when importable (see app.load_extensions).
    extensions: tuple[str, ...] = ("sandbox.billing",)
    public_url: str | None = None
    platform_name: str = "SecondLoop Sandbox Platform"
    extra: dict[str, object] = field(default_factory=dict)
