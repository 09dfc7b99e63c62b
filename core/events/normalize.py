"""One normalised view of a stored Stripe event, whatever API version its endpoint is pinned to.

Stripe moved several invoice fields in 2025: `subscription` went under
`parent.subscription_details`, `charge` / `payment_intent` became the `payments` list, and
subscription periods moved from the subscription onto its items. Endpoints pinned to older
versions still send the old shapes, so handlers read `event.invoice` / `event.subscription`
instead of the raw object and never branch on the version themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.clock import from_unix
from core.models.events import Event


def _id(value: Any) -> str | None:
    """An expandable field: an id string, an expanded object, or nothing."""
    if isinstance(value, dict):
        found = value.get("id")
        return str(found) if found else None
    return str(value) if value else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _list(value: Any) -> list[dict[str, Any]]:
    """The `data` of a list object (or a bare list), keeping only objects."""
    items = value.get("data") if isinstance(value, dict) else value
    return (
        [item for item in items or [] if isinstance(item, dict)] if isinstance(items, list) else []
    )


@dataclass(frozen=True)
class InvoiceView:
    """The invoice fields plugins need, the same for pre-2025 and 2025+ payloads."""

    id: str
    customer_id: str | None
    subscription_id: str | None
    payment_intent_id: str | None
    charge_id: str | None
    period_start: datetime | None
    period_end: datetime | None
    test_clock: str | None
    amount_due: int | None
    amount_paid: int | None
    amount_remaining: int | None
    currency: str | None
    attempt_count: int | None
    next_payment_attempt: datetime | None
    status: str | None
    billing_reason: str | None
    hosted_invoice_url: str | None
    legacy_shape: bool

    @classmethod
    def from_object(cls, obj: dict[str, Any]) -> InvoiceView:
        legacy = "parent" not in obj and any(
            k in obj for k in ("subscription", "charge", "payment_intent")
        )
        payment_intent_id, charge_id = _invoice_payment(obj)
        period_start, period_end = _invoice_period(obj)
        return cls(
            id=str(obj.get("id") or ""),
            customer_id=_id(obj.get("customer")),
            subscription_id=_invoice_subscription(obj),
            payment_intent_id=payment_intent_id,
            charge_id=charge_id,
            period_start=period_start,
            period_end=period_end,
            test_clock=_id(obj.get("test_clock")),
            amount_due=_int(obj.get("amount_due")),
            amount_paid=_int(obj.get("amount_paid")),
            amount_remaining=_int(obj.get("amount_remaining")),
            currency=obj.get("currency"),
            attempt_count=_int(obj.get("attempt_count")),
            next_payment_attempt=from_unix(_int(obj.get("next_payment_attempt"))),
            status=obj.get("status"),
            billing_reason=obj.get("billing_reason"),
            hosted_invoice_url=obj.get("hosted_invoice_url"),
            legacy_shape=legacy,
        )


def _invoice_subscription(obj: dict[str, Any]) -> str | None:
    parent = obj.get("parent")
    if isinstance(parent, dict):
        details = parent.get("subscription_details")
        if isinstance(details, dict) and details.get("subscription"):
            return _id(details["subscription"])
    return _id(obj.get("subscription"))


def _invoice_payment(obj: dict[str, Any]) -> tuple[str | None, str | None]:
    """(payment_intent_id, charge_id): legacy top-level fields, else the `payments` list when
    it was expanded into the payload (the paid entry first, else the newest)."""
    payment_intent = obj.get("payment_intent")
    charge = _id(obj.get("charge"))
    if payment_intent or charge:
        if charge is None and isinstance(payment_intent, dict):
            charge = _id(payment_intent.get("latest_charge"))
        return _id(payment_intent), charge
    payments = _list(obj.get("payments"))
    if not payments:
        return None, None
    payments.sort(key=lambda p: (p.get("status") == "paid", _int(p.get("created")) or 0))
    payment = payments[-1].get("payment") or {}
    intent = payment.get("payment_intent")
    charge = _id(payment.get("charge"))
    if charge is None and isinstance(intent, dict):
        charge = _id(intent.get("latest_charge"))
    return _id(intent), charge


def _invoice_period(obj: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
    """The subscription period the invoice bills: from its subscription line, else the first
    line with a period, else the invoice's own (legacy) period fields."""
    lines = _list(obj.get("lines"))

    def is_subscription_line(line: dict[str, Any]) -> bool:
        parent = line.get("parent")
        if isinstance(parent, dict):
            return parent.get("type") == "subscription_item_details"
        return line.get("type") == "subscription"

    ordered = [line for line in lines if is_subscription_line(line)] + lines
    for line in ordered:
        period = line.get("period")
        if isinstance(period, dict) and _int(period.get("start")) is not None:
            return from_unix(_int(period.get("start"))), from_unix(_int(period.get("end")))
    return from_unix(_int(obj.get("period_start"))), from_unix(_int(obj.get("period_end")))


