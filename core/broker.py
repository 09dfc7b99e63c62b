"""The taskiq broker: in-process when embedded, Redis streams for scale-out.

The broker carries one task, `secondloop.run_jobs(job_ids)`; what a job does lives in the
database (`core.jobs`). (`secondloop.run_job(job_id)`, the one-id form, is still understood.)
Brokers are built per runtime (no import-time global), so a worker process is
`secondloop worker`, which builds its runtime and then listens with taskiq's own Receiver.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from contextlib import suppress

from taskiq import AsyncBroker, BrokerMessage, InMemoryBroker
from taskiq.receiver import Receiver

from core import jobs
from core.runtime import Runtime
from core.settings import Settings

log = logging.getLogger(__name__)
RUN_JOB = "secondloop.run_job"
RUN_JOBS = "secondloop.run_jobs"
IDS_PER_MESSAGE = 50
LINGER = 0.05  # seconds; see `Dispatch`
_DISPATCH = "jobs.dispatch"


def make_broker(settings: Settings, *, inline: bool = False) -> AsyncBroker:
    broker: AsyncBroker
    if settings.embedded_broker:
        # `inline` runs each task as it is sent: deterministic tests, no background tasks.
        broker = InMemoryBroker(await_inplace=inline, max_async_tasks=20)
    else:
        from core.broker_redis import StreamBroker  # scale-out only: Redis is not imported

        broker = StreamBroker(
            settings.broker_url,
            queue_name=settings.broker_queue,
            consumer_group_name=settings.broker_queue,
            consumer_name=f"{socket.gethostname()}-{os.getpid()}",
            # A worker that dies holding a message releases it to another after this long.
            unacknowledged_lock_timeout=60,
            xread_block=1000,
        )
    return broker


async def send_jobs(broker: AsyncBroker, job_ids: list[int]) -> None:
    """Send `job_ids` as `run_jobs` messages of up to `IDS_PER_MESSAGE` ids each.

    One message per batch, not per job: the send (a Redis round trip, or an in-process task)
    and the worker's claim and finish are then paid once for many jobs. Never raises: a message
    that is not sent is found again by the sweeper, since the rows say what must run."""
    task = broker.find_task(RUN_JOBS)
    if task is None:
        raise RuntimeError(f"the broker has no {RUN_JOBS} task registered")
    for start in range(0, len(job_ids), IDS_PER_MESSAGE):
        chunk = job_ids[start : start + IDS_PER_MESSAGE]
        try:
            if task.labels or broker.middlewares:
                await task.kiq(chunk)
            else:
                await broker.kick(run_jobs_message(broker, chunk))
        except Exception:  # the broker is down: the sweeper will re-dispatch from the table
            log.warning("could not dispatch jobs %s; the sweeper will pick them up", chunk)


def run_jobs_message(broker: AsyncBroker, job_ids: list[int]) -> BrokerMessage:
    """The message `kiq(job_ids)` sends for `run_jobs` (no labels, no middleware), built
    directly: taskiq's kicker validates and dumps two pydantic models on the way, which was
    half the cost of a send. Tested equal to the kicker's."""
    task_id = broker.id_generator()
    body = {
        "task_id": task_id,
        "task_name": RUN_JOBS,
        "labels": {},
        "labels_types": {},
        "args": [job_ids],
        "kwargs": {},
    }
    return BrokerMessage.model_construct(
        task_id=task_id, task_name=RUN_JOBS, message=broker.serializer.dumpb(body), labels={}
    )


class Dispatch:
    """Sends the intake's new jobs, coalescing a busy moment's into fewer, fuller messages.

    Jobs after a quiet spell go out at once. For `linger` seconds after a send, further ids
    wait and go together when the window closes (or as soon as `IDS_PER_MESSAGE` are
    waiting). Under a burst of webhooks this makes one message, one claim and one finish per
    tens of jobs instead of per committed batch of a few, which the worker in the same
    process (`secondloop serve`) would otherwise pay for with the intake's own CPU; an event's
    handlers then start up to `linger` later. Ids still waiting when the process dies are
    the sweeper's, like any lost message (their rows are committed).
    """

    def __init__(self, broker: AsyncBroker, *, linger: float = LINGER) -> None:
        self.broker, self.linger = broker, linger
        self._waiting: list[int] = []
        self._window: asyncio.TimerHandle | None = None
        self._window_loop: asyncio.AbstractEventLoop | None = None
        self._sends: set[asyncio.Task[None]] = set()

    async def send(self, job_ids: list[int]) -> None:
        if self.linger <= 0:
            await send_jobs(self.broker, job_ids)
            return
        self._waiting.extend(job_ids)
        if self._window is not None and self._window_loop is not asyncio.get_running_loop():
            self._window = None  # a window of a loop that has stopped never closes: forget it
        if self._window is None:  # quiet until now: no reason to wait
            self._open_window()
            await self._send_waiting()
        elif len(self._waiting) >= IDS_PER_MESSAGE:
            await self._send_waiting()

    def _open_window(self) -> None:
        self._window_loop = asyncio.get_running_loop()
        self._window = self._window_loop.call_later(self.linger, self._window_closed)

    def _window_closed(self) -> None:
        self._window = None
        if not self._waiting:
            return
        self._open_window()
        task = asyncio.get_running_loop().create_task(self._send_waiting())
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)

    async def _send_waiting(self) -> None:
        ids, self._waiting = self._waiting, []
        if ids:
            await send_jobs(self.broker, ids)

    async def close(self) -> None:
        """At shutdown: send what waits now, and let the sends under way finish."""
        if self._window is not None:
            self._window.cancel()
            self._window = None
        await self._send_waiting()
        if self._sends:
            await asyncio.wait(set(self._sends), timeout=5)


