"""The Stripe permissions the audit reads with: all reads, so a read-only key is enough."""

from __future__ import annotations

from typing import Any

from core.contributions import StripePermission
from core.stripe.client import StripeAccess
from core.stripe.permissions import list_probe


async def _test_clocks(access: StripeAccess) -> Any:
    return await access.client.v1.test_helpers.test_clocks.list_async(
        params={"limit": 1}, options=access.options()
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
            "disputes:read", "Read disputes", "Disputes: Read", list_probe("disputes")
        ),
        StripePermission(
            "payment_methods:read",
            "Read card expiry dates",
            "PaymentMethods: Read",
            list_probe("payment_methods"),
        ),
        StripePermission(
            "test_clocks:read",
            "Read test clocks (test mode audits)",
            "Test clocks: Read",
            _test_clocks,
            required=False,
        ),
    ]
