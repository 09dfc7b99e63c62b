"""Stripe's test cards: numbers, ``pm_card_*`` / ``tok_*`` tokens, and how each behaves.

The behaviour is stored on the payment method in hidden state (``hidden[pm]["card"]``), never
serialised; the billing engine reads it with :func:`behaviour_of` when it charges the card.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Outcome = Literal[
    "succeed",  # the charge succeeds
    "decline",  # the charge is declined with code / decline_code
    "authentication_required",  # every charge needs 3DS (requires_action)
    "dispute",  # the charge succeeds, then a dispute is opened
    "blocked",  # Radar blocks the charge (highest risk)
]


@dataclass(frozen=True)
class CardBehaviour:
    number: str
    brand: str
    funding: str = "credit"
    country: str = "US"
    outcome: Outcome = "succeed"
    code: str | None = None  # error code on failure: card_declined, expired_card, ...
    decline_code: str | None = None
    dispute_reason: str | None = None
    risk_level: str = "normal"
    message: str | None = None
    # Stripe validates a card when it is attached: declining cards fail there already,
    # except 4000000000000341 ("attaches, then charges fail").
    fails_on_attach: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _decline(
    number: str, decline_code: str, code: str = "card_declined", *, message: str
) -> CardBehaviour:
    return CardBehaviour(
        number,
        "visa",
        outcome="decline",
        code=code,
        decline_code=decline_code,
        message=message,
        fails_on_attach=True,
    )


DECLINED = "Your card was declined."

CARDS: dict[str, CardBehaviour] = {
    c.number: c
    for c in (
        CardBehaviour("4242424242424242", "visa"),
        CardBehaviour("4000056655665556", "visa", funding="debit"),
        CardBehaviour("5555555555554444", "mastercard"),
        CardBehaviour("2223003122003222", "mastercard"),
        CardBehaviour("5200828282828210", "mastercard", funding="debit"),
        CardBehaviour("378282246310005", "amex"),
        CardBehaviour("6011111111111117", "discover"),
        CardBehaviour("3056930009020004", "diners"),
        CardBehaviour("3566002020360505", "jcb"),
        CardBehaviour("6200000000000005", "unionpay"),
        CardBehaviour("4000000760000002", "visa", country="BR"),
        CardBehaviour("4000001240000000", "visa", country="CA"),
        CardBehaviour("4000008260000000", "visa", country="GB"),
        CardBehaviour("4000002760000016", "visa", country="DE"),
        CardBehaviour("4000002500000003", "visa", country="FR"),
        _decline("4000000000000002", "generic_decline", message=DECLINED),
        _decline(
            "4000000000009995", "insufficient_funds", message="Your card has insufficient funds."
        ),
        _decline("4000000000009987", "lost_card", message=DECLINED),
        _decline("4000000000009979", "stolen_card", message=DECLINED),
        _decline(
            "4000000000000069", "expired_card", "expired_card", message="Your card has expired."
        ),
        _decline(
            "4000000000000127",
            "incorrect_cvc",
            "incorrect_cvc",
            message="Your card's security code is incorrect.",
        ),
        _decline(
            "4000000000000119",
            "processing_error",
            "processing_error",
            message="An error occurred while processing your card. Try again in a little bit.",
        ),
        _decline("4000000000006975", "card_velocity_exceeded", message=DECLINED),
        _decline(
            "4000000000000101",
            "incorrect_cvc",
            "incorrect_cvc",
            message="Your card's security code is incorrect.",
        ),
        CardBehaviour(
            "4100000000000019",
            "visa",
            outcome="blocked",
            code="card_declined",
            decline_code="fraudulent",
            risk_level="highest",
            message=DECLINED,
            fails_on_attach=True,
        ),
        CardBehaviour(
            "4000000000004954",
            "visa",
            outcome="blocked",
            code="card_declined",
            decline_code="fraudulent",
            risk_level="highest",
            message=DECLINED,
            fails_on_attach=True,
        ),
        CardBehaviour(
            "4000000000000341",
            "visa",
            outcome="decline",
            code="card_declined",
            decline_code="generic_decline",
            message=DECLINED,
        ),
        CardBehaviour(
            "4000002760003184",
            "visa",
            outcome="authentication_required",
            code="authentication_required",
            decline_code="authentication_required",
            message="Your card was declined. This transaction requires authentication.",
        ),
        CardBehaviour(
            "4000002500003155",
            "visa",
            outcome="authentication_required",
            code="authentication_required",
            decline_code="authentication_required",
            message="Your card was declined. This transaction requires authentication.",
        ),
        CardBehaviour("4000000000000259", "visa", outcome="dispute", dispute_reason="fraudulent"),
        CardBehaviour(
            "4000000000002685", "visa", outcome="dispute", dispute_reason="product_not_received"
        ),
        CardBehaviour("4000000000001976", "visa", outcome="dispute", dispute_reason="general"),
    )
}

# pm_card_* and tok_* aliases (Stripe accepts both families with the same suffixes).
TOKENS: dict[str, str] = {
    "visa": "4242424242424242",
    "visa_debit": "4000056655665556",
    "mastercard": "5555555555554444",
    "mastercard_debit": "5200828282828210",
    "amex": "378282246310005",
    "discover": "6011111111111117",
    "diners": "3056930009020004",
    "jcb": "3566002020360505",
    "unionpay": "6200000000000005",
    "br": "4000000760000002",
    "ca": "4000001240000000",
    "gb": "4000008260000000",
    "de": "4000002760000016",
    "fr": "4000002500000003",
    "chargeDeclined": "4000000000000002",
    "chargeDeclinedInsufficientFunds": "4000000000009995",
    "chargeDeclinedLostCard": "4000000000009987",
    "chargeDeclinedStolenCard": "4000000000009979",
    "chargeDeclinedExpiredCard": "4000000000000069",
    "chargeDeclinedIncorrectCvc": "4000000000000127",
    "chargeDeclinedProcessingError": "4000000000000119",
    "chargeDeclinedVelocityLimitExceeded": "4000000000006975",
    "chargeDeclinedFraudulent": "4100000000000019",
    "radarBlock": "4000000000004954",
    "chargeCustomerFail": "4000000000000341",
    "cvcCheckFail": "4000000000000101",
    "authenticationRequired": "4000002760003184",
    "authenticationRequiredOnSetup": "4000002500003155",
    "threeDSecure2Required": "4000002760003184",
    "createDispute": "4000000000000259",
    "createDisputeProductNotReceived": "4000000000002685",
    "createDisputeInquiry": "4000000000001976",
}


def card_for_token(token: str) -> CardBehaviour | None:
    """``pm_card_visa`` / ``tok_visa`` -> the card they stand for, else None."""
    for prefix in ("pm_card_", "tok_"):
        if token.startswith(prefix):
            number = TOKENS.get(token[len(prefix) :])
            return CARDS[number] if number else None
    return None


def card_for_number(number: str) -> CardBehaviour:
    """Any Luhn-valid number; unknown numbers behave like an ordinary card of their brand."""
    known = CARDS.get(number)
    if known is not None:
        return known
    return CardBehaviour(number, brand_of(number))


def brand_of(number: str) -> str:
    if number.startswith("4"):
        return "visa"
    if number[:2] in ("34", "37"):
        return "amex"
    if number[:2] in {"51", "52", "53", "54", "55"} or "2221" <= number[:4] <= "2720":
        return "mastercard"
    if number.startswith(("6011", "65", "644", "645", "646", "647", "648", "649")):
        return "discover"
    if number.startswith(("300", "301", "302", "303", "304", "305", "36", "38")):
        return "diners"
    if number.startswith("35"):
        return "jcb"
    if number.startswith("62"):
        return "unionpay"
    return "unknown"


def luhn_ok(number: str) -> bool:
    if not number.isdigit() or not 12 <= len(number) <= 19:
        return False
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0
