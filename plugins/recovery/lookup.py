"""Finding a failed invoice's decline: the 2025+ invoice carries no charge, so ask Stripe.

`GET /v1/invoices/{id}` with `payments.data.payment.payment_intent.latest_charge` expanded
gives `last_payment_error` (`code`, `decline_code`, `advice_code`) and the charge's `outcome`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.runtime import Runtime
from plugins.recovery import gateway


@dataclass(frozen=True)
class Decline:
    code: str = ""
    decline_code: str = ""
    advice_code: str = ""
    outcome: str = ""
    charge_id: str = ""
    payment_intent_id: str = ""
    payment_method_id: str = ""


def _as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if hasattr(value, "to_dict"):
        result: dict[str, Any] = value.to_dict()
        return result
    return {}


def decline_from_intent(intent: dict[str, Any]) -> Decline:
    """Read the decline out of a payment intent (with `latest_charge` expanded or not)."""
    error = _as_dict(intent.get("last_payment_error"))
    charge = intent.get("latest_charge")
    charge_obj = _as_dict(charge)
    charge_id = charge_obj.get("id") if charge_obj else charge
    outcome = _as_dict(charge_obj.get("outcome")) if charge_obj else {}
    return Decline(
        code=str(error.get("code") or charge_obj.get("failure_code") or ""),
        decline_code=str(error.get("decline_code") or ""),
        advice_code=str(error.get("advice_code") or outcome.get("advice_code") or ""),
        outcome=str(outcome.get("type") or ""),
        charge_id=str(charge_id or error.get("charge") or ""),
        payment_intent_id=str(intent.get("id") or ""),
        payment_method_id=_id_of(
            charge_obj.get("payment_method") or error.get("payment_method")
            or intent.get("payment_method")
        ),
    )


def _id_of(value: Any) -> str:
    """An id, whether Stripe sent it bare or as an expanded object."""
    return str(_as_dict(value).get("id") or "") if not isinstance(value, str) else value


@dataclass(frozen=True)
class InvoiceState:
    """The invoice as Stripe sees it now, with the decline of its latest attempt."""

    status: str
    decline: Decline | None


async def fetch_invoice_state(
    runtime: Runtime, stripe_account_id: str, invoice_id: str
) -> InvoiceState:
    """One call: the invoice's current status and its newest payment's decline."""
    access = await gateway.access_for(runtime, stripe_account_id)
    invoice = await access.client.v1.invoices.retrieve_async(
        invoice_id,
        params={"expand": ["payments.data.payment.payment_intent.latest_charge"]},
        options=access.options(),
    )
    data = _as_dict(invoice)
    payments = [_as_dict(p) for p in _as_dict(data.get("payments")).get("data", [])]
    # The newest attempt is the one a failure event is about.
    payments.sort(key=lambda p: p.get("created") or 0, reverse=True)
    decline = None
    for payment in payments:
        intent = _as_dict(_as_dict(payment.get("payment")).get("payment_intent"))
        if intent:
            decline = decline_from_intent(intent)
            break
    return InvoiceState(status=str(data.get("status") or ""), decline=decline)


async def charge_customer(runtime: Runtime, stripe_account_id: str, charge_id: str) -> str | None:
    """The customer a charge belongs to (disputes name only the charge)."""
    access = await gateway.access_for(runtime, stripe_account_id)
    charge = _as_dict(
        await access.client.v1.charges.retrieve_async(charge_id, options=access.options())
    )
    customer = charge.get("customer")
    if isinstance(customer, dict):
        customer = customer.get("id")
    return str(customer) if customer else None
