"""Stripe access through the official SDK, pointed at `SECONDLOOP_STRIPE_API_BASE`."""

from __future__ import annotations

from dataclasses import dataclass

import stripe

from core import redact
from core.runtime import Runtime
from core.settings import Settings


def make_client(
    settings: Settings,
    api_key: str,
    *,
    max_network_retries: int = 2,
    http_client: stripe.HTTPClient | None = None,
) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": settings.stripe_api_base, "connect": settings.stripe_connect_base},
        http_client=http_client or stripe.HTTPXClient(allow_sync_methods=True),
        max_network_retries=max_network_retries,
    )


@dataclass(frozen=True)
class StripeAccess:
    """A client plus the per-request options that aim it at one connected account."""

    client: stripe.StripeClient
    stripe_account: str | None

    def options(self, idempotency_key: str | None = None) -> stripe.RequestOptions:
        opts: stripe.RequestOptions = {}
        if self.stripe_account:
            opts["stripe_account"] = self.stripe_account
        if idempotency_key:
            opts["idempotency_key"] = idempotency_key
        return opts


def install(runtime: Runtime) -> None:
    redact.install()
    runtime.services["stripe.make_client"] = lambda key: make_client(runtime.settings, key)
