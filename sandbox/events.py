"""Creating events and queueing their webhook deliveries."""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING, Any

from sandbox import API_VERSION
from sandbox.objects import clone
from sandbox.state import Account, Delivery, SandboxState

if TYPE_CHECKING:
    from sandbox.context import Ctx

Obj = dict[str, Any]


def _matches(endpoint: Obj, type_: str) -> bool:
    if endpoint.get("status") != "enabled":
        return False
    enabled = endpoint["enabled_events"]
    return "*" in enabled or type_ in enabled


def target_endpoints(
    state: SandboxState, account: Account, type_: str, *, connect_only: bool = False
) -> list[tuple[Account, Obj]]:
    """Endpoints that receive an event of ``type_`` raised in ``account``.

    An account's own (non-Connect) endpoints get its events; a platform's Connect endpoints
    get the events of every account connected to it.
    """
    targets: list[tuple[Account, Obj]] = []
    if not connect_only:
        for ep in account.store.iter_newest("webhook_endpoint"):
            if not is_connect(account, ep) and _matches(ep, type_):
                targets.append((account, ep))
    if account.platform is not None:
        platform = state.accounts.get(account.platform)
        if platform is not None:
            for ep in platform.store.iter_newest("webhook_endpoint"):
                if is_connect(platform, ep) and _matches(ep, type_):
                    targets.append((platform, ep))
    targets.reverse()  # oldest endpoint first, as they were created
    return targets


def is_connect(owner: Account, endpoint: Obj) -> bool:
    """Connect endpoints are flagged in hidden state: the SDK's WebhookEndpoint has no field."""
    return bool(owner.store.hidden.get(endpoint["id"], {}).get("connect", False))


def emit_event(
    ctx: Ctx,
    type_: str,
    obj: Obj,
    previous: dict[str, Any] | None = None,
    *,
    connect_only: bool = False,
) -> Obj:
    """Record an event in ctx's account and queue one delivery per matching endpoint."""
    state = ctx.state
    account = ctx.account
    data: dict[str, Any] = {"object": clone(obj)}
    if previous is not None:
        data["previous_attributes"] = clone(previous)
    event: Obj = {
        "id": ctx.new_id("evt"),
        "object": "event",
        "api_version": API_VERSION,
        "created": ctx.now(),
        "data": data,
        "livemode": False,
        "pending_webhooks": 0,
        "request": {"id": ctx.request_id, "idempotency_key": ctx.idempotency_key},
        "type": type_,
    }
    if account.platform is not None:
        event["account"] = account.id
    targets = target_endpoints(state, account, type_, connect_only=connect_only)
    event["pending_webhooks"] = len(targets)
    ctx.store.insert(event)
    queue_deliveries(state, account, event, targets)
    return event


def queue_deliveries(
    state: SandboxState, account: Account, event: Obj, targets: list[tuple[Account, Obj]]
) -> None:
    if not targets:
        return
    options = state.delivery_options
    due = state.wall_time() + options.delay
    for owner, endpoint in targets:
        for copy in range(1 + options.duplicate):
            delivery = Delivery(
                due=due,
                seq=state.next_delivery_seq(),
                id=state.ids.token("whdel"),
                event_id=event["id"],
                event_account=account.id,
                endpoint_id=endpoint["id"],
                endpoint_account=owner.id,
                connect=owner.id != account.id,
                duplicate=copy > 0,
            )
            heapq.heappush(state.outbox, delivery)
    state.wake_outbox()
