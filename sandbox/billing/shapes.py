"""Stripe's JSON shapes for the payment objects: payment intents, charges, refunds.

Pure builders: they take the values and return the dict Stripe would serve, with every
nullable field present as ``null`` as Stripe sends it. The conformance test holds these to
the SDK's annotations.
"""

from __future__ import annotations

from typing import Any

from sandbox.billing.declines import CardBehaviour, message_for, seller_message_for

Obj = dict[str, Any]


def outcome(behaviour: CardBehaviour, risk_score: int) -> Obj:
    """``charge.outcome`` for a card behaviour: approved, issuer-declined or blocked."""
    if not behaviour.declines:
        return {
            "advice_code": None,
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": "approved_by_network",
            "reason": None,
            "risk_level": "normal",
            "risk_score": risk_score,
            "seller_message": "Payment complete.",
            "type": "authorized",
        }
    decline = behaviour.decline_code
    if behaviour.blocked:
        return {
            "advice_code": "do_not_try_again",
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": "not_sent_to_network",
            "reason": "highest_risk_level",
            "risk_level": "highest",
            "risk_score": 95,
            "seller_message": "Stripe blocked this payment as too risky.",
            "type": "blocked",
        }
    advice = "do_not_try_again" if decline in ("lost_card", "stolen_card", "fraudulent") else None
    if decline == "insufficient_funds":
        advice = "try_again_later"
    elif decline in ("expired_card", "incorrect_cvc"):
        advice = "confirm_card_data"
    return {
        "advice_code": advice,
        "network_advice_code": None,
        "network_decline_code": None,
        "network_status": "declined_by_network",
        "reason": decline,
        "risk_level": "elevated" if decline == "fraudulent" else "normal",
        "risk_score": max(risk_score, 76) if decline == "fraudulent" else risk_score,
        "seller_message": seller_message_for(decline),
        "type": "issuer_declined",
    }


def card_details(card: Obj, amount: int, captured: bool) -> Obj:
    """``charge.payment_method_details`` for a card payment method's ``card`` hash."""
    return {
        "type": "card",
        "card": {
            "amount_authorized": amount if captured else None,
            "authorization_code": None,
            "brand": card.get("brand"),
            "checks": {
                "address_line1_check": None,
                "address_postal_code_check": None,
                "cvc_check": "pass",
            },
            "country": card.get("country") or "US",
            "exp_month": card.get("exp_month", 12),
            "exp_year": card.get("exp_year", 2034),
            "extended_authorization": {"status": "disabled"},
            "fingerprint": card.get("fingerprint"),
            "funding": card.get("funding") or "credit",
            "incremental_authorization": {"status": "unavailable"},
            "installments": None,
            "last4": card.get("last4"),
            "mandate": None,
            "multicapture": {"status": "unavailable"},
            "network": card.get("brand") if card.get("brand") != "unknown" else None,
            "network_token": {"used": False},
            "network_transaction_id": None,
            "overcapture": {"maximum_amount_capturable": amount, "status": "unavailable"},
            "regulated_status": "unregulated",
            "three_d_secure": None,
            "wallet": None,
        },
    }


def billing_details(payment_method: Obj) -> Obj:
    details = payment_method.get("billing_details") or {}
    address = details.get("address") or {}
    return {
        "address": {
            k: address.get(k) for k in ("city", "country", "line1", "line2", "postal_code", "state")
        },
        "email": details.get("email"),
        "name": details.get("name"),
        "phone": details.get("phone"),
        "tax_id": None,
    }


