"""Recovery's doors into the core's Stripe access and customer time (one place to find them)."""

from __future__ import annotations

from datetime import datetime

from core.clock import from_unix
from core.events.clocks import customer_now
from core.models.accounts import ConnectionStatus, StripeAccount
from core.runtime import Runtime
from core.stripe.access import stripe_access
from core.stripe.client import StripeAccess


class NoStripeAccount(LookupError):
    """The workspace has no connected account for this Stripe account id."""


async def access_for(runtime: Runtime, stripe_account_id: str) -> StripeAccess:
    """A Stripe client aimed at `stripe_account_id`, as connected in the current workspace."""
    account = await StripeAccount.filter(
        stripe_account_id=stripe_account_id, status=ConnectionStatus.ACTIVE
    ).first()
    if account is None:
        raise NoStripeAccount(stripe_account_id)
    return stripe_access(runtime, account)


async def now_for(
    runtime: Runtime, stripe_account_id: str, customer_id: str | None, test_clock: str | None
) -> datetime:
    """The customer's time (their test clock's frozen time when they live on one)."""
    return await customer_now(
        runtime, stripe_account_id, customer_id=customer_id or None, test_clock=test_clock or None
    )


def unix(value: object) -> datetime | None:
    return from_unix(value) if isinstance(value, int | float) else None