def dispatch_of(runtime: Runtime) -> Dispatch | None:
    found = runtime.services.get(_DISPATCH)
    return found if isinstance(found, Dispatch) else None


def attach(runtime: Runtime, broker: AsyncBroker) -> AsyncBroker:
    """Register the job runner on the broker and remember the broker on the runtime."""

    inflight = runtime.services.setdefault("jobs.inflight", InFlight())
    # A broker that runs each task as it is sent (tests) gets each message at once.
    inline = isinstance(broker, InMemoryBroker) and broker.await_inplace
    runtime.services[_DISPATCH] = Dispatch(broker, linger=0 if inline else LINGER)

    async def run_job(job_id: int) -> str:
        with inflight:
            return await jobs.run_job(runtime, job_id)

    async def run_jobs(job_ids: list[int]) -> list[str]:
        # Concurrently: their claims and finishes then share statements (core.jobs).
        with inflight:
            outcomes = await asyncio.gather(
                *(jobs.run_job(runtime, job_id) for job_id in job_ids), return_exceptions=True
            )
        for job_id, outcome in zip(job_ids, outcomes, strict=True):
            if isinstance(outcome, BaseException):  # its lease runs out; the sweeper retries
                log.error("job %s could not be run: %r", job_id, outcome)
        return [o if isinstance(o, str) else "error" for o in outcomes]

    broker.register_task(run_job, task_name=RUN_JOB)  # messages sent before run_jobs existed
    broker.register_task(run_jobs, task_name=RUN_JOBS)
    runtime.broker = broker
    return broker


class InFlight:
    """Counts jobs running in this process, so shutdown can wait for them and no longer."""

    def __init__(self) -> None:
        self.count = 0
        self.idle = asyncio.Event()
        self.idle.set()

    def __enter__(self) -> InFlight:
        self.count += 1
        self.idle.clear()
        return self

    def __exit__(self, *exc: object) -> None:
        self.count -= 1
        if self.count == 0:
            self.idle.set()


class Worker:
    """Consumes broker messages in this process until stopped; shutdown is bounded."""

    def __init__(self, broker: AsyncBroker, inflight: InFlight, *, concurrency: int = 20) -> None:
        self.broker = broker
        self.inflight = inflight
        self.concurrency = concurrency
        self._finish = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.broker.is_worker_process = True
        receiver = Receiver(
            self.broker,
            run_startup=False,
            max_async_tasks=self.concurrency,
            propagate_exceptions=False,
            wait_tasks_timeout=10,
        )
        self._task = asyncio.create_task(receiver.listen(self._finish), name="secondloop-worker")

    async def stop(self, timeout: float = 10.0) -> None:
        """Ask the receiver to finish, then cancel it; never wait longer than about `timeout`.

        taskiq's receiver can sit in a blocking stream read, or shield its clean-up from
        cancellation, so we do not await it unboundedly. Abandoning a running job is safe: its
        lease expires and the sweeper hands it to another worker.
        """
        self._finish.set()
        task = self._task
        if task is None:
            return
        # Let running jobs finish; the receiver itself may never notice `finish` while it
        # blocks on an empty stream, so it is cancelled once no job is in flight.
        with suppress(TimeoutError):
            await asyncio.wait_for(self.inflight.idle.wait(), timeout)
        done, _ = await asyncio.wait({task}, timeout=0.2)
        if not done:
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=2.0)
        if done:
            with suppress(asyncio.CancelledError, Exception):
                task.result()
        else:
            log.warning("worker did not stop within %ss; abandoned", timeout + 2.0)
