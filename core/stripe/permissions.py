"""Probe which of the permissions SecondLoop needs a Stripe key actually has.

What is needed is the core's own short list plus what each plugin declares through
`register_stripe_permissions`, so a plugin (built in or installed) asks for exactly what its
work calls. Each probe is the cheapest call that exercises one permission: a `limit=1` list for
reads, and for writes a request on an id that does not exist. Stripe checks a restricted key's
permissions before it looks the object up, so a 403 `permission_error` means "missing" and
anything else (404, 400) means the permission is there; nothing is ever changed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any

import stripe

from core.contributions import StripePermission
from core.runtime import Runtime
from core.stripe.client import StripeAccess

# The id every write probe names: no such object exists, so nothing can change.
PROBE_ID = "secondloop_permission_probe"
WEBHOOK_ENDPOINTS_WRITE = "webhook_endpoints:write"
# A Connect account authorized read_only: every write is missing at once.
READ_WRITE_SCOPE = "scope:read_write"
_NEEDED = "stripe.permissions"

Probe = Callable[[StripeAccess], Awaitable[Any]]


def list_probe(service: str) -> Probe:
    """A read probe: `client.v1.<service>.list(limit=1)`."""

    async def call(access: StripeAccess) -> Any:
        target = getattr(access.client.v1, service)
        return await target.list_async(params={"limit": 1}, options=access.options())

    return call


async def test_clocks_probe(access: StripeAccess) -> Any:
    """A read probe for test clocks (`client.v1.test_helpers.test_clocks`, nested, so not
    `list_probe`)."""
    return await access.client.v1.test_helpers.test_clocks.list_async(
        params={"limit": 1}, options=access.options()
    )


async def _webhook_endpoint(access: StripeAccess) -> Any:
    return await access.client.v1.webhook_endpoints.update_async(
        f"we_{PROBE_ID}", params={"metadata": {"probe": "1"}}, options=access.options()
    )


# The core's own needs: reading events (webhook health, replays) and, optionally, creating the
# webhook endpoint for the operator.
CORE_PERMISSIONS: tuple[StripePermission, ...] = (
    StripePermission("events:read", "Read events", "Events: Read", list_probe("events")),
    StripePermission(
        WEBHOOK_ENDPOINTS_WRITE,
        "Create the webhook endpoint for you",
        "Webhook Endpoints: Write",
        _webhook_endpoint,
        required=False,
    ),
)


def merge(declared: Sequence[StripePermission]) -> tuple[StripePermission, ...]:
    """One entry per key, required when any declaration requires it: reads first, then writes,
    each in the order first declared."""
    merged: dict[str, StripePermission] = {}
    for permission in declared:
        known = merged.get(permission.key)
        if known is None:
            merged[permission.key] = permission
        elif permission.required and not known.required:
            merged[permission.key] = replace(known, required=True)
    return tuple(sorted(merged.values(), key=lambda p: not p.key.endswith(":read")))


def needed(runtime: Runtime) -> tuple[StripePermission, ...]:
    """Every permission the loaded plugins and the core need, collected once per runtime."""
    found: tuple[StripePermission, ...] | None = runtime.services.get(_NEEDED)
    if found is None:
        declared = runtime.host.collect("register_stripe_permissions")
        found = merge(
            [*CORE_PERMISSIONS, *(p for p in declared if isinstance(p, StripePermission))]
        )
        runtime.services[_NEEDED] = found
    return found


async def probe(access: StripeAccess, permissions: Sequence[StripePermission]) -> list[str]:
    """The keys of the permissions this access lacks, in `permissions` order."""
    missing: list[str] = []
    for permission in permissions:
        try:
            await permission.probe(access)
        except stripe.PermissionError:
            missing.append(permission.key)
        except stripe.InvalidRequestError:
            pass  # 400/404: past the permission check, which is all we asked
    return missing


def describe(missing: list[str], permissions: Sequence[StripePermission]) -> list[str]:
    """One line per missing permission, naming it as Stripe's key editor does."""
    by_key = {p.key: p for p in permissions}
    lines = []
    for key in missing:
        if key == READ_WRITE_SCOPE:
            lines.append(
                "Recovery actions (retries, portal links, dispute evidence): reconnect with "
                "“Read and write” access"
            )
            continue
        permission = by_key.get(key)
        if permission is None:
            continue
        optional = "" if permission.required else " (optional)"
        lines.append(f"{permission.label}{optional}: grant “{permission.stripe_name}”")
    return lines


def required_missing(missing: list[str], permissions: Sequence[StripePermission]) -> list[str]:
    required = {p.key for p in permissions if p.required}
    return [key for key in missing if key in required]
