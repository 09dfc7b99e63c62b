"""Benchmark webhook intake: signed Stripe events accepted per second, p50/p99 latency.

Each server runs with uvicorn in a child process (so the load generator does not share its
GIL) on a free 127.0.0.1 port: first a bare Starlette endpoint that reads the body and answers
200, then SecondLoop's `/webhooks/stripe/{token}` (signature check, one transaction storing
the event and its handler job, dispatch to the embedded broker, which runs the job in the same
process, as `secondloop serve` does). A few concurrent keep-alive clients send a bounded
number of distinct, correctly signed events. Runs on SQLite and on PostgreSQL (a scratch
database, dropped afterwards) and prints both figures and the ratio; the bar is 40 %. The
bare endpoint is measured right before and right after each intake run (the machine is
shared; the ratio uses their mean), in `--rounds` rounds whose median is the result. With the
embedded broker it also reports how long after the last answer the server's own worker had
finished every handler job.

    .venv/bin/python bench/webhook_intake.py [--requests 3000] [--clients 8] [--rounds 3]
        [--backends sqlite,postgres] [--postgres postgres://postgres@127.0.0.1:5432]

Environment knobs: BENCH_HANDLER=0 stores events with no handler (intake alone),
BENCH_SQLITE_QUERY="?synchronous=FULL" overrides SQLite pragmas, BENCH_QUIET=0 shows the
servers' stderr, BENCH_PROFILE=/tmp/intake runs each intake server under cProfile and writes
`/tmp/intake-<sqlite|postgres>-<memory|redis>.prof` when it stops.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import types
from typing import Any

_HERE = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(_HERE)
if sys.path and os.path.abspath(sys.path[0]) == _HERE:
    sys.path[0] = _ROOT

BAR = 0.40
SECRET = "whsec_bench_" + "b" * 24
EVENT_TYPE = "invoice.payment_failed"


# -- the children: serve --------------------------------------------------------------
def serve_bare(port: int) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def hook(request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse({"received": True})

    app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    print("READY " + json.dumps({"path": "/hook"}), flush=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def _noop(event: Any, workspace_id: int, runtime: Any) -> None:
    return None


def _bench_plugin() -> object:
    from core.contributions import StripeEventHandler
    from core.plugins import hookimpl

    handler = StripeEventHandler("bench.noop", [EVENT_TYPE], _noop)
    return types.SimpleNamespace(register_stripe_handlers=hookimpl(lambda: [handler]))


async def _seed(settings: Any, host: Any) -> tuple[Any, str]:
    from core import db
    from core.app import create_runtime
    from core.events.testing import connected_account
    from core.models import Workspace
    from core.testing.database import migrate

    await migrate(settings, host)
    await db.init_db(settings, host)
    runtime = create_runtime(settings, host=host)
    workspace = await Workspace.create(name="Bench", slug="bench")
    _, token = await connected_account(runtime, workspace.id, secret=SECRET)
    await db.close_db()
    return runtime, token


def serve_intake(port: int, database_url: str, broker_url: str, queue: str) -> None:
    import uvicorn

    from core.app import Roles, create_app
    from core.plugins import build_plugin_host
    from core.settings import Settings

    settings = Settings(
        environment="test",
        database_url=database_url,
        broker_url=broker_url,
        broker_queue=queue,
        plugins=(),
        log_level="WARNING",
    )
    plugins = [("bench", _bench_plugin())] if os.environ.get("BENCH_HANDLER", "1") == "1" else []
    host = build_plugin_host((), plugins)
    runtime, token = asyncio.run(_seed(settings, host))
    # Embedded broker: web and worker in one process (`secondloop serve`). Redis: the web role
    # only; its jobs wait in the stream for `secondloop worker` processes elsewhere.
    roles = Roles(scheduler=False, worker=settings.embedded_broker)
    app = create_app(settings, runtime=runtime, roles=roles)
    print("READY " + json.dumps({"path": f"/webhooks/stripe/{token}"}), flush=True)
    profile_to = os.environ.get("BENCH_PROFILE")
    if not profile_to:
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
        return
    import cProfile
    import signal

    def stop(signum: int, frame: Any) -> None:
        # uvicorn re-raises SIGTERM once it has shut down; exit through `finally` instead.
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    # CPU time, not wall time: on a shared machine wall time mostly measures the neighbours.
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    try:
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    finally:
        profiler.disable()
        backend = "sqlite" if database_url.startswith("sqlite") else "postgres"
        profiler.dump_stats(f"{profile_to}-{backend}-{broker_url.split(':')[0]}.prof")


# -- the parent: drive load -----------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Connection:
    """A minimal keep-alive HTTP/1.1 client: the load generator must cost far less than the
    servers it measures."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def post(self, path: str, body: bytes, signature: str) -> int:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Stripe-Signature: {signature}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        response = await self.reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in response.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await self.reader.readexactly(length)
        return int(response[9:12])

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):  # the server may reset first: harmless
            await self.writer.wait_closed()


