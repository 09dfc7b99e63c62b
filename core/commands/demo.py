"""`secondloop demo`: the sandbox plus SecondLoop, two demo workspaces already connected.

The sandbox seeds two businesses whose customers live on Stripe test clocks and advances those
clocks faster than real time. SecondLoop is configured exactly as it would be for Stripe — an API
base, a platform key, restricted keys per account — and follows test-clock time by design, so
nothing in the product knows it is a demo.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from core import db
from core.app import Roles, create_app, create_runtime
from core.contributions import CliCommand
from core.logs import configure_logging
from core.settings import Settings
from core.stripe.client import make_client

DEMO_OWNER = "demo@secondloop.local"


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--sandbox-port", type=int, default=12111)
    parser.add_argument("--customers", type=int, default=60, help="demo customers in all")
    parser.add_argument(
        "--clock-speed",
        type=float,
        default=1440.0,
        help="test clocks run this many times faster than real time (1440: a day per minute)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the previous demo database")


def _start_sandbox(args: argparse.Namespace, log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    url = f"http://127.0.0.1:{args.sandbox_port}"
    command = [
        sys.executable, "-m", "sandbox",
        "--host", "127.0.0.1", "--port", str(args.sandbox_port),
        "--seed", "demo", "--seed-customers", str(args.customers),
        "--clock-speed", str(args.clock_speed),
    ]  # fmt: skip
    log = log_path.open("ab")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the sandbox exited early; see {log_path}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/_sandbox/seed", timeout=2).status_code == 200:
                return process, url
        time.sleep(0.3)
    process.terminate()
    raise SystemExit(f"the sandbox did not start within 60 s; see {log_path}")


def _platform_settings(settings: Settings, sandbox_url: str, base_url: str) -> Settings:
    platform = httpx.get(f"{sandbox_url}/_sandbox/platform", timeout=5).json()
    settings = settings.replace(
        base_url=base_url,
        stripe_api_base=sandbox_url,
        stripe_connect_base=sandbox_url,
        stripe_secret_key=platform["secret_key"],
        stripe_client_id=platform["client_id"],
    )
    # The platform's Connect endpoint, as an operator would create it in Stripe's dashboard.
    client = make_client(settings, platform["secret_key"])
    endpoint = client.v1.webhook_endpoints.create(
        {
            "url": f"{base_url}/webhooks/stripe/connect",
            "enabled_events": ["*"],
            "connect": True,
        }
    )
    return settings.replace(stripe_connect_webhook_secret=endpoint.secret or "")


async def _prepare(settings: Settings, businesses: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from core.auth.workspaces import create_workspace
    from core.models import User
    from core.stripe.restricted_key import connect_with_key

    runtime = create_runtime(settings)
    await db.migrate(settings, runtime.host)
    await db.close_db()
    await db.init_db(settings, runtime.host)
    try:
        owner, _ = await User.get_or_create(
            email=DEMO_OWNER, defaults={"created_at": runtime.now()}
        )
        for business in businesses:
            workspace = await create_workspace(runtime, business["name"], owner)
            result = await connect_with_key(runtime, workspace, business["restricted_key"])
            business["webhook_url"] = result.webhook_url
        return list(businesses)
    finally:
        await db.close_db()


def demo_settings(settings: Settings, var: Path) -> Settings:
    """The demo's own database; its sign-in links are meant to be read at /dev/outbox, so the
    outbox is on (unless SECONDLOOP_DEV_OUTBOX=off) even when served beyond loopback."""
    outbox = "off" if settings.dev_outbox == "off" else "on"
    return settings.replace(database_url=f"sqlite://{var}/secondloop.db", dev_outbox=outbox)


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    var = Path(os.environ.get("SECONDLOOP_VAR_DIR", "var")) / "demo"
    if not args.keep and var.exists():
        shutil.rmtree(var)
    var.mkdir(parents=True, exist_ok=True)
    base_url = f"http://{args.host}:{args.port}"
    settings = demo_settings(settings, var)
    sandbox, sandbox_url = _start_sandbox(args, var / "sandbox.log")
    try:
        settings = _platform_settings(settings, sandbox_url, base_url)
        async with httpx.AsyncClient(timeout=5) as http:
            seeded = (await http.get(f"{sandbox_url}/_sandbox/seed")).json()["businesses"]
            # A fresh standalone account for trying the restricted-key form yourself.
            spare = (
                await http.post(
                    f"{sandbox_url}/_sandbox/accounts",
                    json={"name": "Your Shop", "connected": False},
                )
            ).json()
        businesses = await _prepare(settings, seeded)
        _announce(base_url, sandbox_url, businesses, args.clock_speed, spare)
        configure_logging(settings.replace(log_level="WARNING"))
        runtime = create_runtime(settings)
        app = create_app(settings, runtime=runtime, roles=Roles())
        config = uvicorn.Config(app, host=args.host, port=args.port, log_config=None)
        await uvicorn.Server(config).serve()
    finally:
        sandbox.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            sandbox.wait(timeout=10)
    return 0


def _announce(
    base_url: str,
    sandbox_url: str,
    businesses: list[dict[str, Any]],
    speed: float,
    spare: dict[str, Any],
) -> None:
    print(f"\nSecondLoop demo: open {base_url}/signin and sign in as {DEMO_OWNER}")
    print(f"  (the sign-in link lands in the local outbox: {base_url}/dev/outbox)")
    print(f"Stripe sandbox: {sandbox_url}  — test clocks run {speed:g}x real time")
    for business in businesses:
        print(f"  {business['name']}: {business['account']} → {business.get('webhook_url', '')}")
    print("To connect an account yourself (sign in with any other email address):")
    print(f"  restricted key for {spare['id']}: {spare['restricted_key']}")
    print("  or choose Connect with Stripe: the sandbox serves the OAuth consent page.")
    print("Press Ctrl+C to stop.\n", flush=True)


COMMANDS = [
    CliCommand("demo", "Serve the demo: sandbox plus two connected workspaces.", _configure, _run)
]
