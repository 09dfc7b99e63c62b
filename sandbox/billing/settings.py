"""Per-account billing settings: the retry schedule and what happens after the last retry.

Stripe's dashboard offers "Smart Retries: retry up to N times within D days" and, when all
retries fail, "cancel the subscription / mark it unpaid / leave it past-due" plus "mark the
invoice uncollectible / leave it past-due". The sandbox keeps the same knobs per account
(set with ``POST /_sandbox/billing/settings``) so a rehearsal can take any of those paths.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

DAY = 86_400

SubscriptionEndState = Literal["canceled", "unpaid", "past_due"]
InvoiceEndState = Literal["uncollectible", "open"]

_SUBSCRIPTION_END_STATES = ("canceled", "unpaid", "past_due")
_INVOICE_END_STATES = ("uncollectible", "open")


@dataclass(frozen=True)
class BillingSettings:
    retries: int = 4
    retry_window_days: int = 14
    # Explicit days after the first failure for each retry (a "custom retry schedule");
    # when empty the retries are spread evenly over the window, as Smart Retries' default.
    retry_days: tuple[float, ...] = ()
    subscription_end_state: SubscriptionEndState = "canceled"
    invoice_end_state: InvoiceEndState = "open"
    # invoice.upcoming is sent this many days before a renewal (Stripe's default is 3... 7).
    upcoming_days: int = 3
    # Days after a disputed charge that evidence is due.
    dispute_evidence_days: int = 7
    # Draft renewal invoices are finalised this long after creation (Stripe: about 1 hour).
    finalize_after_seconds: int = 3600

    def retry_offsets(self) -> list[int]:
        """Seconds after the first failed attempt at which each retry happens."""
        if self.retry_days:
            return [int(d * DAY) for d in self.retry_days]
        if self.retries <= 0:
            return []
        step = self.retry_window_days * DAY / self.retries
        return [int(step * (i + 1)) for i in range(self.retries)]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["retry_days"] = list(self.retry_days)
        data["retry_offsets"] = self.retry_offsets()
        return data

    def updated(self, changes: dict[str, Any]) -> BillingSettings:
        """A copy with ``changes`` applied (strings from a form are coerced); raises ValueError."""
        fields: dict[str, Any] = {}
        for name, value in changes.items():
            if name in (
                "retries",
                "retry_window_days",
                "upcoming_days",
                "dispute_evidence_days",
                "finalize_after_seconds",
            ):
                fields[name] = int(value)
                if fields[name] < 0:
                    raise ValueError(f"{name} must be >= 0")
            elif name == "retry_days":
                items = value if isinstance(value, list) else str(value).split(",")
                fields[name] = tuple(float(v) for v in items if str(v).strip() != "")
            elif name == "subscription_end_state":
                if value not in _SUBSCRIPTION_END_STATES:
                    raise ValueError(
                        f"subscription_end_state must be one of {_SUBSCRIPTION_END_STATES}"
                    )
                fields[name] = value
            elif name == "invoice_end_state":
                if value not in _INVOICE_END_STATES:
                    raise ValueError(f"invoice_end_state must be one of {_INVOICE_END_STATES}")
                fields[name] = value
            else:
                raise ValueError(f"unknown setting {name}")
        return replace(self, **fields)


_KEY = "__billing_settings__"


def settings_for(store_hidden: dict[str, dict[str, Any]]) -> BillingSettings:
    """An account's settings, kept in its store's hidden data so they persist with it."""
    found = store_hidden.get(_KEY, {}).get("settings")
    return found if isinstance(found, BillingSettings) else BillingSettings()


def save_settings(store_hidden: dict[str, dict[str, Any]], settings: BillingSettings) -> None:
    store_hidden.setdefault(_KEY, {})["settings"] = settings
