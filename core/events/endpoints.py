"""Which connection a `/webhooks/stripe/{token}` URL belongs to, cached for a moment.

Every delivery needs the account behind its token and the decrypted signing secret. Reading
them once per `TTL` seconds takes a query off the intake's hot path; a revoked connection or a
rotated token takes effect within that time, and a rotated secret at once (a signature that
fails against a cached secret is checked again against a fresh read). After a rotation the
previous secret is accepted too until its grace window ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.clock import monotonic
from core.crypto import hash_token
from core.models.accounts import ConnectionStatus, StripeAccount
from core.runtime import Runtime
from core.stripe.access import unseal
from core.tenancy import unscoped

TTL = 2.0
MAX_ENTRIES = 10_000
_SERVICE = "events.endpoint_cache"


@dataclass(frozen=True)
class Endpoint:
    account_id: int
    workspace_id: int
    stripe_account_id: str
    live: bool  # not revoked
    secret: str | None
    # After a rotation, the previous secret and the end of its grace window.
    previous_secret: str | None
    previous_until: datetime | None
    expires: float

    def secrets(self, now: datetime) -> tuple[str, ...]:
        """The secrets a delivery may be signed with at `now`: the current one first."""
        found = [self.secret]
        if self.previous_until is not None and now < self.previous_until:
            found.append(self.previous_secret)
        return tuple(s for s in found if s)


def _cache(runtime: Runtime) -> dict[str, Endpoint]:
    cache: dict[str, Endpoint] = runtime.services.setdefault(_SERVICE, {})
    return cache


async def endpoint_for(runtime: Runtime, token: str, *, fresh: bool = False) -> Endpoint | None:
    """The connection for `token`, or None. Unknown tokens are never cached (no memory to
    fill by guessing)."""
    key = hash_token(token)
    cache = _cache(runtime)
    hit = cache.get(key)
    if hit is not None and not fresh and hit.expires > monotonic():
        return hit
    with unscoped():
        account = await StripeAccount.get_or_none(webhook_token_hash=key)
    if account is None:
        cache.pop(key, None)
        return None
    endpoint = Endpoint(
        account_id=account.id,
        workspace_id=account.workspace_id,
        stripe_account_id=account.stripe_account_id,
        live=account.status != ConnectionStatus.REVOKED,
        secret=unseal(runtime, account, "webhook_secret"),
        previous_secret=unseal(runtime, account, "previous_webhook_secret"),
        previous_until=account.previous_webhook_secret_until,
        expires=monotonic() + TTL,
    )
    if len(cache) >= MAX_ENTRIES:
        cache.clear()
    cache[key] = endpoint
    return endpoint