def signed_events(count: int) -> list[tuple[bytes, str]]:
    import stripe

    now = int(time.time())
    out = []
    for i in range(count):
        invoice = {
            "object": "invoice",
            "id": f"in_{i}",
            "customer": f"cus_{i % 97}",
            "amount_due": 2000,
        }
        payload = {
            "id": f"evt_bench_{os.getpid()}_{i}",
            "object": "event",
            "type": EVENT_TYPE,
            "api_version": "2026-10-28.endive",
            "created": now,
            "livemode": False,
            "data": {"object": invoice},
        }
        body = json.dumps(payload)
        out.append((body.encode(), stripe.WebhookSignature.generate_signature_header(body, SECRET)))
    return out


async def load(
    port: int, path: str, events: list[tuple[bytes, str]], clients: int
) -> dict[str, Any]:
    queue = list(reversed(events))
    latencies: list[float] = []
    errors = 0

    async def worker() -> None:
        nonlocal errors
        connection = await Connection.open(port)
        try:
            while queue:
                body, signature = queue.pop()
                started = time.perf_counter()
                status = await connection.post(path, body, signature)
                latencies.append(time.perf_counter() - started)
                if status != 200:
                    errors += 1
        finally:
            await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "errors": errors,
    }


def run_server(args: list[str]) -> tuple[subprocess.Popen[str], int, str]:
    port = free_port()
    child = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), *args, "--port", str(port)],
        stdout=subprocess.PIPE,
        # Jobs cut short when the server is stopped log noise; keep it out of the report.
        stderr=subprocess.DEVNULL if os.environ.get("BENCH_QUIET", "1") == "1" else None,
        text=True,
        cwd=_ROOT,
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    if not line.startswith("READY "):
        child.kill()
        raise RuntimeError(f"server did not start: {line!r}")
    path = json.loads(line[6:])["path"]
    deadline = time.monotonic() + 15
    while True:  # READY comes just before uvicorn binds: wait for the port
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                child.kill()
                raise
            time.sleep(0.05)
    return child, port, path


def measure(
    server_args: list[str], requests: int, clients: int, unfinished: Any = None
) -> dict[str, Any]:
    """Serve, warm up, then time `requests` events. With `unfinished` (a callable counting
    handler jobs not yet done), also time how long after the last answer the server's own
    worker finished them: the intake may answer faster than its jobs run."""
    child, port, path = run_server(server_args)
    try:
        asyncio.run(load(port, path, signed_events(min(200, requests)), clients))  # warm-up
        if unfinished is not None:
            _wait_for_jobs(unfinished, timeout=120)
        events = signed_events(requests)
        cpu = _cpu_seconds(child.pid)
        result = asyncio.run(load(port, path, events, clients))
        # The machine is shared: the server's own CPU per event does not depend on how much
        # of the CPU the others left us, so it is reported next to the rate.
        result["cpu_ms"] = (_cpu_seconds(child.pid) - cpu) / requests * 1000
        if unfinished is not None:
            left = unfinished()
            started = time.perf_counter()
            done = _wait_for_jobs(unfinished, timeout=120)
            result["jobs_left"] = left
            result["jobs_done_after_s"] = time.perf_counter() - started if done else None
        return result
    finally:
        child.terminate()
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux), in seconds."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_for_jobs(unfinished: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while unfinished():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _unfinished_sqlite(path: str) -> Any:
    import sqlite3

    def count() -> int:
        with sqlite3.connect(path, timeout=30) as conn:
            query = "SELECT count(*) FROM core_job WHERE status IN ('pending', 'running')"
            return int(conn.execute(query).fetchone()[0])

    return count


def _unfinished_postgres(url: str) -> Any:
    import asyncpg

    async def query() -> int:
        conn = await asyncpg.connect(url.replace("asyncpg://", "postgres://"))
        try:
            return int(
                await conn.fetchval(
                    "SELECT count(*) FROM core_job WHERE status IN ('pending', 'running')"
                )
            )
        finally:
            await conn.close()

    return lambda: asyncio.run(query())


Round = tuple[list[dict[str, Any]], dict[str, Any]]  # (bare before and after, intake)


def _ratio(round_: Round) -> float:
    bares, intake = round_
    return float(intake["rps"] / statistics.mean(row["rps"] for row in bares))


