"""How SecondLoop reaches one connected Stripe account, and its secrets sealed at rest.

Every secret column of `StripeAccount` is an AES-256-GCM ciphertext bound to its row and field
(`stripe_account:{id}:{field}`), so a ciphertext copied to another row or column does not open.
"""

from __future__ import annotations

import stripe

from core.models.accounts import ConnectionMode, ConnectionStatus, StripeAccount
from core.runtime import Runtime
from core.stripe.client import StripeAccess, make_client

# The secret fields of StripeAccount, each stored in `<field>_enc`.
SECRET_FIELDS = (
    "access_token",
    "refresh_token",
    "api_key",
    "webhook_secret",
    "previous_webhook_secret",
    "webhook_token",
)


class StripeAccessError(RuntimeError):
    """The account cannot be reached (no platform key for Connect, or no key stored)."""


def context(account: StripeAccount, field: str) -> str:
    return f"stripe_account:{account.id}:{field}"


def seal(runtime: Runtime, account: StripeAccount, field: str, value: str | None) -> None:
    """Set `<field>_enc` to the ciphertext of `value` (None clears it). The row needs its id."""
    if field not in SECRET_FIELDS:
        raise ValueError(f"{field!r} is not a secret field of StripeAccount")
    if account.id is None:
        raise ValueError(
            "save the StripeAccount before sealing its secrets (its id is the context)"
        )
    ctx = context(account, field)
    sealed = None if value is None else runtime.keyring.encrypt(value, context=ctx)
    setattr(account, f"{field}_enc", sealed)


def forget(account: StripeAccount, *fields: str) -> None:
    """Clear secret fields (the caller saves)."""
    for field in fields:
        if field not in SECRET_FIELDS:
            raise ValueError(f"{field!r} is not a secret field of StripeAccount")
        setattr(account, f"{field}_enc", None)


def unseal(runtime: Runtime, account: StripeAccount, field: str) -> str | None:
    token = getattr(account, f"{field}_enc")
    if not token:
        return None
    return runtime.keyring.decrypt(token, context=context(account, field))


def stripe_access(runtime: Runtime, account: StripeAccount) -> StripeAccess:
    """A client aimed at `account`: the access token Stripe issued for a Connect OAuth
    connection (refreshed once when Stripe refuses it, see `core.stripe.refresh`), the
    operator's own restricted key otherwise. A connection that needs reconnecting is refused
    here, without a call to Stripe."""
    if account.status == ConnectionStatus.RECONNECT:
        raise StripeAccessError(
            f"Stripe account {account.stripe_account_id} needs reconnecting "
            f"({account.access_error or 'Stripe stopped accepting its credentials'})"
        )
    if account.mode == ConnectionMode.OAUTH:
        token = unseal(runtime, account, "access_token")
        if token:
            from core.stripe.refresh import RefreshingHTTPXClient  # imports this module

            http = RefreshingHTTPXClient(runtime, account, token)
            return StripeAccess(
                client=make_client(runtime.settings, token, http_client=http), stripe_account=None
            )
        # No token stored: the platform key acting on the account (`Stripe-Account`).
        if not runtime.settings.stripe_secret_key:
            raise StripeAccessError(
                "SECONDLOOP_STRIPE_SECRET_KEY is needed to reach Connect accounts"
            )
        client = make_client(runtime.settings, runtime.settings.stripe_secret_key)
        return StripeAccess(client=client, stripe_account=account.stripe_account_id)
    key = unseal(runtime, account, "api_key")
    if not key:
        raise StripeAccessError(f"Stripe account {account.stripe_account_id} has no API key stored")
    from core.stripe.refresh import KeyGuardHTTPXClient

    guard = KeyGuardHTTPXClient(runtime, account, key)
    return StripeAccess(
        client=make_client(runtime.settings, key, http_client=guard), stripe_account=None
    )


def account_label(account: stripe.Account) -> str:
    """How to name a Stripe account to the operator: business name, email or id."""
    profile = account.business_profile if "business_profile" in account else None
    name = profile.name if profile is not None and "name" in profile else None
    email = account.email if "email" in account else None
    return str(name or email or account.id)


_KINDS = ("rk_test_", "rk_live_", "sk_test_", "sk_live_", "whsec_")


def mask(secret: str | None) -> str:
    """What the UI may show of a secret: its kind prefix and last four characters."""
    if not secret:
        return ""
    kind = next((k for k in _KINDS if secret.startswith(k)), "")
    return f"{kind}…{secret[-4:]}" if len(secret) > 12 else "…"
