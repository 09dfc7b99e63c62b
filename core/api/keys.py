"""API keys: `sl_<random>`, shown once, stored as SHA-256 with a short visible prefix."""

from __future__ import annotations

from dataclasses import dataclass

from core.crypto import hash_token, new_token
from core.models.api_keys import ApiKey, ApiScope
from core.runtime import Runtime
from core.tenancy import unscoped

KEY_PREFIX = "sl_"
# Enough of the key to recognise it in a list, far too little to guess the rest.
VISIBLE = len(KEY_PREFIX) + 6


@dataclass(frozen=True)
class NewKey:
    key: ApiKey
    secret: str  # the only time the plaintext exists outside the caller's hands


async def create_key(
    runtime: Runtime, workspace_id: int, scope: ApiScope | str, name: str = ""
) -> NewKey:
    secret = new_token(KEY_PREFIX, 32)
    with unscoped():
        key = await ApiKey.create(
            workspace_id=workspace_id,
            name=name[:120],
            prefix=secret[:VISIBLE],
            key_hash=hash_token(secret),
            scope=ApiScope(scope),
            created_at=runtime.now(),
        )
    return NewKey(key=key, secret=secret)


async def authenticate(runtime: Runtime, authorization: str | None) -> ApiKey | None:
    """The live key named by an `Authorization: Bearer sl_…` header, or None."""
    if not authorization:
        return None
    scheme, _, secret = authorization.partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret.startswith(KEY_PREFIX):
        return None
    with unscoped():
        key = await ApiKey.get_or_none(key_hash=hash_token(secret), revoked_at=None)
        if key is None:
            return None
        # Best effort, one UPDATE per request; lost updates only make the time slightly stale.
        await ApiKey.filter(id=key.id).update(last_used_at=runtime.now())
    return key


async def revoke_key(runtime: Runtime, workspace_id: int, key_id: int) -> bool:
    with unscoped():
        revoked = await ApiKey.filter(
            id=key_id, workspace_id=workspace_id, revoked_at=None
        ).update(revoked_at=runtime.now())
    return bool(revoked)


def allows(key: ApiKey, method: str, needed: str) -> bool:
    """Write keys may do everything; read keys only safe methods on read routes."""
    if key.scope == ApiScope.WRITE:
        return True
    return needed == ApiScope.READ and method in {"GET", "HEAD", "OPTIONS"}