def report_rounds(name: str, rounds: list[Round], requests: int) -> bool:
    """Each round's ratio, then the median round in full; the bar applies to the median."""
    if len(rounds) > 1:
        print("  rounds: " + " / ".join(f"{_ratio(r):.0%}" for r in rounds))
    median = sorted(rounds, key=_ratio)[(len(rounds) - 1) // 2]
    return report(name, *median, requests, median_of=len(rounds))


def report(
    name: str,
    bares: list[dict[str, Any]],
    intake: dict[str, Any],
    requests: int,
    median_of: int = 1,
) -> bool:
    bare = {
        key: statistics.mean(row[key] for row in bares)
        for key in ("rps", "p50_ms", "p99_ms", "errors", "cpu_ms")
    }
    ratio = intake["rps"] / bare["rps"]
    ok = ratio >= BAR and intake["errors"] == 0
    for label, row in (("bare endpoint", bare), (f"intake ({name})", intake)):
        print(
            f"  {label:<22} {row['rps']:8.0f} events/s   p50 {row['p50_ms']:6.2f} ms   "
            f"p99 {row['p99_ms']:6.2f} ms   errors {row['errors']:.0f}   "
            f"server CPU {row['cpu_ms']:.2f} ms/event"
        )
    each = " / ".join(f"{b['rps']:.0f}" for b in bares)
    print(f"  (bare endpoint before / after: {each} events/s)")
    if "jobs_left" in intake:
        after = intake["jobs_done_after_s"]
        if after is None:
            print(f"  handler jobs: {intake['jobs_left']} unfinished at the end, not done in 120 s")
        else:
            whole = requests / (requests / intake["rps"] + after)
            print(
                f"  handler jobs: {intake['jobs_left']} unfinished at the last answer, all done "
                f"{after:.1f} s later (events fully handled: {whole:.0f}/s)"
            )
    which = f"median of {median_of} rounds" if median_of > 1 else "ratio"
    print(f"  {which}: {ratio:.0%} (bar {BAR:.0%}): {'ok' if ok else 'BELOW THE BAR'}")
    return ok


def _measure_intake(args: argparse.Namespace, backend: str, broker: str) -> dict[str, Any]:
    from core.testing.database import create_postgres_database, drop_postgres_database

    queue = f"sl-bench-{os.getpid()}-{time.monotonic_ns()}"
    serve = ["--serve", "intake", "--broker-url", broker, "--queue", queue, "--database"]
    # Embedded broker: the server runs the handler jobs too, so report when they were done.
    # Redis: they wait in the stream for worker processes that this benchmark does not run.
    embedded = broker.startswith("memory") and os.environ.get("BENCH_HANDLER", "1") == "1"
    try:
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                url = f"sqlite://{tmp}/bench.db" + os.environ.get("BENCH_SQLITE_QUERY", "")
                jobs = _unfinished_sqlite(f"{tmp}/bench.db") if embedded else None
                return measure([*serve, url], args.requests, args.clients, jobs)
        if backend == "postgres":
            name = f"sl_bench_{os.getpid()}"
            url = asyncio.run(create_postgres_database(args.postgres, name))
            try:
                jobs = _unfinished_postgres(url) if embedded else None
                return measure([*serve, url], args.requests, args.clients, jobs)
            finally:
                asyncio.run(drop_postgres_database(args.postgres, name))
        raise SystemExit(f"unknown backend {backend!r}")
    finally:
        if broker.startswith("redis"):
            asyncio.run(_drop_stream(broker, queue))


async def _drop_stream(broker: str, queue: str) -> None:
    import redis.asyncio as redis

    client = redis.from_url(broker)
    try:
        await client.delete(queue)
    finally:
        await client.aclose()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3, help="the median round is the result")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432"),
    )
    parser.add_argument(
        "--brokers",
        default="memory://,redis://127.0.0.1:6379/0",
        help="memory:// runs the handler jobs in the server; redis:// leaves them to workers",
    )
    parser.add_argument("--serve", choices=["bare", "intake"], help=argparse.SUPPRESS)
    parser.add_argument("--broker-url", default="memory://", help=argparse.SUPPRESS)
    parser.add_argument("--queue", default="sl-bench", help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve == "bare":
        serve_bare(args.port)
        return 0
    if args.serve == "intake":
        serve_intake(args.port, args.database, args.broker_url, args.queue)
        return 0

    print(f"webhook intake: {args.requests} signed events, {args.clients} concurrent clients")
    all_ok = True
    bare = ["--serve", "bare"]
    for backend in args.backends.split(","):
        for broker in args.brokers.split(","):
            # The machine is shared: the bare endpoint is measured right before and right
            # after each intake run, and the ratio uses their mean; rounds of that repeat,
            # and the median round is the result (single runs swing by ±15 % here).
            rounds: list[Round] = []
            for _ in range(args.rounds):
                before = measure(bare, args.requests, args.clients)
                intake = _measure_intake(args, backend, broker)
                after = measure(bare, args.requests, args.clients)
                rounds.append(([before, after], intake))
            print(f"{backend}, broker {broker.split('://')[0]}:")
            all_ok = report_rounds(backend, rounds, args.requests) and all_ok
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
