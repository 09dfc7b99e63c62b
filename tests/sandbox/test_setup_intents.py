"""SetupIntents: saving cards with Stripe's test-card outcomes."""

from __future__ import annotations

import pytest
import stripe

from sandbox.conformance import check_error_body, check_object
from sandbox.testing import RunningSandbox


def test_setup_intent_saves_a_card(sb: RunningSandbox) -> None:
    client = sb.client()
    customer = client.v1.customers.create()
    intent = client.v1.setup_intents.create(params={"customer": customer.id})
    assert intent.status == "requires_payment_method" and intent.usage == "off_session"
    assert intent.client_secret.startswith(f"{intent.id}_secret_")
    done = client.v1.setup_intents.confirm(intent.id, params={"payment_method": "pm_card_visa"})
    assert done.status == "succeeded"
    pm = client.v1.payment_methods.retrieve(done.payment_method)
    assert pm.customer == customer.id
    assert check_object(done.to_dict()) == []
    types = [e.type for e in client.v1.events.list().data]
    assert types[:3] == [
        "setup_intent.succeeded",
        "payment_method.attached",
        "setup_intent.created",
    ]
    listed = client.v1.setup_intents.list(params={"customer": customer.id})
    assert [i.id for i in listed.data] == [intent.id]


def test_declined_card_and_authentication(sb: RunningSandbox) -> None:
    client = sb.client()
    customer = client.v1.customers.create()
    with pytest.raises(stripe.CardError) as exc:
        client.v1.setup_intents.create(
            params={
                "customer": customer.id,
                "payment_method": "pm_card_chargeDeclinedInsufficientFunds",
                "confirm": True,
            }
        )
    assert exc.value.error is not None and exc.value.error.decline_code == "insufficient_funds"
    assert check_error_body(exc.value.json_body) == []
    failed = exc.value.error.setup_intent
    assert failed is not None and failed.status == "requires_payment_method"
    assert failed.last_setup_error.code == "card_declined"
    assert check_object(client.v1.setup_intents.retrieve(failed.id).to_dict()) == []

    action = client.v1.setup_intents.create(
        params={
            "customer": customer.id,
            "payment_method": "pm_card_authenticationRequired",
            "confirm": True,
        }
    )
    assert action.status == "requires_action" and action.next_action.type == "use_stripe_sdk"
    canceled = client.v1.setup_intents.cancel(
        action.id, params={"cancellation_reason": "abandoned"}
    )
    assert canceled.status == "canceled"
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.setup_intents.confirm(action.id)
    assert err.value.code == "setup_intent_unexpected_state"
