"""The reader against the sandbox: a 429's Retry-After is what it waits, every try counted."""

from __future__ import annotations

import asyncio
from typing import Any

from plugins.audit.diagnostic.reader import StripeReader
from tests.plugins.audit.support import mint_key


async def test_a_429_is_retried_after_the_retry_after_it_names(seeded: Any) -> None:
    sb, summary = seeded
    key = mint_key(sb, summary.businesses[1].account, {"customers": "read"})
    sb.http.post("/_sandbox/rate_limits", json={"key": key, "rate": 2}).raise_for_status()
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(seconds)  # really wait: the sandbox's bucket must refill

    reader = StripeReader(
        sb.client(key, max_network_retries=0), rate=1000, concurrency=4, sleep=sleep
    )
    pages = await asyncio.gather(*(reader.list_page("customers", {"limit": 1}) for _ in range(6)))
    assert all(page["object"] == "list" for page in pages)
    assert reader.rate_limited > 0 and reader.calls == 6 + reader.rate_limited
    # The sandbox answers `Retry-After: 1`; without it the first backoff would be 0.25 s.
    assert waits and set(waits) == {1.0}
