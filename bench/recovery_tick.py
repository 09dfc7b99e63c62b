"""Benchmark the recovery tick: due email steps processed end to end, per second.

N due email steps (default 100,000) across W workspaces (default 1,000) are seeded straight
into the tables (bulk inserts, not the event path), then worker processes run the real code:
`engine.run_due`, the body of `recovery.drain` (the job each tick fans out). It selects
`FOR NO KEY UPDATE SKIP LOCKED` on PostgreSQL, claims each step by conditional UPDATE, runs the
email step type and records the result; `send_email` records the message and enqueues
`core.email.deliver`, which the worker's embedded broker runs in the background (suppression
list, the default per-workspace rate limits, claim, SMTP to an aiosmtpd server in its own
process, commit `sent`). The clock stops when every step is `done` and every message is `sent`;
the SMTP server's count is checked.

Configurations: SQLite (one worker: SQLite has one writer), PostgreSQL with one worker and with
two worker processes (they split the work through SKIP LOCKED). The baseline, measured in the
same run against the same SMTP server: the delivery rate of the same number of pre-rendered
messages sent by aiosmtplib exactly as the email service sends them (one connection per
message, 20 at a time, as the embedded broker runs 20 jobs at once), with no database at all.

The workspaces' email rate limits are set high by default (`--rate-limits`, 1000000/s): the
issue asks what the tick and delivery cost, and the product's defaults (10/s, 100/m, 1000/h,
10000/d per workspace) would otherwise decide the figure whenever a run sends more than about
100 messages a minute per workspace, as a reduced run (fewer workspaces, same steps each)
does. The limits are still checked on every delivery (the same queries); they just never
defer. `--rate-limits default` measures with the product's defaults.

    .venv/bin/python bench/recovery_tick.py [--steps 100000] [--workspaces 1000]
        [--configs sqlite,postgres1,postgres2] [--postgres postgres://postgres@127.0.0.1:5432]
        [--baseline 5000] [--rate-limits 1000000/s | default]

BENCH_PROFILE=/tmp/tick writes a cProfile of each worker to /tmp/tick-<config>-<n>.prof.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from typing import Any

_HERE = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(_HERE)
if sys.path and os.path.abspath(sys.path[0]) == _HERE:
    sys.path[0] = _ROOT

CONCURRENCY = 20  # the embedded broker's max_async_tasks
HIGH_LIMITS = "1000000/s"
# The main process hands the limits to its workers through their environment.
LIMITS_ENV = "BENCH_RATE_LIMITS"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- the SMTP server (its own process, so it does not share a GIL with what it measures) --------
def serve_smtp(port: int) -> None:
    import signal

    from aiosmtpd.controller import Controller

    class Counter:
        count = 0

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            Counter.count += 1
            return "250 OK"

    # A fixed server name: aiosmtpd would otherwise resolve its FQDN on every connection.
    controller = Controller(
        Counter(), hostname="127.0.0.1", port=port, server_hostname="smtp.bench.test"
    )
    controller.start()
    print("READY", flush=True)

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        for line in sys.stdin:  # the parent asks "count" and reads the answer
            if line.strip() == "count":
                print(Counter.count, flush=True)
    finally:
        controller.stop()


class SmtpChild:
    def __init__(self) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--serve-smtp", str(self.port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=_ROOT,
        )
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != "READY":
            raise RuntimeError("the SMTP server did not start")

    def count(self) -> int:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("count\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


# -- the baseline: pre-rendered messages, no database --------------------------------------
async def baseline(port: int, count: int) -> float:
    from email.message import EmailMessage

    from core.email import smtp

    server = smtp.SmtpServer("127.0.0.1", port, None, None, use_tls=False)
    messages = []
    for n in range(count):
        message = EmailMessage()
        message["From"] = "Bench <billing@bench.test>"
        message["To"] = f"c{n}@bench.test"
        message["Subject"] = "Your payment for your subscription didn't go through"
        message.set_content("Hi there,\n\nWe couldn't take your payment of 29.00 USD.\n")
        message.add_alternative("<p>Hi there,</p><p>We couldn't take your payment.</p>", "html")
        messages.append(message)
    queue = list(reversed(messages))

    async def sender() -> None:
        while queue:
            await smtp.send(server, queue.pop())

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(CONCURRENCY)))
    return count / (time.perf_counter() - started)


# -- seeding: the models, in bulk -----------------------------------------------------------
def bench_settings(database_url: str, smtp_port: int) -> Any:
    from core.email.ratelimit import SETTING
    from core.settings import Settings

    limits = os.environ.get(LIMITS_ENV, HIGH_LIMITS)
    return Settings(
        extra={} if limits == "default" else {SETTING: limits},
        environment="test",
        database_url=database_url,
        smtp_url=f"smtp://127.0.0.1:{smtp_port}",
        plugins=("recovery",),
        log_level="WARNING",
    )


async def seed(database_url: str, steps: int, workspaces: int) -> None:
    from datetime import UTC, datetime, timedelta

    from core import db
    from core.models import Workspace
    from core.plugins import build_plugin_host
    from core.tenancy import unscoped
    from core.testing.database import migrate
    from plugins.recovery.models import Case, CaseStep, RecoverySettings

    settings = bench_settings(database_url, 25)
    host = build_plugin_host(settings.plugins)
    await migrate(settings, host)
    await db.init_db(settings, host)
    now = datetime.now(UTC)
    try:
        with unscoped():
            await Workspace.bulk_create(
                [Workspace(name=f"Shop {i}", slug=f"shop-{i}") for i in range(workspaces)],
                batch_size=1000,
            )
            ids = list(await Workspace.all().order_by("id").values_list("id", flat=True))
            await RecoverySettings.bulk_create(
                [RecoverySettings(workspace_id=i, enabled=True, sender_name="Shop") for i in ids],
                batch_size=1000,
            )
            # Case n belongs to workspace n % W: the tick meets every workspace in turn.
            await Case.bulk_create(
                [
                    Case(
                        workspace_id=ids[n % workspaces],
                        stripe_account_id="acct_bench",
                        invoice_id=f"in_{n}",
                        customer_id=f"cus_{n}",
                        customer_email=f"c{n}@bench.test",
                        customer_name=f"Customer {n}",
                        amount=2900,
                        currency="usd",
                        category="funds",
                        opened_at=now - timedelta(hours=1),
                    )
                    for n in range(steps)
                ],
                batch_size=2000,
            )
            cases = await Case.all().order_by("id").values_list("id", "workspace_id")
            await CaseStep.bulk_create(
                [
                    CaseStep(
                        workspace_id=workspace_id,
                        case_id=case_id,
                        index=0,
                        type="email",
                        config={"template": "payment_failed"},
                        due_at=now - timedelta(minutes=1),
                        idempotency_key=f"bench:{case_id}",
                    )
                    for case_id, workspace_id in cases
                ],
                batch_size=2000,
            )
    finally:
        await db.close_db()


# -- a worker: the real tick, the real delivery --------------------------------------------
async def work(database_url: str, smtp_port: int) -> dict[str, Any]:
    from core import jobs
    from core.app import Roles, create_runtime, running
    from core.email import EmailStatus, OutboundEmail
    from core.tenancy import unscoped
    from plugins.recovery import engine
    from plugins.recovery.models import CaseStep, StepStatus

    runtime = create_runtime(bench_settings(database_url, smtp_port))
    ran = 0
    async with running(runtime, Roles(scheduler=False, worker=True)):
        print("READY", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)  # GO
        started = time.perf_counter()
        inflight = runtime.services["jobs.inflight"]
        while True:
            done_now = await engine.run_due(runtime)
            ran += done_now
            if done_now:
                continue
            await inflight.idle.wait()
            with unscoped():
                left = await CaseStep.filter(
                    status__in=[StepStatus.PENDING, StepStatus.RUNNING]
                ).count()
                unsent = await OutboundEmail.filter(
                    status__in=[EmailStatus.QUEUED, EmailStatus.SENDING]
                ).count()
            if not left and not unsent:
                break
            await jobs.sweep(runtime)  # deliveries deferred by a rate limit
            await asyncio.sleep(0.2)
        elapsed = time.perf_counter() - started
    return {"ran": ran, "elapsed": elapsed}


def worker_main(database_url: str, smtp_port: int, profile: str) -> None:
    if not profile:
        print("RESULT " + json.dumps(asyncio.run(work(database_url, smtp_port))), flush=True)
        return
    import cProfile

    profiler = cProfile.Profile()
    profiler.enable()
    try:
        result = asyncio.run(work(database_url, smtp_port))
    finally:
        profiler.disable()
        profiler.dump_stats(profile)
    print("RESULT " + json.dumps(result), flush=True)


async def check(database_url: str) -> dict[str, int]:
    from core import db
    from core.email import EmailStatus, OutboundEmail
    from core.plugins import build_plugin_host
    from core.tenancy import unscoped
    from plugins.recovery.models import CaseStep, StepStatus

    settings = bench_settings(database_url, 25)
    await db.init_db(settings, build_plugin_host(settings.plugins))
    try:
        with unscoped():
            return {
                "steps_done": await CaseStep.filter(status=StepStatus.DONE).count(),
                "sent": await OutboundEmail.filter(status=EmailStatus.SENT).count(),
            }
    finally:
        await db.close_db()


def run_workers(database_url: str, smtp: SmtpChild, workers: int, tag: str) -> float:
    profile = os.environ.get("BENCH_PROFILE", "")
    procs = []
    for n in range(workers):
        args = [
            sys.executable,
            os.path.abspath(__file__),
            "--work",
            database_url,
            "--smtp-port",
            str(smtp.port),
        ]
        if profile:
            args += ["--profile", f"{profile}-{tag}-{n}.prof"]
        proc = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=_ROOT
        )
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "READY":
            raise RuntimeError("a worker did not start")
        procs.append(proc)
    started = time.perf_counter()
    for proc in procs:  # GO
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    results = []
    for proc in procs:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("RESULT "):
                results.append(json.loads(line[7:]))
        proc.wait()
    elapsed = time.perf_counter() - started
    shares = ", ".join(str(r["ran"]) for r in results)
    print(f"    steps run per worker: {shares}")
    return elapsed


def measure(config: str, args: argparse.Namespace, smtp: SmtpChild) -> float:
    from core.testing.database import create_postgres_database, drop_postgres_database

    workers = 2 if config == "postgres2" else 1
    before = smtp.count()
    with tempfile.TemporaryDirectory() as tmp:
        name = f"sl_bench_tick_{os.getpid()}"
        if config == "sqlite":
            url = f"sqlite://{tmp}/bench.db"
        else:
            url = asyncio.run(create_postgres_database(args.postgres, name))
        try:
            started = time.perf_counter()
            asyncio.run(seed(url, args.steps, args.workspaces))
            print(f"  {config}: seeded in {time.perf_counter() - started:.1f} s")
            elapsed = run_workers(url, smtp, workers, config)
            found = asyncio.run(check(url))
        finally:
            if config != "sqlite":
                asyncio.run(drop_postgres_database(args.postgres, name))
    received = smtp.count() - before
    ok = found["steps_done"] == found["sent"] == received == args.steps
    rate = args.steps / elapsed
    print(
        f"    {args.steps} steps in {elapsed:.1f} s: {rate:,.0f} steps/s "
        f"(done {found['steps_done']}, sent {found['sent']}, SMTP received {received})"
        + ("" if ok else "  MISMATCH")
    )
    if not ok:
        raise SystemExit(f"{config}: not every step was processed exactly once")
    return rate


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--workspaces", type=int, default=1_000)
    parser.add_argument("--configs", default="sqlite,postgres1,postgres2")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432"),
    )
    parser.add_argument(
        "--baseline", type=int, default=5000, help="messages in the SMTP baseline (at most --steps)"
    )
    parser.add_argument(
        "--rate-limits",
        default=HIGH_LIMITS,
        help="the workspaces' email rate limits, or 'default' for the product's",
    )
    parser.add_argument("--serve-smtp", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    parser.add_argument("--smtp-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--profile", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_smtp:
        serve_smtp(args.serve_smtp)
        return 0
    if args.work:
        worker_main(args.work, args.smtp_port, args.profile)
        return 0

    os.environ[LIMITS_ENV] = args.rate_limits
    print(f"recovery tick: {args.steps:,} due email steps across {args.workspaces:,} workspaces")
    if args.rate_limits == "default":
        print("  email rate limits: the product's defaults (10/s, 100/m, 1000/h, 10000/d)")
    else:
        print(
            f"  email rate limits: {args.rate_limits} per workspace, set high so the tick is "
            "measured, not the limiter (checked on every delivery, never deferring)"
        )
    smtp = SmtpChild()
    try:
        count = min(args.baseline, args.steps)
        base = asyncio.run(baseline(smtp.port, count))
        print(
            f"  baseline: {count} pre-rendered messages to aiosmtpd, {CONCURRENCY} at a time, "
            f"no database: {base:,.0f} messages/s"
        )
        figures = {}
        for config in args.configs.split(","):
            figures[config] = measure(config, args, smtp)
    finally:
        smtp.stop()
    print("summary (steps/s, and as a share of the SMTP baseline):")
    for config, rate in figures.items():
        print(f"  {config:<10} {rate:8,.0f} steps/s   {rate / base:6.1%} of {base:,.0f}/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
