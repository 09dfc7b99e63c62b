"""What a card does when charged: Stripe's test cards, decline codes and their messages.

Stripe's test cards behave by card number, so the behaviour is keyed by the last four
digits the sandbox keeps on every card (they are unique among Stripe's documented test
numbers). A behaviour kept in the store's hidden data for the payment method wins.
"""

from __future__ import annotations

import csv
import datetime
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_TSV = Path(__file__).with_name("decline_codes.tsv")


@dataclass(frozen=True)
class CardBehaviour:
    """How a charge on a card ends.

    ``code`` is the error code (``card_declined``, ``expired_card``...), ``decline_code``
    the issuer's reason; ``dispute`` makes a successful charge get disputed; ``fails_on_attach``
    is ``pm_card_chargeCustomerFail``'s trick of attaching fine and failing on charge.
    """

    name: str
    code: str | None = None
    decline_code: str | None = None
    dispute: bool = False
    requires_action: bool = False
    blocked: bool = False  # Radar blocked it before the network saw it
    dispute_reason: str = "fraudulent"

    @property
    def declines(self) -> bool:
        return self.code is not None


APPROVE = CardBehaviour("approve")
INQUIRY_CARD = "4000000000001976"

# Stripe's documented test cards, by last four digits.
BEHAVIOURS_BY_LAST4: dict[str, CardBehaviour] = {
    "4242": APPROVE,
    "4444": APPROVE,  # 5555555555554444 mastercard
    "0005": APPROVE,  # 378282246310005 amex
    "1117": APPROVE,  # 6011111111111117 discover
    "0002": CardBehaviour("chargeDeclined", "card_declined", "generic_decline"),
    "9995": CardBehaviour("chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds"),
    "0069": CardBehaviour("chargeDeclinedExpiredCard", "expired_card", "expired_card"),
    "0127": CardBehaviour("chargeDeclinedIncorrectCvc", "incorrect_cvc", "incorrect_cvc"),
    "0119": CardBehaviour("chargeDeclinedProcessingError", "processing_error", "processing_error"),
    "0019": CardBehaviour("chargeDeclinedFraudulent", "card_declined", "fraudulent"),
    "9987": CardBehaviour("chargeDeclinedLostCard", "card_declined", "lost_card"),
    "9979": CardBehaviour("chargeDeclinedStolenCard", "card_declined", "stolen_card"),
    "0341": CardBehaviour("chargeCustomerFail", "card_declined", "generic_decline"),
    "3184": CardBehaviour(
        "authenticationRequired",
        "authentication_required",
        "authentication_required",
        requires_action=True,
    ),
    "0259": CardBehaviour("createDispute", dispute=True),
    # Not a Stripe test number: the sandbox's own "do not honor" card, so seeds can produce
    # the third most common decline (4000 0000 0000 0044).
    "0044": CardBehaviour("chargeDeclinedDoNotHonor", "card_declined", "do_not_honor"),
}

# Customer-facing messages Stripe returns for each decline.
MESSAGES: dict[str, str] = {
    "insufficient_funds": "Your card has insufficient funds.",
    "expired_card": "Your card has expired.",
    "incorrect_cvc": "Your card's security code is incorrect.",
    "processing_error": "An error occurred while processing your card. Try again in a little bit.",
    "authentication_required": "Your card was declined. This transaction requires authentication.",
    "incorrect_number": "Your card number is incorrect.",
}
GENERIC_MESSAGE = "Your card was declined."


def message_for(decline_code: str | None) -> str:
    return MESSAGES.get(decline_code or "", GENERIC_MESSAGE)


def seller_message_for(decline_code: str | None) -> str:
    """The dashboard-facing ``outcome.seller_message`` for a decline."""
    if decline_code in (None, "generic_decline"):
        return "The bank did not return any further details with this decline."
    return f"The bank returned the decline code `{decline_code}`."


def behaviour_for(
    payment_method: dict[str, Any], hidden: dict[str, Any] | None = None, now: int | None = None
) -> CardBehaviour:
    """The behaviour of a card payment method at time ``now``.

    ``hidden`` is the store's private data for the payment method: the foundation keeps the
    test card's behaviour there (``hidden["card"]``, see ``sandbox/cards.py``); without it
    the last four digits decide. A card whose expiry has passed on the charging clock
    declines with ``expired_card`` whatever its number, as an issuer would.
    """
    card = payment_method.get("card") or {}
    stored = (hidden or {}).get("card")
    if isinstance(stored, dict) and "outcome" in stored:
        behaviour = _from_stored(stored)
    else:
        behaviour = BEHAVIOURS_BY_LAST4.get(str(card.get("last4")), APPROVE)
    if now is not None and card_expired(card, now):
        return CardBehaviour("expired", "expired_card", "expired_card")
    return behaviour


def _from_stored(stored: dict[str, Any]) -> CardBehaviour:
    outcome = stored.get("outcome")
    code = stored.get("code") or "card_declined"
    decline = stored.get("decline_code")
    if outcome in ("decline", "attach_fail"):
        return CardBehaviour(str(outcome), code, decline or "generic_decline")
    if outcome == "authentication_required":
        return CardBehaviour(
            "authenticationRequired",
            "authentication_required",
            "authentication_required",
            requires_action=True,
        )
    if outcome == "blocked":
        return CardBehaviour("blocked", code, decline or "fraudulent", blocked=True)
    if outcome == "dispute":
        reason = str(stored.get("dispute_reason") or "fraudulent")
        if stored.get("number") == INQUIRY_CARD:
            reason = "inquiry"  # Stripe's card for an inquiry (warning_needs_response)
        return CardBehaviour("createDispute", dispute=True, dispute_reason=reason)
    return APPROVE


BEHAVIOURS_BY_NAME: dict[str, CardBehaviour] = {b.name: b for b in BEHAVIOURS_BY_LAST4.values()}


def card_expired(card: dict[str, Any], now: int) -> bool:
    """True once ``now`` is past the last day of the card's expiry month (UTC)."""
    month, year = card.get("exp_month"), card.get("exp_year")
    if not isinstance(month, int) or not isinstance(year, int):
        return False
    first_after = datetime.datetime(year + month // 12, month % 12 + 1, 1, tzinfo=datetime.UTC)
    return now >= int(first_after.timestamp())


@dataclass(frozen=True)
class DeclineInfo:
    code: str
    category: str
    never_retried: bool


@functools.cache
def decline_table() -> dict[str, DeclineInfo]:
    """Every documented decline code, from the table copied beside this module."""
    with _TSV.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return {
        row["decline_code"]: DeclineInfo(
            row["decline_code"], row["category"], row["stripe_smart_retries_never_retries"] == "yes"
        )
        for row in rows
    }


def retryable(decline_code: str | None) -> bool:
    """Whether Smart Retries would try this decline again."""
    info = decline_table().get(decline_code or "")
    return not (info and info.never_retried)
