"""The core's own Stripe event handlers for the connection lifecycle."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.contributions import StripeEventHandler
from core.models.accounts import ConnectionMode, ConnectionStatus, StripeAccount
from core.stripe.oauth import mark_revoked
from core.tenancy import workspace_scope

if TYPE_CHECKING:
    from core.events.normalize import StripeEvent
    from core.runtime import Runtime

DEAUTHORIZED = "account.application.deauthorized"


async def on_deauthorized(event: StripeEvent, workspace_id: int, runtime: Runtime) -> None:
    """The account disconnected SecondLoop's platform in Stripe: the connection is revoked.
    Idempotent, and only Connect connections are affected (a restricted key is separate)."""
    if not event.account:
        return
    with workspace_scope(workspace_id):
        accounts = await StripeAccount.filter(
            stripe_account_id=event.account, mode=ConnectionMode.OAUTH
        ).exclude(status=ConnectionStatus.REVOKED)
    for account in accounts:
        await mark_revoked(runtime, account)


def stripe_handlers() -> list[StripeEventHandler]:
    return [StripeEventHandler("core.stripe.deauthorized", [DEAUTHORIZED], on_deauthorized)]
