"""Test clocks: lifecycle, customers on clocks, timers run in time order on advance."""

from __future__ import annotations

import pytest
import stripe

from sandbox.context import Ctx
from sandbox.testing import RunningSandbox
from sandbox.timers import Timer, timer_handler

RAN: list[tuple[str, int, int]] = []


@timer_handler("tests.record")
def _record(ctx: Ctx, timer: Timer) -> None:
    RAN.append((timer.payload["name"], timer.at, ctx.now()))
    if timer.payload.get("chain"):
        # A handler may schedule more work; it runs in the same advance if it is due.
        ctx.state.timers.schedule(
            ctx.account.id, ctx.clock, timer.at + 50, "tests.record", "chained", {"name": "chained"}
        )


def test_clock_lifecycle_and_customer_time(sb: RunningSandbox) -> None:
    client = sb.client()
    clock = client.v1.test_helpers.test_clocks.create(
        params={"frozen_time": 1_700_000_000, "name": "renewals"}
    )
    assert clock.status == "ready" and clock.frozen_time == 1_700_000_000
    customer = client.v1.customers.create(params={"test_clock": clock.id, "email": "t@x.com"})
    assert customer.test_clock == clock.id and customer.created == 1_700_000_000
    pm = client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    attached = client.v1.events.list(params={"type": "payment_method.attached"}).data[0]
    assert attached.created == 1_700_000_000 and pm.customer == customer.id
    # Customers on test clocks only show up in lists filtered by their clock (as on Stripe).
    listed = client.v1.customers.list(params={"test_clock": clock.id})
    assert [c.id for c in listed.data] == [customer.id]

    advanced = client.v1.test_helpers.test_clocks.advance(
        clock.id, params={"frozen_time": 1_700_086_400}
    )
    assert advanced.status == "advancing"
    assert advanced.status_details.advancing.target_frozen_time == 1_700_086_400
    sb.wait_for_clock(None, clock.id)
    ready = client.v1.test_helpers.test_clocks.retrieve(clock.id)
    assert ready.status == "ready" and ready.frozen_time == 1_700_086_400
    types = [
        e.type for e in client.v1.events.list(params={"type": "test_helpers.test_clock.*"}).data
    ]
    assert types == [
        "test_helpers.test_clock.ready",
        "test_helpers.test_clock.advancing",
        "test_helpers.test_clock.created",
    ]
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": 1_600_000_000})

    deleted = client.v1.test_helpers.test_clocks.delete(clock.id)
    assert deleted.deleted is True
    assert client.v1.customers.retrieve(customer.id).deleted is True


def test_advance_runs_due_timers_in_order(sb: RunningSandbox) -> None:
    RAN.clear()
    client = sb.client()
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": 1_000_000})
    account = sb.platform_id

    def schedule() -> None:
        timers = sb.state.timers
        timers.schedule(account, clock.id, 1_000_300, "tests.record", "c", {"name": "c"})
        timers.schedule(
            account, clock.id, 1_000_100, "tests.record", "a", {"name": "a", "chain": True}
        )
        timers.schedule(account, clock.id, 1_000_200, "tests.record", "b", {"name": "b"})
        timers.schedule(account, clock.id, 1_000_250, "tests.record", "gone", {"name": "gone"})
        timers.cancel(account, "gone")
        timers.schedule(account, clock.id, 1_009_999, "tests.record", "later", {"name": "later"})

    sb.call(schedule)
    client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": 1_000_500})
    sb.wait_for_clock(None, clock.id)
    assert RAN == [
        ("a", 1_000_100, 1_000_100),
        ("chained", 1_000_150, 1_000_150),
        ("b", 1_000_200, 1_000_200),
        ("c", 1_000_300, 1_000_300),
    ]
    assert [t.key for t in sb.state.timers.pending(account, clock.id)] == ["later"]


def test_sandbox_clock(sb: RunningSandbox) -> None:
    RAN.clear()
    before = sb.http.get("/_sandbox/clock").json()["now"]
    sb.call(
        lambda: sb.state.timers.schedule(
            sb.platform_id, None, before + 3600, "tests.record", "own", {"name": "own"}
        )
    )
    result = sb.http.post("/_sandbox/clock/advance", json={"seconds": 7200}).json()
    assert result["now"] >= before + 7200 and result["timers_run"] == 1
    assert RAN and RAN[0][0] == "own"


def test_lists_leave_out_clock_customers_unless_asked(sb: RunningSandbox) -> None:
    client = sb.client()
    plain = client.v1.customers.create(params={"email": "same@x.com"})
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": 1_700_000_000})
    on_clock = client.v1.customers.create(params={"email": "same@x.com", "test_clock": clock.id})
    assert [c.id for c in client.v1.customers.list().data] == [plain.id]
    assert [c.id for c in client.v1.customers.list(params={"email": "same@x.com"}).data] == [
        plain.id
    ]
    by_clock = client.v1.customers.list(params={"test_clock": clock.id, "email": "same@x.com"})
    assert [c.id for c in by_clock.data] == [on_clock.id]


def test_clock_created_for_an_existing_customer(sb: RunningSandbox) -> None:
    client = sb.client()
    customer = client.v1.customers.create()
    clock = client.v1.test_helpers.test_clocks.create(
        params={"frozen_time": 1_700_000_000, "customer": customer.id}
    )
    assert client.v1.customers.retrieve(customer.id).test_clock == clock.id
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.test_helpers.test_clocks.create(
            params={"frozen_time": 1_700_000_000, "customer": customer.id}
        )
