"""Test cards: tokens, raw numbers, attach / detach / default, hidden behaviour."""

from __future__ import annotations

import pytest
import stripe

from sandbox.payment_methods import behaviour_of
from sandbox.testing import RunningSandbox

TOKENS = [
    "pm_card_visa",
    "pm_card_mastercard",
    "pm_card_chargeDeclined",
    "pm_card_chargeDeclinedInsufficientFunds",
    "pm_card_chargeDeclinedExpiredCard",
    "pm_card_chargeDeclinedIncorrectCvc",
    "pm_card_chargeDeclinedProcessingError",
    "pm_card_chargeDeclinedFraudulent",
    "pm_card_chargeDeclinedLostCard",
    "pm_card_chargeDeclinedStolenCard",
    "pm_card_chargeCustomerFail",
    "pm_card_authenticationRequired",
    "pm_card_createDispute",
]


@pytest.mark.parametrize("token", TOKENS)
def test_every_token_resolves_to_a_card(sb: RunningSandbox, token: str) -> None:
    pm = sb.client().v1.payment_methods.retrieve(token)
    assert pm.id.startswith("pm_") and pm.type == "card"
    assert pm.card.last4 and pm.card.brand in ("visa", "mastercard")
    assert pm.card.exp_month and pm.card.exp_year and pm.card.fingerprint and pm.card.funding
    behaviour = sb.call(lambda: behaviour_of(sb.ctx(), pm.id))
    assert behaviour is not None
    assert "behaviour" not in pm.to_dict() and "card_behaviour" not in pm.to_dict()


def test_declines_are_stored_per_card(sb: RunningSandbox) -> None:
    client = sb.client()
    cases = {
        "pm_card_chargeDeclinedInsufficientFunds": ("decline", "insufficient_funds"),
        "pm_card_chargeCustomerFail": ("decline", "generic_decline"),
        "pm_card_chargeDeclinedExpiredCard": ("decline", "expired_card"),
        "pm_card_authenticationRequired": ("authentication_required", "authentication_required"),
        "pm_card_createDispute": ("dispute", None),
        "pm_card_chargeDeclinedFraudulent": ("blocked", "fraudulent"),
    }
    for token, (outcome, decline_code) in cases.items():
        pm = client.v1.payment_methods.retrieve(token)
        behaviour = sb.call(lambda pm_id=pm.id: behaviour_of(sb.ctx(), pm_id))
        assert behaviour is not None
        assert (behaviour.outcome, behaviour.decline_code) == (outcome, decline_code), token


def test_raw_numbers_and_validation(sb: RunningSandbox) -> None:
    client = sb.client()
    pm = client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4000000000000341", "exp_month": 4, "exp_year": 2040, "cvc": "123"},
        }
    )
    assert pm.card.last4 == "0341" and pm.card.exp_year == 2040
    amex = client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "378282246310005", "exp_month": 1, "exp_year": 2041},
        }
    )
    assert amex.card.brand == "amex"
    with pytest.raises(stripe.CardError) as exc:
        client.v1.payment_methods.create(
            params={
                "type": "card",
                "card": {"number": "4242424242424241", "exp_month": 1, "exp_year": 2040},
            }
        )
    assert exc.value.code == "incorrect_number" and exc.value.param == "card[number]"
    with pytest.raises(stripe.CardError) as exc:
        client.v1.payment_methods.create(
            params={
                "type": "card",
                "card": {"number": "4242424242424242", "exp_month": 1, "exp_year": 2001},
            }
        )
    assert exc.value.code == "invalid_expiry_year"
    same = client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4000000000000341", "exp_month": 5, "exp_year": 2041},
        }
    )
    assert same.card.fingerprint == pm.card.fingerprint


def test_attach_detach_default(sb: RunningSandbox) -> None:
    client = sb.client()
    customer = client.v1.customers.create()
    failing = client.v1.payment_methods.attach(
        "pm_card_chargeCustomerFail", params={"customer": customer.id}
    )
    assert failing.customer == customer.id
    visa = client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    client.v1.customers.update(
        customer.id, params={"invoice_settings": {"default_payment_method": visa.id}}
    )
    listed = client.v1.customers.payment_methods.list(customer.id)
    assert {p.id for p in listed.data} == {visa.id, failing.id}
    assert client.v1.customers.payment_methods.retrieve(customer.id, visa.id).id == visa.id
    detached = client.v1.payment_methods.detach(visa.id)
    assert detached.customer is None
    again = client.v1.customers.retrieve(customer.id)
    assert again.invoice_settings.default_payment_method is None
    types = [e.type for e in client.v1.events.list().data]
    assert types.count("payment_method.attached") == 2
    assert "payment_method.detached" in types
    detached_event = client.v1.events.list(params={"type": "payment_method.detached"}).data[0]
    assert detached_event.data.previous_attributes["customer"] == customer.id
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_methods.detach(visa.id)


def test_declining_cards_can_be_put_on_file_when_configured(sb: RunningSandbox) -> None:
    sb.state.config.validate_cards_on_attach = False
    client = sb.client()
    customer = client.v1.customers.create()
    pm = client.v1.payment_methods.attach(
        "pm_card_chargeDeclinedInsufficientFunds", params={"customer": customer.id}
    )
    assert pm.customer == customer.id


def test_default_payment_method_must_belong_to_the_customer(sb: RunningSandbox) -> None:
    client = sb.client()
    customer = client.v1.customers.create()
    loose = client.v1.payment_methods.create(params={"type": "card", "card": {"token": "tok_visa"}})
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.customers.update(
            customer.id, params={"invoice_settings": {"default_payment_method": loose.id}}
        )
    assert exc.value.param == "invoice_settings[default_payment_method]"
    other = client.v1.payment_methods.create(
        params={"type": "card", "card": {"token": "tok_mastercard"}}
    )
    created = client.v1.customers.create(
        params={
            "payment_method": other.id,
            "invoice_settings": {"default_payment_method": other.id},
        }
    )
    assert created.invoice_settings.default_payment_method == other.id
    assert client.v1.payment_methods.retrieve(other.id).customer == created.id
