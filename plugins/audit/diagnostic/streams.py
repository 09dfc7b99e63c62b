"""What the audit lists from Stripe, in what order, and with which parameters.

One list call per 100 objects: related objects come with `expand[]`, never one call each.
The lists come in three waves: the test clocks; then everything that does not depend on the
audit window (customers, subscriptions and disputes, the first two also once per clock); and
once the customers tell which clocks they live on, and so the reference time, the invoices
and charges of the window.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plugins.audit.diagnostic.reader import Record, Stream
from plugins.audit.diagnostic.records import (
    reduce_charge,
    reduce_clock,
    reduce_customer,
    reduce_dispute,
    reduce_invoice,
    reduce_subscription,
)

CLOCKS = "clocks"
CUSTOMERS = "customers"
SLICES = 4
_SUBSCRIPTION_PARAMS = {
    "status": "all",
    "expand": [
        "data.default_payment_method",
        "data.customer.invoice_settings.default_payment_method",
    ],
}


def clock_stream() -> Stream:
    return Stream(CLOCKS, "test_helpers/test_clocks", {}, reduce_clock)


def account_streams(clock_ids: list[str]) -> list[Stream]:
    """The lists read whatever the window. Customers and subscriptions on a test clock
    appear only when their clock is named (as on Stripe), so those two are read once per
    clock too."""
    streams = [
        Stream("disputes", "disputes", {}, reduce_dispute),
        Stream("subscriptions", "subscriptions", _SUBSCRIPTION_PARAMS, reduce_subscription),
        Stream(CUSTOMERS, "customers", {}, reduce_customer),
    ]
    for clock in clock_ids:
        streams.append(
            Stream(
                f"subscriptions:{clock}",
                "subscriptions",
                {**_SUBSCRIPTION_PARAMS, "test_clock": clock},
                reduce_subscription,
            )
        )
        streams.append(
            Stream(f"{CUSTOMERS}:{clock}", "customers", {"test_clock": clock}, reduce_customer)
        )
    return streams


def time_slices(since: int, reference: int, count: int = SLICES) -> list[dict[str, int]]:
    """`created` filters cutting the window into `count` parts read in parallel: a cursor
    list is sequential, so one list of 200 pages would otherwise take 200 round trips in a
    row. The last part has no upper bound (nothing is created after "now" anyway)."""
    step = max(1, (reference - since) // count)
    bounds = [since + i * step for i in range(count)]
    return [
        {"gte": low, "lt": bounds[i + 1]} if i + 1 < count else {"gte": low}
        for i, low in enumerate(bounds)
    ]


def window_streams(since: int, reference: int, slices: int = SLICES) -> list[Stream]:
    """Invoices and charges created in the window, the long lists, in `slices` at once."""
    streams = []
    for index, created in enumerate(time_slices(since, reference, slices)):
        params = {"created": created, "expand": ["data.payments"]}
        streams.append(Stream(f"invoices:{index}", "invoices", params, reduce_invoice))
        streams.append(Stream(f"charges:{index}", "charges", {"created": created}, reduce_charge))
    return streams


def planned_keys(clock_ids: list[str], slices: int = SLICES) -> list[str]:
    """Every list a run reads, known as soon as the clocks are (for the progress bar)."""
    window = [f"{kind}:{index}" for index in range(slices) for kind in ("invoices", "charges")]
    return [CLOCKS, *(s.key for s in account_streams(clock_ids)), *window]


def lived_on_clocks(states: Mapping[str, Any]) -> list[str]:
    """Clocks that at least one customer lives on: only their time is the account's "now" (a
    stray clock with nobody on it says nothing about the account)."""
    prefix = f"{CUSTOMERS}:"
    return sorted(
        key.removeprefix(prefix)
        for key, state in states.items()
        if key.startswith(prefix) and state.records
    )


def merged(states: Mapping[str, Any], prefix: str) -> dict[str, Record]:
    """The records of `prefix` and of every `prefix:<clock>` stream, by object id."""
    out: dict[str, Record] = {}
    for key, state in states.items():
        if key == prefix or key.startswith(prefix + ":"):
            out.update(state.records)
    return out
