"""A plugin's `register_stripe_permissions` is probed on the operator's key like the core's own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from core.contributions import StripePermission
from core.plugins import hookimpl
from core.runtime import Runtime
from core.settings import Settings
from core.stripe import permissions
from core.stripe.client import StripeAccess
from core.stripe.restricted_key import verify_key
from core.testing.fixtures import pointed_at
from sandbox.testing import RunningSandbox, running_sandbox


async def _refund(access: StripeAccess) -> Any:
    return await access.client.v1.refunds.create_async(
        params={"charge": f"ch_{permissions.PROBE_ID}"}, options=access.options()
    )


class RefundsPlugin:
    """A third-party plugin that refunds charges and, like recovery, may cancel subscriptions."""

    probed = 0

    @hookimpl
    def register_stripe_permissions(self) -> list[StripePermission]:
        async def counted(access: StripeAccess) -> Any:
            RefundsPlugin.probed += 1
            return await _refund(access)

        async def update_subscription(access: StripeAccess) -> Any:
            return await access.client.v1.subscriptions.update_async(
                f"sub_{permissions.PROBE_ID}",
                params={"metadata": {"probe": "1"}},
                options=access.options(),
            )

        return [
            StripePermission(
                "refunds:read", "Read refunds", "Refunds: Read", permissions.list_probe("refunds")
            ),
            StripePermission("refunds:write", "Refund charges", "Refunds: Write", counted),
            # Optional for recovery, required here: required wins.
            StripePermission(
                "subscriptions:write", "Cancel", "Subscriptions: Write", update_subscription
            ),
        ]


@pytest.fixture(scope="module")
def sb() -> Iterator[RunningSandbox]:
    with running_sandbox(seed="stripe-permissions") as sandbox:
        yield sandbox


@pytest.fixture
def settings(settings: Settings, sb: RunningSandbox) -> Settings:
    return pointed_at(settings, sb)


@pytest.fixture
def extra_plugins() -> list[tuple[str, object]]:
    return [("refunds", RefundsPlugin())]


def mint_key(sb: RunningSandbox, account: str, perms: dict[str, str]) -> str:
    response = sb.http.post("/_sandbox/keys", json={"account": account, "permissions": perms})
    response.raise_for_status()
    secret: str = response.json()["secret"]
    return secret


async def test_a_plugins_permissions_are_probed_merged_and_named(
    app: Any, runtime: Runtime, sb: RunningSandbox
) -> None:
    needed = {p.key: p for p in permissions.needed(runtime)}
    # One entry per key, whoever declared it; required when any declaration requires it.
    assert [p.key for p in permissions.needed(runtime)].count("subscriptions:write") == 1
    assert needed["subscriptions:write"].required
    assert not needed["checkout_sessions:write"].required

    shop = sb.create_account(name="Refunder")
    RefundsPlugin.probed = 0
    full = await verify_key(runtime, shop["restricted_key"])  # refunds: read only
    assert full.missing == ["refunds:write"]
    assert RefundsPlugin.probed == 1

    key = mint_key(sb, shop["id"], {"accounts": "read", "refunds": "write", "events": "read"})
    narrow = await verify_key(runtime, key)
    assert "refunds:write" not in narrow.missing and "refunds:read" not in narrow.missing
    required = permissions.required_missing(narrow.missing, permissions.needed(runtime))
    assert "subscriptions:write" in required and "checkout_sessions:write" not in required
    lines = permissions.describe(narrow.missing, permissions.needed(runtime))
    assert "Subscriptions: Write" in " ".join(lines)
    assert any("Checkout Sessions: Write" in line and "(optional)" in line for line in lines)
