"""The webhook delivery worker: an asyncio task that drains ``state.outbox``.

Each endpoint gets its own sender so one slow endpoint never holds up another, and one
endpoint receives its deliveries in order unless ``reorder`` is on. Failed attempts (non-2xx
or connection errors) are retried on the configured schedule; every attempt is logged for
``GET /_sandbox/deliveries``.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import json
import logging
import time
from typing import Any

import httpx

from sandbox.signing import sign
from sandbox.state import Delivery, SandboxState

log = logging.getLogger("sandbox.delivery")

Obj = dict[str, Any]


class DeliveryWorker:
    def __init__(self, state: SandboxState, client: httpx.AsyncClient | None = None) -> None:
        self.state = state
        self.client = client
        self._wake = asyncio.Event()
        self._senders: dict[str, asyncio.Queue[Delivery]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._main: asyncio.Task[None] | None = None
        self._done: set[tuple[str, str]] = set()
        self.in_flight = 0

    # -- lifecycle ------------------------------------------------------------------
    async def start(self) -> None:
        if self.client is None:
            self.client = httpx.AsyncClient(timeout=self.state.config.webhook_timeout)
        loop = asyncio.get_running_loop()

        def wake() -> None:
            loop.call_soon_threadsafe(self._wake.set)

        self.state.on_outbox = wake
        self._main = asyncio.create_task(self._run())

    async def stop(self) -> None:
        self.state.on_outbox = None
        for task in [self._main, *self._tasks]:
            if task is not None:
                task.cancel()
        await asyncio.gather(*[t for t in [self._main, *self._tasks] if t], return_exceptions=True)
        if self.client is not None:
            await self.client.aclose()

    def idle(self) -> bool:
        return not self.state.outbox and self.in_flight == 0

    # -- scheduling -----------------------------------------------------------------
    async def _run(self) -> None:
        state = self.state
        while True:
            self._wake.clear()
            now = time.time()
            if state.outbox and not state.delivery_options.paused and state.outbox[0].due <= now:
                if state.delivery_options.reorder:
                    await asyncio.sleep(state.delivery_options.reorder_window)
                    now = time.time()
                batch: list[Delivery] = []
                while state.outbox and state.outbox[0].due <= now:
                    batch.append(heapq.heappop(state.outbox))
                if state.delivery_options.reorder:
                    batch.reverse()
                for delivery in batch:
                    self._dispatch(delivery)
                continue
            timeout = None
            if state.outbox and not state.delivery_options.paused:
                timeout = max(0.0, state.outbox[0].due - now)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    def _dispatch(self, delivery: Delivery) -> None:
        self.in_flight += 1
        queue = self._senders.get(delivery.endpoint_id)
        if queue is None:
            queue = asyncio.Queue()
            self._senders[delivery.endpoint_id] = queue
            self._tasks.append(asyncio.create_task(self._sender(queue)))
        queue.put_nowait(delivery)

    async def _sender(self, queue: asyncio.Queue[Delivery]) -> None:
        while True:
            delivery = await queue.get()
            try:
                await self._send(delivery)
            except Exception:
                log.exception("delivery %s failed unexpectedly", delivery.id)
            finally:
                self.in_flight -= 1

    # -- one attempt ----------------------------------------------------------------
    def _payload(self, delivery: Delivery) -> tuple[Obj, Obj, str] | None:
        state = self.state
        owner = state.accounts.get(delivery.endpoint_account)
        source = state.accounts.get(delivery.event_account)
        if owner is None or source is None:
            return None
        endpoint = owner.store.get(delivery.endpoint_id)
        event = source.store.get(delivery.event_id)
        if endpoint is None or event is None or endpoint.get("status") != "enabled":
            return None
        secret = owner.store.hidden.get(endpoint["id"], {}).get("secret", "")
        return endpoint, event, secret

    async def _send(self, delivery: Delivery) -> None:
        found = self._payload(delivery)
        if found is None:
            return
        endpoint, event, secret = found
        payload = json.dumps(event, indent=2)
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": sign(payload, secret, timestamp),
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        }
        status: int | None = None
        error: str | None = None
        assert self.client is not None
        try:
            response = await self.client.post(endpoint["url"], content=payload, headers=headers)
            status = response.status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        ok = status is not None and 200 <= status < 300
        self.state.log_delivery(
            {
                "id": delivery.id,
                "event": event["id"],
                "type": event["type"],
                "account": delivery.event_account,
                "endpoint": endpoint["id"],
                "endpoint_account": delivery.endpoint_account,
                "connect": delivery.connect,
                "url": endpoint["url"],
                "attempt": delivery.attempt,
                "duplicate": delivery.duplicate,
                "status": status,
                "error": error,
                "succeeded": ok,
                "signature_timestamp": timestamp,
                "delivered_at": time.time(),
            }
        )
        if ok:
            done = (event["id"], endpoint["id"])
            if done not in self._done:
                self._done.add(done)
                event["pending_webhooks"] = max(0, int(event["pending_webhooks"]) - 1)
            return
        self._retry(delivery)

    def _retry(self, delivery: Delivery) -> None:
        state = self.state
        schedule = state.delivery_options.retry_schedule or state.config.webhook_retry_schedule
        if delivery.attempt > len(schedule):
            return
        wait = schedule[delivery.attempt - 1]
        retry = Delivery(
            due=time.time() + wait,
            seq=state.next_delivery_seq(),
            id=delivery.id,
            event_id=delivery.event_id,
            event_account=delivery.event_account,
            endpoint_id=delivery.endpoint_id,
            endpoint_account=delivery.endpoint_account,
            connect=delivery.connect,
            attempt=delivery.attempt + 1,
            duplicate=delivery.duplicate,
        )
        heapq.heappush(state.outbox, retry)
        self._wake.set()
