"""`secondloop serve | worker | scheduler` as real processes: they start, log JSON lines with
the request id, answer health checks, and stop within a bounded time on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow
STOP_WITHIN = 20.0  # seconds: uvicorn's graceful timeout is 10, the worker's drain less
REDIS = "redis://127.0.0.1:6379/15"  # its own database: no other test's stream is touched


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


def _start(args: list[str], tmp_path: Path, **env: str) -> subprocess.Popen[bytes]:
    environment = {
        **os.environ,
        "SECONDLOOP_ENV": "test",
        "SECONDLOOP_DATABASE_URL": f"sqlite://{tmp_path}/process.db",
        "SECONDLOOP_LOG_LEVEL": "INFO",
        **env,
    }
    if "SECONDLOOP_BROKER_URL" not in env:
        environment.pop("SECONDLOOP_BROKER_URL", None)  # CI's Redis run sets it: serve embeds
    command = [sys.executable, "-m", "core.cli", *args]
    return subprocess.Popen(
        command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def _stop(process: subprocess.Popen[bytes]) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    started = time.monotonic()
    try:
        _, err = process.communicate(timeout=STOP_WITHIN)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail(f"did not stop within {STOP_WITHIN} s of SIGTERM")
    assert time.monotonic() - started < STOP_WITHIN
    return process.returncode, err.decode()


def _json_lines(text: str) -> list[dict[str, object]]:
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def test_serve_answers_logs_json_and_stops(tmp_path: Path) -> None:
    port = _free_port()
    process = _start(["serve", "--port", str(port)], tmp_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(
                    f"http://127.0.0.1:{port}/readyz", headers={"X-Request-Id": "probe-42"}
                )
                break
            except httpx.TransportError:
                assert process.poll() is None, process.communicate()[1].decode()[-2000:]
                assert time.monotonic() < deadline, "serve did not come up"
                time.sleep(0.2)
        assert response.status_code == 200
        assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}
        assert response.headers["x-request-id"] == "probe-42"
    finally:
        code, err = _stop(process)
    # uvicorn re-raises SIGTERM once it has shut down cleanly, so the exit is by that signal.
    assert code in (0, -signal.SIGTERM), err[-2000:]
    assert "Application shutdown complete." in err
    logged = _json_lines(err)
    assert logged, err[-2000:]
    assert all({"ts", "level", "msg", "logger"} <= set(line) for line in logged)
    assert any(line.get("request_id") == "probe-42" for line in logged), err[-2000:]


@pytest.mark.skipif(not _redis_up(), reason="needs Redis on 127.0.0.1:6379")
def test_worker_and_scheduler_run_apart_and_stop(tmp_path: Path) -> None:
    migrated = subprocess.run(
        [sys.executable, "-m", "core.cli", "migrate"],
        env={
            **os.environ,
            "SECONDLOOP_ENV": "test",
            "SECONDLOOP_DATABASE_URL": f"sqlite://{tmp_path}/process.db",
        },
        capture_output=True,
        timeout=120,
    )
    assert migrated.returncode == 0, migrated.stderr.decode()[-2000:]
    worker = _start(["worker"], tmp_path, SECONDLOOP_BROKER_URL=REDIS)
    scheduler = _start(["scheduler"], tmp_path, SECONDLOOP_BROKER_URL=REDIS)
    time.sleep(4)  # both up, the scheduler has fired its every-minute slots
    assert worker.poll() is None and scheduler.poll() is None
    worker_code, worker_err = _stop(worker)
    scheduler_code, scheduler_err = _stop(scheduler)
    assert worker_code == 0, worker_err[-2000:]
    assert scheduler_code == 0, scheduler_err[-2000:]
    assert _json_lines(worker_err) or worker_err == ""


async def test_readyz_is_unavailable_when_the_broker_is_unreachable(
    client: httpx.AsyncClient, runtime: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    settings = runtime.settings  # type: ignore[attr-defined]
    dead = replace(settings, broker_url="redis://127.0.0.1:1/0")
    monkeypatch.setattr(runtime, "settings", dead)
    response = await client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable" and body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("error")
