"""The job messages on the wire are taskiq's own, however they are built."""

from __future__ import annotations

import json

from taskiq import InMemoryBroker

from core.broker import RUN_JOBS, run_jobs_message


async def _run_jobs(job_ids: list[int]) -> None:
    return None


def test_the_direct_run_jobs_message_is_the_kickers_message() -> None:
    broker = InMemoryBroker()
    task = broker.register_task(_run_jobs, task_name=RUN_JOBS)
    broker.id_generator = lambda: "fixed-id"
    direct = run_jobs_message(broker, [3, 5, 8])
    kicked = broker.formatter.dumps(task.kicker()._prepare_message([3, 5, 8]))
    assert json.loads(direct.message) == json.loads(kicked.message)
    assert (direct.task_id, direct.task_name, direct.labels) == (
        kicked.task_id,
        kicked.task_name,
        kicked.labels,
    )
    parsed = broker.formatter.loads(direct.message)  # what a receiver reads
    assert (parsed.task_name, parsed.args) == (RUN_JOBS, [[3, 5, 8]])
