"""The attempt ledger: every payment attempt on an invoice, Stripe's and SecondLoop's, once each.

An attempt is keyed by its charge id when known (so SecondLoop's own retry and the
`invoice.payment_failed` event it causes count once), else by the invoice's attempt number.
The retry budget reads it: never after a never-retry answer (`decline_code` or `advice_code`),
and at most 15 attempts in 30 days (the Visa limit, the strictest card network's). Both rules
are the card's: a retry on a replacement card is judged by that card's attempts only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.exceptions import IntegrityError

from plugins.recovery.declines import NEVER_RETRY_SIGNALS
from plugins.recovery.models import AttemptLedger, AttemptOutcome, AttemptSource

MAX_ATTEMPTS = 15
WINDOW = timedelta(days=30)
PAID_KEY = "paid"


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str = ""


async def record(
    stripe_account_id: str,
    invoice_id: str,
    *,
    key: str,
    source: AttemptSource,
    at: datetime,
    outcome: AttemptOutcome,
    code: str = "",
    decline_code: str = "",
    advice_code: str = "",
    charge_id: str = "",
    payment_method_id: str = "",
) -> bool:
    """Add an attempt; returns False when this attempt was already recorded."""
    if await AttemptLedger.filter(
        stripe_account_id=stripe_account_id, invoice_id=invoice_id, key=key
    ).exists():
        return False
    try:
        await AttemptLedger.create(
            stripe_account_id=stripe_account_id,
            invoice_id=invoice_id,
            key=key,
            source=source,
            at=at,
            outcome=outcome,
            code=code or "",
            decline_code=decline_code or "",
            advice_code=advice_code or "",
            charge_id=charge_id or "",
            payment_method_id=payment_method_id or "",
        )
    except IntegrityError:
        return False
    return True


def attempt_key(charge_id: str | None, attempt_count: object, fallback: str) -> str:
    if charge_id:
        return f"charge:{charge_id}"
    if isinstance(attempt_count, int) and attempt_count > 0:
        return f"attempt:{attempt_count}"
    return fallback


async def record_paid(stripe_account_id: str, invoice_id: str, at: datetime) -> bool:
    """Remember the invoice is paid, so a late failure event for it is ignored."""
    return await record(
        stripe_account_id, invoice_id, key=PAID_KEY, source=AttemptSource.STRIPE, at=at,
        outcome=AttemptOutcome.SUCCEEDED,
    )


async def is_paid(stripe_account_id: str, invoice_id: str) -> bool:
    return await AttemptLedger.filter(
        stripe_account_id=stripe_account_id, invoice_id=invoice_id,
        outcome=AttemptOutcome.SUCCEEDED,
    ).exists()


async def may_retry(
    stripe_account_id: str, invoice_id: str, now: datetime, payment_method_id: str = ""
) -> Verdict:
    """May one more attempt be made on this invoice now?

    With `payment_method_id` (a retry on a card the customer just added) only that card's
    attempts count; without, every attempt does (the card on file, whichever it was)."""
    rows = await AttemptLedger.filter(
        stripe_account_id=stripe_account_id, invoice_id=invoice_id
    ).order_by("at", "id")
    if any(row.outcome == AttemptOutcome.SUCCEEDED for row in rows):
        return Verdict(False, "invoice already paid")
    if payment_method_id:
        rows = [row for row in rows if row.payment_method_id == payment_method_id]
    for row in rows:
        signal = {row.code, row.decline_code, row.advice_code} & NEVER_RETRY_SIGNALS
        if signal:
            return Verdict(False, f"issuer said never retry this card ({min(signal)})")
    recent = [row for row in rows if row.at > now - WINDOW]
    if len(recent) >= MAX_ATTEMPTS:
        return Verdict(False, f"{MAX_ATTEMPTS} attempts in {WINDOW.days} days (card-network limit)")
    return Verdict(True)
