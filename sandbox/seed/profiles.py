"""What a seeded business looks like: plans, decline mix, journey proportions.

The proportions follow what subscription businesses typically see on Stripe: roughly one
customer in four hits a failed renewal over four months; insufficient funds dominates the
declines, then generic declines and do-not-honor, expired cards, authentication required,
with fraud-flavoured declines rare. About half of the failures are recovered (by a retry
that lands after payday, or by the customer updating the card), the rest are lost.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    name: str
    amount: int
    currency: str
    interval: str = "month"


@dataclass(frozen=True)
class Business:
    name: str
    email: str
    country: str
    currency: str
    plans: tuple[Plan, ...]
    plan_weights: tuple[float, ...]


BUSINESSES: tuple[Business, ...] = (
    Business(
        "Acme Analytics",
        "billing@acme-analytics.test",
        "US",
        "usd",
        (
            Plan("Starter", 900, "usd"),
            Plan("Pro", 2900, "usd"),
            Plan("Team", 9900, "usd"),
            Plan("Pro (annual)", 29000, "usd", "year"),
        ),
        (0.35, 0.4, 0.15, 0.1),
    ),
    Business(
        "Borealis Fitness",
        "hello@borealis-fitness.test",
        "IE",
        "eur",
        (
            Plan("Basic", 1500, "eur"),
            Plan("Premium", 3500, "eur"),
            Plan("Premium UK", 2900, "gbp"),
            Plan("Premium (annual)", 35000, "eur", "year"),
        ),
        (0.45, 0.3, 0.15, 0.1),
    ),
)

# Share of customers whose card fails at some renewal in the history.
FAILURE_RATE = 0.28

# decline_code -> (error code, weight). Expired cards are produced by real expiry dates.
DECLINE_MIX: tuple[tuple[str, str, float], ...] = (
    ("insufficient_funds", "card_declined", 0.42),
    ("generic_decline", "card_declined", 0.17),
    ("do_not_honor", "card_declined", 0.11),
    ("expired_card", "expired_card", 0.12),
    ("authentication_required", "authentication_required", 0.06),
    ("processing_error", "processing_error", 0.03),
    ("incorrect_cvc", "incorrect_cvc", 0.02),
    ("card_velocity_exceeded", "card_declined", 0.02),
    ("lost_card", "card_declined", 0.02),
    ("stolen_card", "card_declined", 0.01),
    ("fraudulent", "card_declined", 0.02),
)

# How a failure ends: recovered by a later retry, by a card update, or lost.
OUTCOMES: tuple[tuple[str, float], ...] = (
    ("retry", 0.38),
    ("card_update", 0.22),
    ("card_updater", 0.05),
    ("lost", 0.35),
)

DISPUTE_RATE = 0.025
ABOUT_TO_EXPIRE_RATE = 0.06
TRIAL_RATE = 0.1
VOLUNTARY_CANCEL_RATE = 0.05

FIRST_NAMES = (
    "Ada",
    "Grace",
    "Alan",
    "Katherine",
    "Edsger",
    "Barbara",
    "Donald",
    "Frances",
    "Ken",
    "Margaret",
    "Linus",
    "Radia",
    "Dennis",
    "Hedy",
    "Tim",
    "Sophie",
    "Guido",
    "Anita",
    "Yukihiro",
    "Shafi",
    "Leslie",
    "Jean",
    "Niklaus",
    "Adele",
    "John",
    "Mary",
    "Bjarne",
    "Lynn",
    "Brian",
    "Joan",
)
LAST_NAMES = (
    "Lovelace",
    "Hopper",
    "Turing",
    "Johnson",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "Thompson",
    "Hamilton",
    "Torvalds",
    "Perlman",
    "Ritchie",
    "Lamarr",
    "Berners-Lee",
    "Wilson",
    "van Rossum",
    "Borg",
    "Matsumoto",
    "Goldwasser",
    "Lamport",
    "Sammet",
    "Wirth",
    "Goldberg",
    "McCarthy",
    "Keller",
    "Stroustrup",
    "Conway",
    "Kernighan",
    "Clarke",
)
