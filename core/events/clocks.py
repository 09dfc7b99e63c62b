"""Customer time: objects on a Stripe test clock live in that clock's time.

The core follows `test_helpers.test_clock.*` events (the `core.test_clocks` handler keeps
`StripeTestClock` current) and learns which clock each customer lives on from any stored object
that carries both `customer` and `test_clock` (recorded at intake, in the event's transaction).
Plugins ask `await customer_now(runtime, account, customer_id=...)` instead of `runtime.now()`
whenever the answer depends on the customer's time (is the invoice overdue? is the grace
period over?). Live customers, and customers on no clock, get `runtime.now()`.

A plugin that must act when a clock has advanced (re-check what became due) registers its own
Stripe event handler for `test_helpers.test_clock.ready`; the core adds no extra hook for it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.clock import from_unix
from core.contributions import StripeEventHandler
from core.events.normalize import StripeEvent
from core.models.accounts import CustomerClock, StripeTestClock
from core.runtime import Runtime

CLOCK_EVENTS = (
    "test_helpers.test_clock.created",
    "test_helpers.test_clock.advancing",
    "test_helpers.test_clock.ready",
    "test_helpers.test_clock.internal_failure",
    "test_helpers.test_clock.deleted",
)
# Within one second, a later state of the same clock wins over an earlier one.
_STATUS_RANK = {"advancing": 1, "internal_failure": 2, "ready": 3, "deleted": 4}


async def customer_now(
    runtime: Runtime,
    stripe_account_id: str,
    customer_id: str | None = None,
    test_clock: str | None = None,
) -> datetime:
    """The customer's current time: its test clock's frozen time, else `runtime.now()`.

    Call inside the workspace's scope (handlers and tasks already run in it).
    """
    clock_id = test_clock
    if clock_id is None and customer_id:
        mapping = await CustomerClock.filter(
            stripe_account_id=stripe_account_id, customer_id=customer_id
        ).first()
        clock_id = mapping.clock_id if mapping else None
    if clock_id is None:
        return runtime.now()
    clock = await StripeTestClock.filter(
        stripe_account_id=stripe_account_id, clock_id=clock_id
    ).first()
    if clock is None or clock.status == "deleted":
        return runtime.now()
    return clock.frozen_time


def customer_clock(payload: dict[str, Any]) -> tuple[str, str] | None:
    """(customer id, clock id) when the event's object names both, else None.

    The intake records it with the event, in the same transaction (`core.events.commit`),
    with ON CONFLICT DO NOTHING so that a mapping already known never aborts the event.
    """
    obj = (payload.get("data") or {}).get("object") or {}
    if not isinstance(obj, dict):
        return None
    clock = obj.get("test_clock")
    clock_id = clock.get("id") if isinstance(clock, dict) else clock
    customer = obj.get("id") if obj.get("object") == "customer" else obj.get("customer")
    customer_id = customer.get("id") if isinstance(customer, dict) else customer
    if not (
        isinstance(clock_id, str)
        and isinstance(customer_id, str)
        and 0 < len(clock_id) <= 64
        and 0 < len(customer_id) <= 64
    ):
        return None
    return customer_id, clock_id


async def follow_test_clock(event: StripeEvent, workspace_id: int, runtime: Runtime) -> None:
    """Upsert the clock from a test clock event; an older event never rolls the clock back.

    Events of one clock arrive close together and their jobs run at once on several workers:
    the row is locked while it is compared and written, so a late, older event can never
    overwrite a newer one it read before that one committed.
    """
    obj = event.object
    frozen = from_unix(obj.get("frozen_time"))
    if not event.object_id or frozen is None:
        return
    status = "deleted" if event.type.endswith(".deleted") else str(obj.get("status") or "ready")
    mine: dict[str, Any] = {"stripe_account_id": event.account, "clock_id": event.object_id}
    async with in_transaction():
        clock = await StripeTestClock.filter(**mine).select_for_update().first()
        if clock is None:
            try:
                async with in_transaction():  # a savepoint: losing the insert race is normal
                    await StripeTestClock.create(
                        workspace_id=workspace_id,
                        frozen_time=frozen,
                        status=status,
                        last_event_at=event.created,
                        updated_at=runtime.now(),
                        **mine,
                    )
                return
            except IntegrityError:
                clock = await StripeTestClock.filter(**mine).select_for_update().get()
        seen = (
            clock.last_event_at or event.created,
            clock.frozen_time,
            _STATUS_RANK.get(clock.status, 0),
        )
        if (event.created, frozen, _STATUS_RANK.get(status, 0)) < seen:
            return
        clock.frozen_time, clock.status, clock.last_event_at = frozen, status, event.created
        clock.updated_at = runtime.now()
        await clock.save()


def clock_handlers() -> list[StripeEventHandler]:
    return [
        StripeEventHandler(
            name="core.test_clocks", event_types=CLOCK_EVENTS, func=follow_test_clock
        )
    ]
