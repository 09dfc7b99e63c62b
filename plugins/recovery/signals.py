"""What the customer does outside the sequence: a new payment method, a dispute."""

from __future__ import annotations

import contextlib
from datetime import datetime

from tortoise.exceptions import IntegrityError

from core.runtime import Runtime
from plugins.recovery import gateway
from plugins.recovery.cases import ACTIVE, append_step, enqueue_due_steps
from plugins.recovery.lookup import _as_dict
from plugins.recovery.models import CardUpdate, Case, CaseKind, CustomerDispute


async def payment_method_changed(
    runtime: Runtime, stripe_account_id: str, customer_id: str, payment_method_id: str,
    now: datetime,
) -> int:
    """Hold the customer's pending emails and queue an immediate retry on each open case.

    The retry step is keyed by the payment method, so `payment_method.attached` and
    `automatically_updated` for the same card (or a duplicate event) queue it once.
    """
    cases = await Case.filter(
        # A paused case takes the new card too: its retry waits for the operator's resume.
        stripe_account_id=stripe_account_id, customer_id=customer_id, status__in=ACTIVE,
        kind=CaseKind.DUNNING,
    )
    queued = 0
    for case in cases:
        await Case.filter(id=case.id).update(decline_resolved=True, hold_emails=True)
        key = f"recovery:{case.workspace_id}:{case.id}:pm:{payment_method_id}"
        config = {"reason": "payment method changed", "payment_method": payment_method_id}
        if await append_step(case, "retry", now, key, config) is not None:
            queued += await enqueue_due_steps(runtime, case, now)
    return queued


async def dispute_opened(
    stripe_account_id: str, customer_id: str, dispute_id: str, at: datetime
) -> int:
    """A dispute suspends retries on the customer's cases and marks them; it is remembered, so
    a case that opens while it is open starts suspended too."""
    # Delivered twice, or its closing arrived first (then it stays closed): the row stands.
    with contextlib.suppress(IntegrityError):
        await CustomerDispute.create(
            stripe_account_id=stripe_account_id, dispute_id=dispute_id, customer_id=customer_id,
            at=at,
        )
    if not await has_open_dispute(stripe_account_id, customer_id):
        return 0
    return await Case.filter(
        stripe_account_id=stripe_account_id, customer_id=customer_id, status__in=ACTIVE,
        kind=CaseKind.DUNNING,
    ).update(disputed=True, retries_suspended=True)


async def dispute_closed(
    stripe_account_id: str, customer_id: str, dispute_id: str, won: bool, at: datetime
) -> int:
    """A dispute won resumes retries (unless another is still open); a lost one keeps them
    suspended."""
    updated = await CustomerDispute.filter(
        stripe_account_id=stripe_account_id, dispute_id=dispute_id
    ).update(closed=True, won=won, at=at)
    if not updated:
        try:
            await CustomerDispute.create(
                stripe_account_id=stripe_account_id, dispute_id=dispute_id,
                customer_id=customer_id, closed=True, won=won, at=at,
            )
        except IntegrityError:  # its opening was stored at the same moment
            await CustomerDispute.filter(
                stripe_account_id=stripe_account_id, dispute_id=dispute_id
            ).update(closed=True, won=won, at=at)
    if not won or await has_open_dispute(stripe_account_id, customer_id):
        return 0
    return await Case.filter(
        stripe_account_id=stripe_account_id, customer_id=customer_id, status__in=ACTIVE,
        kind=CaseKind.DUNNING,
    ).update(retries_suspended=False)


async def has_open_dispute(stripe_account_id: str, customer_id: str) -> bool:
    return await CustomerDispute.filter(
        stripe_account_id=stripe_account_id, customer_id=customer_id, closed=False
    ).exists()


async def customer_details_changed(
    runtime: Runtime, stripe_account_id: str, customer_id: str
) -> int:
    """Later emails go to the customer's current address and name.

    Read from Stripe rather than from the event, so two `customer.updated` delivered out of
    order still leave the newest details; only customers with an active case cost a call.
    """
    active = Case.filter(
        stripe_account_id=stripe_account_id, customer_id=customer_id, status__in=ACTIVE
    )
    if not await active.exists():
        return 0
    access = await gateway.access_for(runtime, stripe_account_id)
    customer = _as_dict(
        await access.client.v1.customers.retrieve_async(customer_id, options=access.options())
    )
    if customer.get("deleted"):
        return 0
    return await active.update(
        customer_email=str(customer.get("email") or "")[:254],
        customer_name=str(customer.get("name") or "")[:200],
    )


async def card_updated_automatically(
    stripe_account_id: str, payment_method_id: str, card: dict[str, object], now: datetime
) -> bool:
    """Remember a card the network updater renewed: the expiring-card scan leaves it alone."""
    try:
        await CardUpdate.create(
            stripe_account_id=stripe_account_id, payment_method_id=payment_method_id,
            exp_month=int(str(card.get("exp_month") or 0)),
            exp_year=int(str(card.get("exp_year") or 0)), at=now,
        )
    except IntegrityError:
        return False  # the same update delivered twice
    return True
