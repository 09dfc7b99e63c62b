"""The audit needs only the read permissions it declares required; test clocks are optional."""

from __future__ import annotations

from typing import Any

from plugins.audit.diagnostic import run_diagnostic
from plugins.audit.diagnostic.reader import StripeReader
from plugins.audit.permissions import stripe_permissions
from tests.plugins.audit.support import mint_key


def declared(required_only: bool) -> dict[str, str]:
    """The sandbox's permission map for what the audit declares: {"invoices": "read", ...}."""
    perms = {}
    for permission in stripe_permissions():
        if permission.required or not required_only:
            resource, access = permission.key.split(":")
            perms[resource] = access
    return perms


def test_every_declared_permission_is_a_read() -> None:
    assert set(declared(required_only=False).values()) == {"read"}
    assert "test_clocks" in declared(False) and "test_clocks" not in declared(True)


async def test_the_optional_test_clocks_permission_completes_the_picture(seeded: Any) -> None:
    sb, summary = seeded
    business = summary.businesses[1]
    full = await run_diagnostic(StripeReader(sb.client(business.read_only_key), rate=1000), now=0)
    key = mint_key(sb, business.account, declared(required_only=False))
    declared_only = await run_diagnostic(StripeReader(sb.client(key), rate=1000), now=0)
    assert declared_only == full and full["test_clocks_readable"]


async def test_without_test_clocks_the_audit_still_runs_and_says_what_it_missed(
    seeded: Any,
) -> None:
    sb, summary = seeded
    business = summary.businesses[1]
    key = mint_key(sb, business.account, declared(required_only=True))
    reader = StripeReader(sb.client(key), rate=1000)
    results = await run_diagnostic(reader, now=0)
    assert results["test_clocks"] == [] and results["test_clocks_readable"] is False
    assert any("Test clocks: Read" in line for line in results["summary"])
    # Stripe lists test-clock customers only when their clock is named: none were seen.
    assert results["health"]["customers"] == 0


async def test_a_livemode_account_asks_for_no_test_clocks(seeded: Any) -> None:
    sb, summary = seeded
    business = summary.businesses[1]
    key = mint_key(sb, business.account, declared(required_only=True))
    reader = StripeReader(sb.client(key), rate=1000)
    checkpoint: dict[str, Any] = {}
    results = await run_diagnostic(reader, now=0, livemode=True, checkpoint=checkpoint)
    assert results["test_clocks"] == [] and results["test_clocks_readable"]
    assert checkpoint["streams"]["clocks"]["pages"] == 0  # no call was made for them
