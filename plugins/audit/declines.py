"""Decline codes and their categories, from the table shipped beside this module."""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

TABLE = Path(__file__).with_name("declines.tsv")
# Attempts Stripe records without a card to charge, and codes missing from the table.
NO_PAYMENT_METHOD = "no_payment_method"
UNKNOWN = "unknown"


@cache
def categories() -> dict[str, str]:
    with TABLE.open(newline="") as handle:
        rows = csv.DictReader(handle, delimiter="\t")
        return {row["decline_code"]: row["category"] for row in rows}


def category_of(code: str | None) -> str:
    if code is None:
        return NO_PAYMENT_METHOD
    return categories().get(code, UNKNOWN)
