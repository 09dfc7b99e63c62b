"""Benchmark the audit: a sandbox account with ~20,000 invoices over 90 days.

Builds the account in-process through the sandbox's billing engine (weekly and monthly plans,
customers on one test clock, the demo decline mix, 90 days of history), then runs the
diagnostic over HTTP with a read-only key and prints wall time, Stripe calls made, and calls
per 1,000 invoices next to the plain minimum (one list page per 100 objects of every list)
and the minimum for the lists as the audit splits them.

    .venv/bin/python bench/audit.py [--invoices 20000] [--rate 1000] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

_HERE = os.path.dirname(os.path.abspath(__file__))
if sys.path and os.path.abspath(sys.path[0]) == _HERE:
    sys.path[0] = os.path.dirname(_HERE)  # the repository root, not bench/

from plugins.audit.diagnostic import run_diagnostic  # noqa: E402
from plugins.audit.diagnostic.reader import StripeReader  # noqa: E402
from plugins.audit.diagnostic.streams import SLICES, time_slices  # noqa: E402
from plugins.audit.runner import RATE  # noqa: E402
from sandbox.seed.generator import seed_business  # noqa: E402
from sandbox.seed.profiles import Business, Plan  # noqa: E402
from sandbox.testing import running_sandbox  # noqa: E402

T = TypeVar("T")
BUSINESS = Business(
    "Bench Weekly",
    "billing@bench.test",
    "US",
    "usd",
    (
        Plan("Weekly", 500, "usd", "week"),
        Plan("Monthly", 1900, "usd"),
        Plan("Annual", 19000, "usd", "year"),
    ),
    (0.85, 0.12, 0.03),
)
INVOICES_PER_CUSTOMER = 9.3  # measured: weekly plans over 90 days, joins over 5 weeks


def on_sandbox(sb: Any, fn: Callable[[], T]) -> T:
    """Run `fn` on the sandbox's loop (like `sb.call`, without its 60 s limit: seeding
    20,000 invoices through the billing engine takes longer)."""

    async def run() -> T:
        return fn()

    return asyncio.run_coroutine_threadsafe(run(), sb.loop).result(timeout=1800)


def pages(n: int) -> int:
    return max(1, math.ceil(n / 100))


def count(objects: list[dict[str, Any]], kind: str, since: int | None = None) -> int:
    return sum(
        1
        for o in objects
        if o.get("object") == kind and (since is None or o.get("created", 0) >= since)
    )


def per_1000(calls: int, invoices: int) -> str:
    return f"{1000 * calls / max(invoices, 1):.2f}"


def minimums(
    objects: list[dict[str, Any]], results: dict[str, Any], lists: dict[str, int]
) -> tuple[int, int]:
    """(plain, as read): one page per 100 objects of every list, read once whole; and the
    same for the lists as the audit splits them. Stripe leaves test-clock customers and
    subscriptions out of a list unless their clock is named (the sandbox too), so the audit
    reads those two once off-clock and once per clock: each split ends on its own partial
    page, as does each time slice of invoices and charges."""
    since, reference = results["since"], results["reference_time"]
    clocks = results["test_clocks"]
    plain = pages(len(clocks)) + sum(pages(n) for n in lists.values())
    sliced = sum(
        pages(
            sum(
                1
                for o in objects
                if o.get("object") == kind
                and window["gte"] <= o["created"]
                and o["created"] < window.get("lt", reference + 1)
            )
        )
        for kind in ("invoice", "charge")
        for window in time_slices(since, reference, SLICES)
    )
    per_clock = sum(
        pages(sum(1 for o in objects if o.get("object") == kind and o.get("test_clock") == clock))
        for kind in ("subscription", "customer")
        for clock in [None, *clocks]
    )
    return plain, pages(len(clocks)) + sliced + pages(lists["disputes"]) + per_clock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invoices", type=int, default=20000)
    parser.add_argument("--rate", type=float, default=1000.0, help="reader calls/second")
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    customers = math.ceil(args.invoices / INVOICES_PER_CUSTOMER)
    with running_sandbox(seed="bench-audit") as sb:
        started = time.perf_counter()
        summary = on_sandbox(
            sb,
            lambda: seed_business(
                sb.state,
                BUSINESS,
                customers_count=customers,
                seed="bench",
                now=int(time.time()),
                history_days=90,
            ),
        )
        built = time.perf_counter() - started
        objects = on_sandbox(
            sb, lambda: list(sb.state.accounts[summary.account].store.objects.values())
        )

        reader = StripeReader(
            sb.client(summary.read_only_key), rate=args.rate, concurrency=args.concurrency
        )
        started = time.perf_counter()
        results = asyncio.run(run_diagnostic(reader, now=int(time.time())))
        wall = time.perf_counter() - started

    since = results["since"]
    invoices = count(objects, "invoice", since)
    lists = {
        "invoices": invoices,
        "charges": count(objects, "charge", since),
        "subscriptions": count(objects, "subscription"),
        "customers": count(objects, "customer"),
        "disputes": count(objects, "dispute"),
    }
    plain, as_read = minimums(objects, results, lists)
    failed = results["failed_invoices"]
    print(
        f"account built in {built:.1f} s: {customers} customers, {invoices} invoices in "
        f"{results['lookback_days']} days, " + ", ".join(f"{k} {v}" for k, v in lists.items())
    )
    print(
        f"audit wall time        {wall:.2f} s  (reader rate {args.rate:g}/s, "
        f"concurrency {args.concurrency})"
    )
    print(
        f"Stripe calls made      {reader.calls}  (429s retried: {reader.rate_limited}); "
        f"plain minimum {plain}, minimum as read {as_read}"
    )
    print(
        f"calls / 1,000 invoices {per_1000(reader.calls, invoices)}  (plain minimum "
        f"{per_1000(plain, invoices)}, as read {per_1000(as_read, invoices)}, the invoice list "
        f"alone {per_1000(pages(invoices), invoices)})"
    )
    print(
        "  plain minimum: one list page per 100 objects, every list read once whole\n"
        f"  as read: invoices and charges in {SLICES} time slices (each ends on a partial page), "
        "subscriptions and customers once off-clock and once per test clock"
    )
    print(f"at the production rate ({RATE:g}/s) the reads need >= {reader.calls / RATE:.0f} s")
    print(f"failed invoices        {failed['count']}  {failed['amount']}")
    for line in results["summary"]:
        print("  " + line)


if __name__ == "__main__":
    main()
