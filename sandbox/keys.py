"""API keys: secret, publishable and restricted keys with per-resource permissions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from sandbox.errors import permission

KeyKind = Literal["secret", "restricted", "publishable"]
Access = Literal["none", "read", "write"]

# Resource families a restricted key is granted on; each API route names one.
RESOURCES: tuple[str, ...] = (
    "accounts",
    "balance",
    "billing_portal",
    "charges",
    "checkout_sessions",
    "coupons",
    "customers",
    "disputes",
    "events",
    "invoices",
    "payment_intents",
    "payment_methods",
    "prices",
    "products",
    "refunds",
    "setup_intents",
    "subscriptions",
    "test_clocks",
    "webhook_endpoints",
)

# What SecondLoop needs on a connected account (see POST /_sandbox/accounts).
SECONDLOOP_PERMISSIONS: dict[str, Access] = {
    "customers": "write",
    "invoices": "write",
    "subscriptions": "write",
    "payment_intents": "write",
    "charges": "write",
    "disputes": "write",
    "payment_methods": "write",
    "billing_portal": "write",
    "checkout_sessions": "write",
    "webhook_endpoints": "write",
    "events": "read",
    "test_clocks": "write",
    "products": "read",
    "prices": "read",
    "coupons": "read",
    "refunds": "read",
    "setup_intents": "write",
    "accounts": "read",
    "balance": "read",
}

READ_ONLY_PERMISSIONS: dict[str, Access] = {name: "read" for name in RESOURCES}

_RAK_NAMES = {
    "billing_portal": "billing_portal_session",
    "test_clocks": "test_clock",
    "balance": "balance",
}


def rak_name(resource: str, write: bool) -> str:
    """Stripe's permission name, e.g. ``rak_customer_write``."""
    base = _RAK_NAMES.get(resource, resource[:-1] if resource.endswith("s") else resource)
    return f"rak_{base}_{'write' if write else 'read'}"


def redact(secret: str) -> str:
    prefix = secret[:8]
    return f"{prefix}{'*' * max(len(secret) - 12, 4)}{secret[-4:]}"


@dataclass
class ApiKey:
    secret: str
    account_id: str
    kind: KeyKind
    permissions: dict[str, Access] = field(default_factory=dict)
    # OAuth access tokens belong to the connected account but were issued to the platform.
    issued_to: str | None = None
    revoked: bool = False
    # Rolled (Dashboard → API keys → Roll key, expiring now): Stripe answers "Expired API Key".
    expired: bool = False

    @property
    def is_platform_capable(self) -> bool:
        return self.kind in ("secret", "restricted")

    def allows(self, resource: str, write: bool) -> bool:
        if self.kind == "secret":
            return True
        if self.kind == "publishable":
            return False
        access = self.permissions.get(resource, "none")
        return access == "write" or (access == "read" and not write)

    def require(self, resource: str, write: bool, account_id: str) -> None:
        if self.allows(resource, write):
            return
        if self.kind == "publishable":
            raise permission(
                "This API call cannot be made with a publishable API key. Please use a secret "
                "API key. You can find a list of your API keys at "
                "https://dashboard.stripe.com/account/apikeys."
            )
        raise permission(
            f"The provided key '{redact(self.secret)}' does not have the required permissions "
            f"for this endpoint on account '{account_id}'. Having the "
            f"'{rak_name(resource, write)}' permission would allow this request to continue.",
        )
