"""Probe which of the permissions SecondLoop needs a Stripe key actually has.

Each probe is the cheapest call that exercises one permission: a `limit=1` list for reads, and
for writes a request on an id that does not exist. Stripe checks a restricted key's
permissions before it looks the object up, so a 403 `permission_error` means "missing" and
anything else (404, 400) means the permission is there; nothing is ever changed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import stripe

from core.stripe.client import StripeAccess

_PROBE_ID = "secondloop_permission_probe"


@dataclass(frozen=True)
class Permission:
    key: str  # e.g. "invoices:write"
    label: str  # what the operator sees
    stripe_name: str  # the name in Stripe's restricted-key editor
    call: Callable[[StripeAccess], Awaitable[Any]]
    required: bool = True


def _list(service: str) -> Callable[[StripeAccess], Awaitable[Any]]:
    async def call(access: StripeAccess) -> Any:
        target = getattr(access.client.v1, service)
        return await target.list_async(params={"limit": 1}, options=access.options())

    return call


async def _retry_invoice(access: StripeAccess) -> Any:
    return await access.client.v1.invoices.pay_async(f"in_{_PROBE_ID}", options=access.options())


async def _portal_session(access: StripeAccess) -> Any:
    return await access.client.v1.billing_portal.sessions.create_async(
        params={"customer": f"cus_{_PROBE_ID}"}, options=access.options()
    )


async def _dispute_evidence(access: StripeAccess) -> Any:
    return await access.client.v1.disputes.update_async(
        f"dp_{_PROBE_ID}", params={"metadata": {"probe": "1"}}, options=access.options()
    )


async def _webhook_endpoint(access: StripeAccess) -> Any:
    return await access.client.v1.webhook_endpoints.update_async(
        f"we_{_PROBE_ID}", params={"metadata": {"probe": "1"}}, options=access.options()
    )


WEBHOOK_ENDPOINTS_WRITE = "webhook_endpoints:write"
# A Connect account authorized read_only: every write is missing at once.
READ_WRITE_SCOPE = "scope:read_write"

PERMISSIONS: tuple[Permission, ...] = (
    Permission("customers:read", "Read customers", "Customers: Read", _list("customers")),
    Permission("invoices:read", "Read invoices", "Invoices: Read", _list("invoices")),
    Permission(
        "subscriptions:read", "Read subscriptions", "Subscriptions: Read", _list("subscriptions")
    ),
    Permission("charges:read", "Read charges", "Charges: Read", _list("charges")),
    Permission("disputes:read", "Read disputes", "Disputes: Read", _list("disputes")),
    Permission(
        "payment_methods:read",
        "Read payment methods",
        "PaymentMethods: Read",
        _list("payment_methods"),
    ),
    Permission("events:read", "Read events", "Events: Read", _list("events")),
    Permission("invoices:write", "Retry invoice payments", "Invoices: Write", _retry_invoice),
    Permission(
        "billing_portal:write",
        "Create billing portal sessions",
        "Customer portal: Write",
        _portal_session,
    ),
    Permission("disputes:write", "Submit dispute evidence", "Disputes: Write", _dispute_evidence),
    Permission(
        WEBHOOK_ENDPOINTS_WRITE,
        "Create the webhook endpoint for you",
        "Webhook Endpoints: Write",
        _webhook_endpoint,
        required=False,
    ),
)

BY_KEY = {p.key: p for p in PERMISSIONS}


async def probe(access: StripeAccess) -> list[str]:
    """The keys of the permissions this access lacks, in PERMISSIONS order."""
    missing: list[str] = []
    for permission in PERMISSIONS:
        try:
            await permission.call(access)
        except stripe.PermissionError:
            missing.append(permission.key)
        except stripe.InvalidRequestError:
            pass  # 400/404: past the permission check, which is all we asked
    return missing


def describe(missing: list[str]) -> list[str]:
    """One line per missing permission, naming it as Stripe's key editor does."""
    lines = []
    for key in missing:
        if key == READ_WRITE_SCOPE:
            lines.append(
                "Recovery actions (retries, portal links, dispute evidence): reconnect with "
                "“Read and write” access"
            )
            continue
        permission = BY_KEY.get(key)
        if permission is None:
            continue
        optional = "" if permission.required else " (optional)"
        lines.append(f"{permission.label}{optional}: grant “{permission.stripe_name}”")
    return lines


def required_missing(missing: list[str]) -> list[str]:
    return [key for key in missing if key in BY_KEY and BY_KEY[key].required]
