"""Running timers that fell due, and advancing Stripe test clocks.

Advancing a test clock runs every timer due on it up to the target time, in time order, with
``ctx.now()`` equal to each timer's time, and only then marks the clock ``ready``. The
sandbox's own clock has timers too (clock ``None``); the app's ticker runs those.

Every advance that anyone can observe — ``POST /v1/test_helpers/test_clocks/{id}/advance``
and the ``--clock-speed`` ticker alike — goes through :func:`start_advance`, so it sends
``test_helpers.test_clock.advancing`` and then ``ready`` exactly as Stripe does: a consumer
learns a clock's time only from those events. :func:`advance_now` (silent, synchronous) is
for building history before anyone listens (seeding).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from sandbox.context import Ctx
from sandbox.state import Account, SandboxState
from sandbox.timers import HANDLERS

log = logging.getLogger("sandbox")

Obj = dict[str, Any]
# Called after a test clock reached a new time: (ctx on the clock, old time, new time).
ClockHook = Callable[[Ctx, int, int], None]
CLOCK_ADVANCED: list[ClockHook] = []

_BACKGROUND: set[asyncio.Task[Any]] = set()


def spawn(coro: Coroutine[Any, Any, Any]) -> None:
    """Run work after the current request answers (keeps a reference so it is not lost)."""
    task = asyncio.get_running_loop().create_task(coro)
    _BACKGROUND.add(task)
    task.add_done_callback(_BACKGROUND.discard)


def run_one_due(state: SandboxState, account_id: str, clock: str | None, until: int) -> bool:
    timer = state.timers.pop_due(account_id, clock, until)
    if timer is None:
        return False
    account = state.accounts.get(account_id)
    handler = HANDLERS.get(timer.kind)
    if account is None or handler is None:
        log.warning("dropping timer %s (%s): no account or handler", timer.key, timer.kind)
        return True
    if clock is not None:
        account.store.hidden_of(clock)["cursor"] = timer.at
    ctx = Ctx(state, account, clock=clock, fixed_now=timer.at)
    try:
        handler(ctx, timer)
    except Exception:
        log.exception("timer %s (%s) failed", timer.key, timer.kind)
    return True


def run_due(state: SandboxState, account_id: str, clock: str | None, until: int) -> int:
    count = 0
    while run_one_due(state, account_id, clock, until):
        count += 1
    return count


def finish_advance(state: SandboxState, account_id: str, clock_id: str, target: int) -> Obj:
    account = state.accounts[account_id]
    clock = account.store.objects[clock_id]
    old = int(clock["frozen_time"])
    account.store.hidden_of(clock_id).pop("cursor", None)
    clock["frozen_time"] = target
    clock["status"] = "ready"
    clock["status_details"] = {}
    ctx = Ctx(state, account, clock=clock_id)
    for hook in CLOCK_ADVANCED:
        try:
            hook(ctx, old, target)
        except Exception:
            log.exception("clock hook failed")
    return clock


def advance_now(state: SandboxState, account_id: str, clock_id: str, target: int) -> Obj:
    """Advance synchronously, without advancing/ready events: for seeding history only."""
    run_due(state, account_id, clock_id, target)
    return finish_advance(state, account_id, clock_id, target)


def start_advance(ctx: Ctx, clock: Obj, target: int) -> Obj:
    """Begin advancing ``clock`` to ``target`` as Stripe does: status ``advancing`` and its
    event now, everything due run in the background, then ``ready`` and its event.

    The caller has checked that the clock is ready and that ``target`` is later.
    """
    clock["status"] = "advancing"
    clock["status_details"] = {"advancing": {"target_frozen_time": target}}
    ctx.store.save(clock)
    ctx.emit("test_helpers.test_clock.advancing", clock)
    spawn(advance_in_background(ctx.state, ctx.account.id, clock["id"], target))
    return clock


def resume_advances(state: SandboxState) -> int:
    """Finish advances that were in flight when the state was saved (their task is gone)."""
    resumed = 0
    for account in state.accounts.values():
        for clock in account.store.iter_newest("test_helpers.test_clock"):
            target = (clock.get("status_details") or {}).get("advancing", {})
            if clock["status"] == "advancing" and isinstance(target, dict) and target:
                spawn(
                    advance_in_background(
                        state, account.id, clock["id"], int(target["target_frozen_time"])
                    )
                )
                resumed += 1
    return resumed


async def advance_in_background(
    state: SandboxState, account_id: str, clock_id: str, target: int, *, announce: bool = True
) -> None:
    await asyncio.sleep(0)  # the advance request answers first, as on Stripe
    processed = 0
    while run_one_due(state, account_id, clock_id, target):
        processed += 1
        if processed % 25 == 0:
            await asyncio.sleep(0)  # let API requests in between long advances
    account = state.accounts.get(account_id)
    if account is None or clock_id not in account.store.objects:
        return
    clock = finish_advance(state, account_id, clock_id, target)
    if announce:
        Ctx(state, account).emit("test_helpers.test_clock.ready", clock)


def tick(state: SandboxState, elapsed: float) -> None:
    """One beat of the app's ticker: sandbox-clock timers, then auto-advancing test clocks."""
    now = state.clock.now()
    for account_id, clock_id in state.timers.clocks_with_timers():
        if clock_id is None:
            run_due(state, account_id, None, now)
    if state.config.clock_speed:
        for account in list(state.accounts.values()):
            for clock in list(account.store.iter_newest("test_helpers.test_clock")):
                _auto_advance(state, account, clock, elapsed)


def _auto_advance(state: SandboxState, account: Account, clock: Obj, elapsed: float) -> None:
    """``--clock-speed``: a clock owes ``speed`` seconds of its time per real second, paid in
    one ordinary advance at most every ``clock_advance_interval`` real seconds — a few events
    per clock and minute, not one pair per tick. Time owed while it advances is kept."""
    config = state.config
    hidden = account.store.hidden_of(clock["id"])
    owed = float(hidden.get("speed_owed", 0.0)) + elapsed * float(config.clock_speed or 0)
    waited = float(hidden.get("speed_waited", 0.0)) + elapsed
    step = int(owed)
    if clock["status"] != "ready" or waited < config.clock_advance_interval or step < 1:
        hidden["speed_owed"], hidden["speed_waited"] = owed, waited
        return
    hidden["speed_owed"], hidden["speed_waited"] = owed - step, 0.0
    start_advance(Ctx(state, account), clock, int(clock["frozen_time"]) + step)
