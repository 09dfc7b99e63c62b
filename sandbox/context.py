"""Ctx: what a handler (or a timer) works with — one account, its params, its time."""

from __future__ import annotations

from typing import Any

from sandbox.forms import Params
from sandbox.keys import ApiKey
from sandbox.state import Account, SandboxState
from sandbox.store import AccountStore

Obj = dict[str, Any]


class Ctx:
    """A request (or timer run) scoped to one account.

    ``clock`` is the Stripe test clock the work happens under (set it with
    :meth:`use_customer` before creating objects that belong to a customer); ``now()`` is
    that clock's time, or the sandbox's own time when there is no clock.
    """

    def __init__(
        self,
        state: SandboxState,
        account: Account,
        params: Params | None = None,
        *,
        path: dict[str, str] | None = None,
        url: str = "",
        request_id: str | None = None,
        idempotency_key: str | None = None,
        key: ApiKey | None = None,
        clock: str | None = None,
        fixed_now: int | None = None,
    ) -> None:
        self.state = state
        self.account = account
        self.params = params if params is not None else Params({})
        self.path = path or {}
        self.url = url
        self.request_id = request_id
        self.idempotency_key = idempotency_key
        self.key = key
        self.clock = clock
        self.fixed_now = fixed_now

    @property
    def store(self) -> AccountStore:
        return self.account.store

    def now(self) -> int:
        if self.fixed_now is not None:
            return self.fixed_now
        if self.clock is not None:
            return clock_time(self.store, self.clock)
        return self.state.clock.now()

    def use_clock(self, clock: str | None) -> None:
        self.clock = clock

    def use_customer(self, customer: Obj | str | None) -> None:
        """Work from now on in the time of this customer's test clock (if it has one)."""
        if isinstance(customer, str):
            customer = self.store.get(customer)
        if isinstance(customer, dict):
            clock = customer.get("test_clock")
            if isinstance(clock, dict):
                clock = clock.get("id")
            if clock is not None and clock != self.clock:
                self.clock = clock
                self.fixed_now = None

    def new_id(self, prefix: str) -> str:
        return self.state.ids.token(prefix)

    def emit(self, type_: str, obj: Obj, previous: dict[str, Any] | None = None) -> Obj:
        from sandbox.events import emit_event

        return emit_event(self, type_, obj, previous)

    def for_account(self, account: Account) -> Ctx:
        return Ctx(
            self.state,
            account,
            request_id=self.request_id,
            idempotency_key=self.idempotency_key,
        )


def clock_time(store: AccountStore, clock_id: str) -> int:
    """A test clock's current time: its cursor while advancing, else its frozen_time."""
    clock = store.get(clock_id)
    if clock is None:
        tomb = store.tombstones.get(clock_id)
        raise LookupError(f"test clock {clock_id} does not exist" + (" (deleted)" if tomb else ""))
    cursor = store.hidden.get(clock_id, {}).get("cursor")
    return int(cursor if cursor is not None else clock["frozen_time"])
