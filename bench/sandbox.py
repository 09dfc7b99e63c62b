"""Benchmark the Stripe sandbox: retrieve and list requests/second with 100,000 objects.

Runs the sandbox in a child process (so the load generator does not share its GIL) exactly
as ``secondloop sandbox`` runs it — the billing engine loaded — fills it in-process with
customers, their attached payment methods and their invoices across several connected
accounts, then drives real HTTP requests from a few concurrent clients and prints
requests/second and latency for each request kind, next to a trivial baseline endpoint
(``GET /_sandbox/clock``) measured in the same run, and each kind's share of it.

    .venv/bin/python bench/sandbox.py [--objects 100000] [--accounts 5] [--clients 8] [--seconds 3]
    .venv/bin/python bench/sandbox.py --foundation-only   # without the billing engine
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx

# Run as a script, this file's directory comes first on sys.path and its name would shadow
# the ``sandbox`` package: put the repository root there instead.
_HERE = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(_HERE)
if sys.path and os.path.abspath(sys.path[0]) == _HERE:
    sys.path[0] = _ROOT

TARGET = 500.0


# -- the child: fill and serve --------------------------------------------------------
def fill(state: Any, objects: int, accounts: int, billing: bool) -> dict[str, Any]:
    """Create ``objects`` objects: customers, a payment method attached to each and, with the
    billing engine, an invoice for each (a third each; half each without invoices)."""
    from sandbox.accounts import provision_account
    from sandbox.cards import CARDS
    from sandbox.context import Ctx
    from sandbox.payment_methods import create_card_payment_method
    from sandbox.resources.customers import blank_customer

    cards = list(CARDS.values())
    per_account = objects // accounts
    per_customer = 3 if billing else 2
    summary: dict[str, Any] = {"accounts": []}
    for a in range(accounts):
        info = provision_account(state, name=f"Bench {a}")
        ctx = Ctx(state, state.accounts[info["id"]])
        make_invoice = _invoice_maker(ctx) if billing else None
        customer_ids, emails, invoice_ids = [], [], []
        for i in range(per_account // per_customer):
            state.clock.offset += 1  # spread `created` so created filters have work to do
            customer = blank_customer(ctx, ctx.new_id("cus"), ctx.now(), None)
            customer["email"] = f"c{i}@bench{a}.test"
            ctx.store.insert(customer)
            pm = create_card_payment_method(ctx, cards[i % len(cards)])
            pm["customer"] = customer["id"]
            ctx.store.save(pm)
            customer_ids.append(customer["id"])
            emails.append(customer["email"])
            if make_invoice is not None:
                invoice_ids.append(make_invoice(customer, i))
        summary["accounts"].append(
            {
                "id": info["id"],
                "customers": customer_ids[::50],
                "emails": emails[::50],
                "invoices": invoice_ids[::50],
            }
        )
    summary["objects"] = sum(len(acc.store.objects) for acc in state.accounts.values())
    return summary


def _invoice_maker(ctx: Any) -> Callable[[dict[str, Any], int], str]:
    """Stores full-shape invoices (the engine's own builder), most paid, some open."""
    from sandbox.billing import invoices

    product = {"id": ctx.new_id("prod"), "object": "product", "name": "Bench plan"}
    price = {
        "id": ctx.new_id("price"),
        "object": "price",
        "currency": "usd",
        "product": product["id"],
        "recurring": {"interval": "month"},
        "unit_amount": 2500,
    }

    def make(customer: dict[str, Any], i: int) -> str:
        now = ctx.now()
        spec = invoices.LineSpec(price, 1, now, now + 30 * 86_400)
        invoice = invoices.build(ctx, customer=customer, lines=[spec], billing_reason="manual")
        invoice["status"] = "open" if i % 5 == 0 else "paid"
        ctx.store.insert(invoice)
        return str(invoice["id"])

    return make


def serve(port: int, objects: int, accounts: int, billing: bool) -> None:
    import uvicorn

    from sandbox.app import create_app
    from sandbox.config import SandboxConfig

    config = SandboxConfig(seed="bench", persist_interval=None)
    if not billing:
        config.extensions = ()
    app = create_app(config)
    state = app.state.sandbox
    started = time.perf_counter()
    summary = fill(state, objects, accounts, billing)
    summary["billing"] = billing
    summary["fill_seconds"] = round(time.perf_counter() - started, 2)
    summary["platform_key"] = state.platform.secret_key
    print("READY " + json.dumps(summary), flush=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# -- the parent: drive load -----------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


RequestMaker = Callable[[random.Random], tuple[str, dict[str, str]]]


class Connection:
    """A minimal keep-alive HTTP/1.1 client: the load generator must cost far less than the
    server it measures (httpx spends more CPU per request than the sandbox does)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def get(self, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
        lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        body = await self.reader.readexactly(length)
        return status, body

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


async def measure(
    port: int, make: RequestMaker, clients: int, seconds: float
) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def worker(n: int) -> None:
        nonlocal errors
        rng = random.Random(n)
        conn = await Connection.open("127.0.0.1", port)
        try:
            while time.perf_counter() < deadline:
                path, headers = make(rng)
                t0 = time.perf_counter()
                status, _ = await conn.get(path, headers)
                latencies.append(time.perf_counter() - t0)
                if status != 200:
                    errors += 1
        finally:
            await conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(clients)))
    elapsed = time.perf_counter() - started
    return len(latencies) / elapsed, latencies, errors


def scenarios(summary: dict[str, Any]) -> dict[str, RequestMaker]:
    key = summary["platform_key"]
    accounts = summary["accounts"]

    def auth(rng: random.Random) -> tuple[dict[str, Any], dict[str, str]]:
        account = rng.choice(accounts)
        return account, {"Authorization": f"Bearer {key}", "Stripe-Account": account["id"]}

    def baseline(rng: random.Random) -> tuple[str, dict[str, str]]:
        return "/_sandbox/clock", {}

    def retrieve(rng: random.Random) -> tuple[str, dict[str, str]]:
        account, headers = auth(rng)
        return f"/v1/customers/{rng.choice(account['customers'])}", headers

    def list_page(rng: random.Random) -> tuple[str, dict[str, str]]:
        _, headers = auth(rng)
        return "/v1/customers?limit=10", headers

    def list_after(rng: random.Random) -> tuple[str, dict[str, str]]:
        account, headers = auth(rng)
        cursor = rng.choice(account["customers"])
        return f"/v1/customers?limit=100&starting_after={cursor}", headers

    def by_customer(rng: random.Random) -> tuple[str, dict[str, str]]:
        account, headers = auth(rng)
        return f"/v1/customers/{rng.choice(account['customers'])}/payment_methods", headers

    def by_email(rng: random.Random) -> tuple[str, dict[str, str]]:
        account, headers = auth(rng)
        return f"/v1/customers?email={rng.choice(account['emails'])}", headers

    def expanded(rng: random.Random) -> tuple[str, dict[str, str]]:
        account, headers = auth(rng)
        cus = rng.choice(account["customers"])
        return f"/v1/payment_methods?customer={cus}&expand[]=data.customer", headers

    def retrieve_invoice(rng: random.Random) -> tuple[str, dict[str, str]]:
        account, headers = auth(rng)
        return f"/v1/invoices/{rng.choice(account['invoices'])}", headers

    def customer_invoices(rng: random.Random) -> tuple[str, dict[str, str]]:
        account, headers = auth(rng)
        return f"/v1/invoices?customer={rng.choice(account['customers'])}", headers

    def open_invoices(rng: random.Random) -> tuple[str, dict[str, str]]:
        _, headers = auth(rng)
        return "/v1/invoices?status=open&limit=10", headers

    billing = {
        "retrieve invoice": retrieve_invoice,
        "list a customer's invoices": customer_invoices,
        "list open invoices (limit 10)": open_invoices,
    }
    return {
        "baseline GET /_sandbox/clock": baseline,
        "retrieve customer": retrieve,
        "list customers (limit 10)": list_page,
        "list customers (limit 100, starting_after)": list_after,
        "list a customer's payment methods": by_customer,
        "list customers by email": by_email,
        "list payment methods + expand data.customer": expanded,
        **(billing if summary["billing"] else {}),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--accounts", type=int, default=5)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument(
        "--foundation-only",
        action="store_true",
        help="without the billing engine (no invoices); the default measures the real setup",
    )
    parser.add_argument("--serve", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve is not None:
        serve(args.serve, args.objects, args.accounts, not args.foundation_only)
        return 0

    port = free_port()
    command = [
        sys.executable,
        os.path.abspath(__file__),
        "--serve",
        str(port),
        "--objects",
        str(args.objects),
        "--accounts",
        str(args.accounts),
    ]
    if args.foundation_only:
        command.append("--foundation-only")
    env = {**os.environ, "PYTHONPATH": _ROOT}
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        if not line.startswith("READY "):
            raise SystemExit(f"sandbox did not start: {line!r}")
        summary = json.loads(line[6:])
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/_sandbox/health", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        engine = "billing engine on" if summary["billing"] else "foundation only"
        print(
            f"store: {summary['objects']:,} objects in {args.accounts} accounts, {engine} "
            f"(filled in {summary['fill_seconds']} s); {args.clients} concurrent clients, "
            f"{args.seconds:g} s per kind"
        )
        header = f"{'request':48} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}"
        print(f"{header} {'of baseline':>12}")
        slowest = float("inf")
        baseline = 0.0
        for name, make in scenarios(summary).items():
            rate, latencies, errors = asyncio.run(measure(port, make, args.clients, args.seconds))
            cuts = statistics.quantiles(latencies, n=100)
            if name.startswith("baseline"):
                baseline = rate
            share = f"{rate / baseline:12.0%}" if baseline else f"{'':12}"
            print(
                f"{name:48} {rate:8.0f} {cuts[49] * 1000:8.2f} {cuts[98] * 1000:8.2f} "
                f"{errors:7} {share}"
            )
            if not name.startswith("baseline"):
                slowest = min(slowest, rate)
        verdict = "meets" if slowest >= TARGET else "MISSES"
        print(f"slowest Stripe request kind: {slowest:.0f} req/s — {verdict} the target")
        print(f"(target: {TARGET:.0f} req/s)")
        return 0 if slowest >= TARGET else 1
    finally:
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()


if __name__ == "__main__":
    raise SystemExit(main())
