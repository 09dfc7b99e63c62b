"""Services attached to the runtime at start-up (email, Stripe client factory, metrics, ...)."""

from __future__ import annotations

from core.runtime import Runtime


def install_services(runtime: Runtime) -> None:
    """Each service module registers itself on `runtime.services` under its own name."""
    from core import metrics
    from core.email import ratelimit as email_rate_limits
    from core.stripe import client as stripe_client

    stripe_client.install(runtime)
    metrics.install(runtime)
    email_rate_limits.install(runtime)
