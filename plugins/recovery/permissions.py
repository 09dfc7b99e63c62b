"""The Stripe permissions recovery's calls need, each with a probe that changes nothing."""

from __future__ import annotations

from typing import Any

from core.contributions import StripePermission
from core.stripe.client import StripeAccess
from core.stripe.permissions import PROBE_ID, list_probe, test_clocks_probe


async def _pay_invoice(access: StripeAccess) -> Any:
    return await access.client.v1.invoices.pay_async(f"in_{PROBE_ID}", options=access.options())


async def _update_subscription(access: StripeAccess) -> Any:
    return await access.client.v1.subscriptions.update_async(
        f"sub_{PROBE_ID}", params={"metadata": {"probe": "1"}}, options=access.options()
    )


async def _portal_session(access: StripeAccess) -> Any:
    return await access.client.v1.billing_portal.sessions.create_async(
        params={"customer": f"cus_{PROBE_ID}"}, options=access.options()
    )


async def _checkout_session(access: StripeAccess) -> Any:
    # No line items: Stripe answers 400 once the key may create sessions at all.
    return await access.client.v1.checkout.sessions.create_async(
        params={"mode": "subscription"}, options=access.options()
    )


def stripe_permissions() -> list[StripePermission]:
    return [
        StripePermission(
            "customers:read", "Read customers", "Customers: Read", list_probe("customers")
        ),
        StripePermission(
            "invoices:read", "Read invoices", "Invoices: Read", list_probe("invoices")
        ),
        StripePermission(
            "subscriptions:read",
            "Read subscriptions",
            "Subscriptions: Read",
            list_probe("subscriptions"),
        ),
        StripePermission("charges:read", "Read charges", "Charges: Read", list_probe("charges")),
        StripePermission(
            "payment_methods:read",
            "Read cards (for expiring-card alerts)",
            "PaymentMethods: Read",
            list_probe("payment_methods"),
        ),
        StripePermission(
            "test_clocks:read",
            "Follow test clocks (test mode rehearsals)",
            "Test clocks: Read",
            test_clocks_probe,
            required=False,
        ),
        StripePermission(
            "invoices:write", "Retry invoice payments", "Invoices: Write", _pay_invoice
        ),
        StripePermission(
            "billing_portal:write",
            "Create card-update links (billing portal sessions)",
            "Customer portal: Write",
            _portal_session,
        ),
        StripePermission(
            "subscriptions:write",
            "Cancel a subscription when a sequence ends (if you choose that final action)",
            "Subscriptions: Write",
            _update_subscription,
            required=False,
        ),
        StripePermission(
            "checkout_sessions:write",
            "Resubscribe links in win-back emails",
            "Checkout Sessions: Write",
            _checkout_session,
            required=False,
        ),
    ]
