"""Scope 3: open disputes and their deadlines, and the won/lost record of the period."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plugins.audit.diagnostic.money import add
from plugins.audit.diagnostic.reader import Record

OPEN = ("needs_response", "warning_needs_response", "under_review", "warning_under_review")
NEEDS_RESPONSE = ("needs_response", "warning_needs_response")


def analyse(disputes: Mapping[str, Record], since: int, nearest: int = 5) -> dict[str, Any]:
    open_: dict[str, Any] = {"count": 0, "amount": {}}
    period: dict[str, Any] = {"count": 0, "won": 0, "lost": 0, "open": 0, "amount": {}}
    deadlines = []
    for dispute_id, dispute in disputes.items():
        if dispute["status"] in OPEN:
            open_["count"] += 1
            add(open_["amount"], dispute["currency"], dispute["amount"])
            if dispute["status"] in NEEDS_RESPONSE and dispute["due_by"]:
                deadlines.append(
                    {
                        "id": dispute_id,
                        "due_by": dispute["due_by"],
                        "amount": dispute["amount"],
                        "currency": dispute["currency"],
                        "reason": dispute["reason"],
                    }
                )
        if dispute["created"] >= since:
            period["count"] += 1
            add(period["amount"], dispute["currency"], dispute["amount"])
            if dispute["status"] in ("won", "lost"):
                period[dispute["status"]] += 1
            elif dispute["status"] in OPEN:
                period["open"] += 1
    deadlines.sort(key=lambda d: (d["due_by"], d["id"]))
    decided = period["won"] + period["lost"]
    return {
        "open": open_,
        "needs_response": len(deadlines),
        "nearest_deadlines": deadlines[:nearest],
        "period": period,
        "win_rate": round(period["won"] / decided, 3) if decided else None,
    }