@dataclass(frozen=True)
class SubscriptionView:
    """A subscription's current period: on its items since 2025, at the top level before."""

    id: str
    customer_id: str | None
    status: str | None
    current_period_start: datetime | None
    current_period_end: datetime | None
    latest_invoice_id: str | None
    test_clock: str | None
    cancel_at_period_end: bool

    @classmethod
    def from_object(cls, obj: dict[str, Any]) -> SubscriptionView:
        start = _int(obj.get("current_period_start"))
        end = _int(obj.get("current_period_end"))
        if start is None:
            items = _list(obj.get("items"))
            starts = [
                s for s in (_int(i.get("current_period_start")) for i in items) if s is not None
            ]
            ends = [e for e in (_int(i.get("current_period_end")) for i in items) if e is not None]
            start = min(starts) if starts else None
            end = max(ends) if ends else None
        return cls(
            id=str(obj.get("id") or ""),
            customer_id=_id(obj.get("customer")),
            status=obj.get("status"),
            current_period_start=from_unix(start),
            current_period_end=from_unix(end),
            latest_invoice_id=_id(obj.get("latest_invoice")),
            test_clock=_id(obj.get("test_clock")),
            cancel_at_period_end=bool(obj.get("cancel_at_period_end")),
        )


@dataclass(frozen=True)
class StripeEvent:
    """What a handler receives: the raw object plus version-independent accessors."""

    id: int
    stripe_event_id: str
    type: str
    account: str
    api_version: str
    created: datetime
    object: dict[str, Any]
    previous_attributes: dict[str, Any]

    @property
    def object_type(self) -> str:
        return str(self.object.get("object", ""))

    @property
    def object_id(self) -> str:
        return str(self.object.get("id", ""))

    @property
    def customer_id(self) -> str | None:
        if self.object_type == "customer":
            return self.object_id or None
        return _id(self.object.get("customer"))

    @property
    def test_clock(self) -> str | None:
        """The test clock the object lives on (the clock itself for test clock events)."""
        if self.object_type == "test_helpers.test_clock":
            return self.object_id or None
        return _id(self.object.get("test_clock"))

    @property
    def invoice(self) -> InvoiceView | None:
        return InvoiceView.from_object(self.object) if self.object_type == "invoice" else None

    @property
    def subscription(self) -> SubscriptionView | None:
        if self.object_type != "subscription":
            return None
        return SubscriptionView.from_object(self.object)


def normalize(event: Event) -> StripeEvent:
    return normalized(
        event.id,
        event.stripe_event_id,
        event.type,
        event.stripe_account_id,
        event.api_version,
        event.created,
        event.payload,
    )


def normalized(
    id: int,
    stripe_event_id: str,
    type: str,
    account: str,
    api_version: str,
    created: datetime,
    payload: dict[str, Any] | None,
) -> StripeEvent:
    """The handler's view of a stored event read as plain columns (the job runner reads many
    events in one query, without model instances)."""
    data = (payload or {}).get("data") or {}
    return StripeEvent(
        id=id,
        stripe_event_id=stripe_event_id,
        type=type,
        account=account,
        api_version=api_version,
        created=created,
        object=data.get("object") or {},
        previous_attributes=data.get("previous_attributes") or {},
    )
