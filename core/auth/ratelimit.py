"""A sliding-window rate limit counted in the database, so it holds across processes."""

from __future__ import annotations

from datetime import timedelta

from core.models.auth import RateLimitHit
from core.runtime import Runtime


async def hit(runtime: Runtime, bucket: str, *, limit: int, window: timedelta) -> bool:
    """Count one attempt in `bucket`; False when it goes over `limit` within `window`.

    The attempt is recorded before counting, so two processes racing can each only see more
    hits, never fewer: a limit is sometimes hit one early, never skipped. Refused attempts count
    too, which keeps a hammering client locked out until it slows down.
    """
    now = runtime.now()
    since = now - window
    await RateLimitHit.create(bucket=bucket[:300], created_at=now)
    count = await RateLimitHit.filter(bucket=bucket[:300], created_at__gt=since).count()
    # Old rows for this bucket are dead weight; pruning here keeps the table small without a job.
    await RateLimitHit.filter(bucket=bucket[:300], created_at__lte=since).delete()
    return count <= limit
