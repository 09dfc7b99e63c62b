"""The intake's job dispatch: at once after a quiet spell, coalesced while busy."""

from __future__ import annotations

import asyncio

from taskiq import InMemoryBroker

from core.broker import IDS_PER_MESSAGE, RUN_JOBS, Dispatch


def _recording_broker() -> tuple[InMemoryBroker, list[list[int]]]:
    broker = InMemoryBroker(await_inplace=True)
    received: list[list[int]] = []

    async def run_jobs(job_ids: list[int]) -> None:
        received.append(job_ids)

    broker.register_task(run_jobs, task_name=RUN_JOBS)
    return broker, received


async def test_jobs_after_a_quiet_spell_go_at_once() -> None:
    broker, received = _recording_broker()
    dispatch = Dispatch(broker, linger=0.05)
    await dispatch.send([1, 2])
    assert received == [[1, 2]]  # no waiting for the window
    await dispatch.close()


async def test_jobs_within_the_window_go_together_when_it_closes() -> None:
    broker, received = _recording_broker()
    dispatch = Dispatch(broker, linger=0.05)
    await dispatch.send([1])
    await dispatch.send([2, 3])
    await dispatch.send([4])
    assert received == [[1]]
    for _ in range(200):  # the window closes after 0.05 s (allow a busy machine 2 s)
        if len(received) > 1:
            break
        await asyncio.sleep(0.01)
    assert received == [[1], [2, 3, 4]]
    await asyncio.sleep(0.1)  # the next window had nothing: no empty message
    assert received == [[1], [2, 3, 4]]
    await dispatch.send([5])  # quiet again: at once
    assert received[-1] == [5]
    await dispatch.close()


async def test_a_full_message_goes_without_waiting_for_the_window() -> None:
    broker, received = _recording_broker()
    dispatch = Dispatch(broker, linger=10)
    await dispatch.send([0])
    await dispatch.send(list(range(1, IDS_PER_MESSAGE)))
    assert received == [[0]]
    await dispatch.send([IDS_PER_MESSAGE])
    assert received == [[0], list(range(1, IDS_PER_MESSAGE + 1))]
    await dispatch.close()


async def test_closing_sends_what_waits() -> None:
    broker, received = _recording_broker()
    dispatch = Dispatch(broker, linger=10)
    await dispatch.send([1])
    await dispatch.send([2])
    await dispatch.close()
    assert received == [[1], [2]]


async def test_no_linger_sends_each_batch_as_it_comes() -> None:
    broker, received = _recording_broker()
    dispatch = Dispatch(broker, linger=0)
    await dispatch.send([1])
    await dispatch.send([2])
    assert received == [[1], [2]]


def test_a_window_left_open_by_a_stopped_loop_does_not_hold_jobs_back() -> None:
    broker, received = _recording_broker()
    dispatch = Dispatch(broker, linger=10)
    asyncio.run(dispatch.send([1]))  # its loop ends with the window open
    asyncio.run(dispatch.send([2]))  # a new loop: sent at once, not held for a dead timer
    assert received == [[1], [2]]
