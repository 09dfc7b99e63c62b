"""Decline classification: which kind of failure a decline is, and so which sequence it gets.

The table (`declines.tsv`, copied from the shared Stripe notes) maps Stripe `decline_code`s to a
category. Signals that mean "never retry" (the `do_not_try_again` advice code, Stripe's
`previously_declined_do_not_retry`) win over the table, because retrying them risks card-network
fines whatever the decline code says. A plugin may override the verdict through the
`classify_decline` hook.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

TABLE = Path(__file__).with_name("declines.tsv")


class Category(StrEnum):
    FUNDS = "funds"
    ISSUER = "issuer"
    TECHNICAL = "technical"
    CARD_UPDATE = "card_update"
    AUTHENTICATION = "authentication"
    FRAUD = "fraud"
    REVOKED = "revoked"
    OTHER = "other"


# Categories where SecondLoop may retry the invoice off-session at all.
RETRYABLE = frozenset({Category.FUNDS, Category.ISSUER, Category.TECHNICAL})
NEVER_RETRY_SIGNALS = frozenset({"previously_declined_do_not_retry", "do_not_try_again"})
# Stripe error `code`s that say what is wrong without a decline_code.
_CODE_CATEGORIES = {
    "authentication_required": Category.AUTHENTICATION,
    "expired_card": Category.CARD_UPDATE,
    "incorrect_cvc": Category.CARD_UPDATE,
    "incorrect_number": Category.CARD_UPDATE,
    "invalid_cvc": Category.CARD_UPDATE,
    "invalid_expiry_month": Category.CARD_UPDATE,
    "invalid_expiry_year": Category.CARD_UPDATE,
    "invalid_number": Category.CARD_UPDATE,
    "processing_error": Category.TECHNICAL,
}
_ADVICE_CATEGORIES = {
    "confirm_card_data": Category.CARD_UPDATE,
    "try_again_later": Category.TECHNICAL,
}


@dataclass(frozen=True)
class DeclineRule:
    """One row of the table."""

    decline_code: str
    category: Category
    retry_policy: str
    stripe_never_retries: bool
    deprecated: bool


@cache
def rules() -> dict[str, DeclineRule]:
    """The decline table, keyed by decline code."""
    with TABLE.open(newline="") as handle:
        rows = csv.DictReader(handle, delimiter="\t")
        return {
            row["decline_code"]: DeclineRule(
                decline_code=row["decline_code"],
                category=Category(row["category"]),
                retry_policy=row["retry_policy"],
                stripe_never_retries=row["stripe_smart_retries_never_retries"] == "yes",
                deprecated=row["deprecated"] == "yes",
            )
            for row in rows
        }


def default_classify(
    decline_code: str | None,
    code: str | None = None,
    advice_code: str | None = None,
    outcome: str | None = None,
) -> Category:
    """The built-in verdict. `outcome` is the charge's `outcome.type` (`blocked` = Radar)."""
    signals = {decline_code, code, advice_code}
    if signals & NEVER_RETRY_SIGNALS:
        return Category.REVOKED
    table = rules()
    if decline_code and decline_code in table:
        return table[decline_code].category
    if code and code in _CODE_CATEGORIES:
        return _CODE_CATEGORIES[code]
    if code and code in table:
        return table[code].category
    if advice_code and advice_code in _ADVICE_CATEGORIES:
        return _ADVICE_CATEGORIES[advice_code]
    if outcome == "blocked":
        return Category.FRAUD
    return Category.OTHER


def classify(
    decline_code: str | None,
    code: str | None = None,
    advice_code: str | None = None,
    outcome: str | None = None,
    *,
    host: Any = None,
) -> Category:
    """Classify a decline; the first `classify_decline` implementation that answers wins.

    Implementations are called one by one in registration order (not through pluggy's
    `firstresult`, which is unsafe once any implementation is async); an unknown category
    answer is ignored rather than trusted.
    """
    if host is not None:
        caller = getattr(host.hook, "classify_decline", None)
        impls = caller.get_hookimpls() if caller is not None else []
        kwargs = {
            "decline_code": decline_code,
            "code": code,
            "advice_code": advice_code,
            "outcome": outcome,
        }
        for impl in impls:  # pluggy lists implementations in registration order
            answer = impl.function(**{k: kwargs[k] for k in impl.argnames if k in kwargs})
            if answer is None:
                continue
            try:
                return Category(str(answer))
            except ValueError:
                continue
    return default_classify(decline_code, code, advice_code, outcome)


def is_retryable(category: Category, decline_code: str | None = None) -> bool:
    """May SecondLoop retry off-session? Never for codes Stripe itself never retries."""
    if category not in RETRYABLE:
        return False
    rule = rules().get(decline_code or "")
    return not (rule and rule.stripe_never_retries)
