"""The default wording of recovery emails, per template, with their variables.

Short and plain on purpose. Variables: {customer_name}, {amount}, {product}, {link},
{days_left}, {sender}. The sequence editor will let operators replace the body per step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Copy:
    subject: str
    text: str


TEMPLATES: dict[str, Copy] = {
    "payment_failed": Copy(
        "Your payment for {product} didn't go through",
        "Hi {customer_name},\n\nWe couldn't take your payment of {amount} for {product}. "
        "It's often a temporary problem with the card. You can check or update your payment "
        "details here:\n\n{link}\n\nThanks,\n{sender}",
    ),
    "reminder": Copy(
        "Reminder: your payment for {product} is still due",
        "Hi {customer_name},\n\nYour payment of {amount} for {product} is still outstanding. "
        "Updating your card takes a minute:\n\n{link}\n\nThanks,\n{sender}",
    ),
    "update_card": Copy(
        "Please update your card for {product}",
        "Hi {customer_name},\n\nThe card on file for {product} can't be charged ({amount} is "
        "due). Please add a new card here:\n\n{link}\n\nThanks,\n{sender}",
    ),
    "authenticate": Copy(
        "Please confirm your payment for {product}",
        "Hi {customer_name},\n\nYour bank asks you to confirm the payment of {amount} for "
        "{product}. It takes a moment:\n\n{link}\n\nThanks,\n{sender}",
    ),
    "final_notice": Copy(
        "Last notice about your payment for {product}",
        "Hi {customer_name},\n\nWe still couldn't collect {amount} for {product}. Your "
        "subscription ends in {days_left} days unless the payment goes through:\n\n{link}\n\n"
        "Thanks,\n{sender}",
    ),
    "neutral": Copy(
        "About your payment for {product}",
        "Hi {customer_name},\n\nWe couldn't process your payment of {amount} for {product}. "
        "If you'd like to continue, you can review your payment details here:\n\n{link}\n\n"
        "Thanks,\n{sender}",
    ),
    # Win-back: the subscription ended unpaid; the link starts a new one (Stripe Checkout).
    "winback_first": Copy(
        "Your subscription has ended",
        "Hi {customer_name},\n\nWe couldn't collect the payment for {product}, so the "
        "subscription has ended. If you'd like to keep going, you can start again in a "
        "minute:\n\n{link}\n\nThanks,\n{sender}",
    ),
    "winback_reminder": Copy(
        "Pick up where you left off",
        "Hi {customer_name},\n\nYour subscription ended a few days ago. Everything is ready "
        "if you'd like to come back to {product}:\n\n{link}\n\nThanks,\n{sender}",
    ),
    "winback_last": Copy(
        "One last note about {product}",
        "Hi {customer_name},\n\nThis is our last message about {product}. If you ever want "
        "it back, this link restarts it ({amount}):\n\n{link}\n\nThanks,\n{sender}",
    ),
}

OPERATOR_TEMPLATES: dict[str, Copy] = {
    "customer_flagged": Copy(
        "Recovery: customer {customer_id} flagged ({category})",
        "A payment of {amount} from {customer_email} failed with {decline} ({category}). "
        "SecondLoop will not retry it; the customer is flagged for your review.\n\nCase {case_id}",
    ),
    "investigate": Copy(
        "Recovery: a decline to look into ({decline})",
        "A payment of {amount} from {customer_email} failed with {decline}, which needs a "
        "person to look at it.\n\nCase {case_id}",
    ),
}


def format_amount(amount: int, currency: str) -> str:
    """Minor units to a readable amount (zero-decimal currencies kept whole)."""
    zero_decimal = {"jpy", "krw", "vnd", "clp", "isk", "ugx", "xaf", "xof"}
    if currency.lower() in zero_decimal:
        return f"{amount} {currency.upper()}"
    return f"{amount / 100:.2f} {currency.upper()}"


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def render(copy: Copy, variables: dict[str, Any]) -> tuple[str, str]:
    """Fill a template; an unknown variable renders empty rather than failing the step."""
    values = _Blank(variables)
    return copy.subject.format_map(values), copy.text.format_map(values)
