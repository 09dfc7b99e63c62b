"""Things due at a time on a clock: the billing engine's renewals, retries, reminders.

A timer names a handler ``kind`` (registered with :func:`timer_handler`) and carries plain
data, so the queue pickles with the rest of the state. Each timer lives on one clock of one
account: a Stripe test clock id, or ``None`` for the sandbox's own clock. Scheduling a timer
with the ``key`` of a live one replaces it; :meth:`TimerQueue.cancel` drops it.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.context import Ctx

ClockRef = tuple[str, str | None]  # (account id, test clock id or None)


@dataclass(order=True)
class Timer:
    at: int
    seq: int
    account_id: str = field(compare=False)
    clock: str | None = field(compare=False)
    kind: str = field(compare=False)
    key: str = field(compare=False)
    payload: dict[str, Any] = field(compare=False, default_factory=dict)


TimerHandler = Callable[["Ctx", Timer], None]
HANDLERS: dict[str, TimerHandler] = {}


def timer_handler(kind: str) -> Callable[[TimerHandler], TimerHandler]:
    """Register the function that runs timers of ``kind``; it gets a Ctx whose now() is the
    timer's time and whose clock is the timer's clock."""

    def register(fn: TimerHandler) -> TimerHandler:
        HANDLERS[kind] = fn
        return fn

    return register


class TimerQueue:
    def __init__(self) -> None:
        self.heaps: dict[ClockRef, list[Timer]] = {}
        self.live: dict[tuple[str, str], int] = {}
        self._seq = 0

    def schedule(
        self,
        account_id: str,
        clock: str | None,
        at: int,
        kind: str,
        key: str,
        payload: dict[str, Any] | None = None,
    ) -> Timer:
        self._seq += 1
        timer = Timer(at, self._seq, account_id, clock, kind, key, payload or {})
        self.live[(account_id, key)] = self._seq
        heapq.heappush(self.heaps.setdefault((account_id, clock), []), timer)
        return timer

    def cancel(self, account_id: str, key: str) -> None:
        self.live.pop((account_id, key), None)

    def _is_live(self, timer: Timer) -> bool:
        return self.live.get((timer.account_id, timer.key)) == timer.seq

    def pop_due(self, account_id: str, clock: str | None, until: int) -> Timer | None:
        heap = self.heaps.get((account_id, clock))
        while heap:
            timer = heap[0]
            if not self._is_live(timer):
                heapq.heappop(heap)
                continue
            if timer.at > until:
                return None
            heapq.heappop(heap)
            del self.live[(timer.account_id, timer.key)]
            return timer
        return None

    def pending(self, account_id: str, clock: str | None) -> list[Timer]:
        heap = self.heaps.get((account_id, clock), [])
        return sorted(t for t in heap if self._is_live(t))

    def clocks_with_timers(self) -> list[ClockRef]:
        return [ref for ref, heap in self.heaps.items() if heap]

    def drop_clock(self, account_id: str, clock: str) -> None:
        for timer in self.heaps.pop((account_id, clock), []):
            if self._is_live(timer):
                del self.live[(timer.account_id, timer.key)]