def charge(
    *,
    charge_id: str,
    now: int,
    amount: int,
    currency: str,
    customer: str | None,
    payment_intent: str,
    payment_method: Obj,
    behaviour: CardBehaviour,
    balance_transaction: str | None,
    description: str | None,
    risk_score: int,
) -> Obj:
    succeeded = not behaviour.declines
    card = payment_method.get("card") or {}
    return {
        "id": charge_id,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount if succeeded else 0,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": balance_transaction,
        "billing_details": billing_details(payment_method),
        "calculated_statement_descriptor": "SANDBOX",
        "captured": succeeded,
        "created": now,
        "currency": currency,
        "customer": customer,
        "description": description,
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": behaviour.code,
        "failure_message": message_for(behaviour.decline_code) if behaviour.declines else None,
        "fraud_details": {},
        "livemode": False,
        "metadata": {},
        "on_behalf_of": None,
        "outcome": outcome(behaviour, risk_score),
        "paid": succeeded,
        "payment_intent": payment_intent,
        "payment_method": payment_method["id"],
        "payment_method_details": card_details(card, amount, succeeded),
        "radar_options": {},
        "receipt_email": None,
        "receipt_number": None,
        "receipt_url": None,
        "refunded": False,
        "review": None,
        "shipping": None,
        "source": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "succeeded" if succeeded else "failed",
        "transfer_data": None,
        "transfer_group": None,
    }


def payment_intent(
    *,
    intent_id: str,
    now: int,
    amount: int,
    currency: str,
    customer: str | None,
    payment_method: str | None,
    description: str | None,
    client_secret: str,
) -> Obj:
    return {
        "id": intent_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 0,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": None,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic",
        "client_secret": client_secret,
        "confirmation_method": "automatic",
        "created": now,
        "currency": currency,
        "customer": customer,
        "description": description,
        "excluded_payment_method_types": None,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "metadata": {},
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": payment_method,
        "payment_method_configuration_details": None,
        "payment_method_options": {
            "card": {
                "installments": None,
                "mandate_options": None,
                "network": None,
                "request_three_d_secure": "automatic",
            }
        },
        "payment_method_types": ["card"],
        "processing": None,
        "receipt_email": None,
        "review": None,
        "setup_future_usage": None,
        "shipping": None,
        "source": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "requires_payment_method" if payment_method is None else "requires_confirmation",
        "transfer_data": None,
        "transfer_group": None,
    }


def last_payment_error(behaviour: CardBehaviour, charge_id: str, payment_method: Obj) -> Obj:
    code = behaviour.code or "card_declined"
    return {
        "advice_code": None,
        "charge": charge_id,
        "code": code,
        "decline_code": behaviour.decline_code,
        "doc_url": f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}",
        "message": message_for(behaviour.decline_code),
        "network_decline_code": None,
        "payment_method": payment_method,
        "type": "card_error",
    }


def refund(
    *,
    refund_id: str,
    now: int,
    amount: int,
    charge: Obj,
    reason: str | None,
    balance_transaction: str | None,
    metadata: dict[str, str],
) -> Obj:
    return {
        "id": refund_id,
        "object": "refund",
        "amount": amount,
        "balance_transaction": balance_transaction,
        "charge": charge["id"],
        "created": now,
        "currency": charge["currency"],
        "destination_details": {
            "type": "card",
            "card": {
                "reference_status": "pending",
                "reference_type": "acquirer_reference_number",
                "type": "refund",
            },
        },
        "metadata": metadata,
        "payment_intent": charge.get("payment_intent"),
        "reason": reason,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
    }


def balance_transaction(
    *,
    txn_id: str,
    now: int,
    amount: int,
    currency: str,
    source: str,
    kind: str,
    description: str | None,
    reporting_category: str,
) -> Obj:
    """A balance transaction; card fees follow Stripe's US list price (2.9% + 30c)."""
    fee = (
        round(amount * 0.029) + 30
        if kind == "charge"
        else (1500 if kind == "adjustment" and amount < 0 else 0)
    )
    fee_details = (
        [
            {
                "amount": fee,
                "application": None,
                "currency": currency,
                "description": "Stripe processing fees",
                "type": "stripe_fee",
            }
        ]
        if fee
        else []
    )
    return {
        "id": txn_id,
        "object": "balance_transaction",
        "amount": amount,
        "available_on": now + 2 * 86_400,
        "balance_type": "payments",
        "created": now,
        "currency": currency,
        "description": description,
        "exchange_rate": None,
        "fee": fee,
        "fee_details": fee_details,
        "net": amount - fee,
        "reporting_category": reporting_category,
        "source": source,
        "status": "pending",
        "type": kind,
    }
