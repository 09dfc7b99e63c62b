"""Accounts: the platform, standalone accounts, and their Stripe ``account`` objects."""

from __future__ import annotations

from typing import Any

from sandbox.keys import READ_ONLY_PERMISSIONS, SECONDLOOP_PERMISSIONS
from sandbox.state import Account, SandboxState
from sandbox.store import AccountStore

Obj = dict[str, Any]


def account_object(
    account_id: str,
    *,
    name: str | None,
    email: str | None,
    country: str,
    currency: str,
    created: int,
) -> Obj:
    return {
        "id": account_id,
        "object": "account",
        "business_profile": {
            "annual_revenue": None,
            "estimated_worker_count": None,
            "mcc": None,
            "minority_owned_business_designation": None,
            "monthly_estimated_revenue": None,
            "name": name,
            "product_description": None,
            "support_address": None,
            "support_email": email,
            "support_phone": None,
            "support_url": None,
            "url": None,
        },
        "business_type": None,
        "capabilities": {"card_payments": "active", "transfers": "active"},
        "charges_enabled": True,
        "controller": {"type": "account"},
        "country": country,
        "created": created,
        "default_currency": currency,
        "details_submitted": True,
        "email": email,
        "metadata": {},
        "payouts_enabled": True,
        "requirements": {
            "alternatives": [],
            "current_deadline": None,
            "currently_due": [],
            "disabled_reason": None,
            "errors": [],
            "eventually_due": [],
            "past_due": [],
            "pending_verification": [],
        },
        "settings": {
            "bacs_debit_payments": {"display_name": None, "service_user_number": None},
            "branding": {
                "icon": None,
                "logo": None,
                "primary_color": None,
                "secondary_color": None,
            },
            "card_payments": {
                "decline_on": {"avs_failure": False, "cvc_failure": False},
                "statement_descriptor_prefix": None,
                "statement_descriptor_prefix_kana": None,
                "statement_descriptor_prefix_kanji": None,
            },
            "dashboard": {"display_name": name, "timezone": "Etc/UTC"},
            "invoices": {"default_account_tax_ids": None, "hosted_payment_method_save": "offer"},
            "payments": {
                "statement_descriptor": (name or "SANDBOX")[:22].upper(),
                "statement_descriptor_kana": None,
                "statement_descriptor_kanji": None,
                "statement_descriptor_prefix_kana": None,
                "statement_descriptor_prefix_kanji": None,
            },
            "payouts": {
                "debit_negative_balances": True,
                "schedule": {"delay_days": 2, "interval": "daily"},
                "statement_descriptor": None,
            },
            "sepa_debit_payments": {"creditor_id": None},
        },
        "tos_acceptance": {"date": created, "ip": None, "user_agent": None},
        "type": "standard",
    }


def create_account(
    state: SandboxState,
    *,
    name: str | None = None,
    email: str | None = None,
    country: str = "US",
    currency: str = "usd",
    platform: str | None = None,
    is_platform: bool = False,
) -> Account:
    account_id = state.ids.token("acct")
    obj = account_object(
        account_id,
        name=name,
        email=email,
        country=country,
        currency=currency,
        created=state.clock.now(),
    )
    secret = state.mint_key(account_id, "secret")
    publishable = state.mint_key(account_id, "publishable")
    account = Account(
        id=account_id,
        obj=obj,
        store=AccountStore(account_id),
        secret_key=secret.secret,
        publishable_key=publishable.secret,
        is_platform=is_platform,
        platform=platform,
    )
    state.accounts[account_id] = account
    return account


def bootstrap(state: SandboxState) -> Account:
    """Create the platform account and its Connect client id (once per state)."""
    if state.platform_id:
        return state.platform
    platform = create_account(
        state,
        name=state.config.platform_name,
        email="platform@sandbox.secondloop.test",
        is_platform=True,
    )
    state.platform_id = platform.id
    state.client_id = state.ids.token("ca")
    return platform


def provision_account(
    state: SandboxState,
    *,
    name: str | None = None,
    email: str | None = None,
    country: str = "US",
    currency: str = "usd",
    connected: bool = True,
) -> dict[str, Any]:
    """``POST /_sandbox/accounts``: a standalone account with the keys SecondLoop needs."""
    account = create_account(
        state,
        name=name,
        email=email,
        country=country,
        currency=currency,
        platform=state.platform_id if connected else None,
    )
    if connected:
        account.scope = "read_write"
    restricted = state.mint_key(account.id, "restricted", dict(SECONDLOOP_PERMISSIONS))
    read_only = state.mint_key(account.id, "restricted", dict(READ_ONLY_PERMISSIONS))
    return {
        "id": account.id,
        "secret_key": account.secret_key,
        "restricted_key": restricted.secret,
        "read_only_key": read_only.secret,
        "publishable_key": account.publishable_key,
        "connected": connected,
    }
