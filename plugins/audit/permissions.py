"""The Stripe permissions the audit reads with: all reads, so a read-only key is enough."""

from __future__ import annotations

from core.contributions import StripePermission
from core.stripe.permissions import list_probe, test_clocks_probe


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
            test_clocks_probe,
            required=False,
        ),
    ]
