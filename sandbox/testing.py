"""Run a real sandbox over HTTP for tests: ``with running_sandbox(seed="t") as sb: ...``.

The server runs with uvicorn on a free 127.0.0.1 port in a background thread (its own event
loop), so both the stripe SDK's sync client and async code in the test's loop can talk to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import httpx
import uvicorn

from sandbox.app import create_app
from sandbox.config import SandboxConfig
from sandbox.context import Ctx
from sandbox.delivery import DeliveryWorker
from sandbox.state import SandboxState

T = TypeVar("T")


class RunningSandbox:
    """A started sandbox: its URL, platform credentials and in-process state."""

    def __init__(
        self, url: str, state: SandboxState, worker: DeliveryWorker, loop: asyncio.AbstractEventLoop
    ) -> None:
        self.url = url
        self.state = state
        self.worker = worker
        self.loop = loop
        self.http = httpx.Client(base_url=url, timeout=30)

    @property
    def platform_key(self) -> str:
        return self.state.platform.secret_key

    @property
    def platform_id(self) -> str:
        return self.state.platform_id

    @property
    def client_id(self) -> str:
        return self.state.client_id

    def create_account(self, **fields: Any) -> dict[str, Any]:
        """``POST /_sandbox/accounts``: id, secret_key, restricted_key, read_only_key, ..."""
        response = self.http.post("/_sandbox/accounts", json=fields)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def client(self, key: str | None = None, **kwargs: Any) -> Any:
        """A ``stripe.StripeClient`` pointed at this sandbox (sync and async methods work)."""
        import stripe

        kwargs.setdefault("http_client", stripe.HTTPXClient(allow_sync_methods=True))
        kwargs.setdefault("client_id", self.client_id)
        return stripe.StripeClient(
            key or self.platform_key,
            base_addresses={"api": self.url, "connect": self.url},
            **kwargs,
        )

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn`` on the sandbox's event loop (the only safe place to touch its state)."""

        async def run() -> T:
            return fn(*args, **kwargs)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout=60)

    def ctx(self, account_id: str | None = None) -> Ctx:
        """A Ctx for ``account_id`` (default: platform) to use inside :meth:`call`."""
        return Ctx(self.state, self.state.accounts[account_id or self.state.platform_id])

    def deliveries(self, **filters: str) -> list[dict[str, Any]]:
        response = self.http.get("/_sandbox/deliveries", params=filters)
        data: list[dict[str, Any]] = response.json()["data"]
        return data

    def set_delivery_options(self, **options: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.http.post("/_sandbox/delivery_options", json=options).json()
        return result

    def wait_for(
        self, predicate: Callable[[], bool], timeout: float = 10.0, interval: float = 0.02
    ) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError("condition not met in time")
            time.sleep(interval)

    def wait_for_deliveries(self, timeout: float = 10.0) -> None:
        """Block until the outbox is drained (ignores retries scheduled in the future)."""
        now = time.time
        self.wait_for(
            lambda: (
                self.worker.in_flight == 0 and not any(d.due <= now() for d in self.state.outbox)
            ),
            timeout,
        )

    def wait_for_clock(self, account_id: str | None, clock_id: str, timeout: float = 10.0) -> None:
        store = self.state.accounts[account_id or self.state.platform_id].store
        self.wait_for(lambda: store.objects[clock_id]["status"] == "ready", timeout)

    def authorize(self, authorize_url: str, *, approve: bool = True, account: str = "") -> str:
        """Submit the OAuth page's form; returns the redirect URL (with code and state)."""
        query = httpx.URL(authorize_url).params
        form = dict(query.multi_items())
        form["decision"] = "approve" if approve else "deny"
        form["account"] = account
        response = self.http.post("/oauth/authorize", data=form)
        if response.status_code != 302:
            raise RuntimeError(f"authorize failed: {response.status_code} {response.text}")
        return response.headers["location"]


class WebhookReceiver:
    """A local webhook endpoint for tests: records every request and answers with the
    statuses queued in ``statuses`` (200 once they run out)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length).decode()
                with receiver.lock:
                    receiver.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "body": body}
                    )
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(r["body"]) for r in self.requests]

    def take(self) -> list[dict[str, Any]]:
        """Remove and return the requests received so far."""
        with self.lock:
            taken, self.requests = self.requests, []
        return taken

    async def forward(self, client: httpx.AsyncClient, path: str) -> list[httpx.Response]:
        """Re-post what was received (body and Stripe-Signature untouched) to ``path`` on
        ``client`` — e.g. an ``httpx.AsyncClient(transport=ASGITransport(app))`` — so an
        in-process app receives the sandbox's webhooks exactly as sent."""
        responses = []
        for request in self.take():
            headers = {
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": request["headers"]["Stripe-Signature"],
            }
            responses.append(await client.post(path, content=request["body"], headers=headers))
        return responses

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextlib.contextmanager
def running_sandbox(
    seed: str | None = "test", config: SandboxConfig | None = None, **overrides: Any
) -> Iterator[RunningSandbox]:
    """Start a sandbox on a free port; stop it (and free the port) on exit.

    ``overrides`` are SandboxConfig fields, e.g. ``webhook_retry_schedule=(0.05, 0.1)``.
    """
    config = replace(config or SandboxConfig(), seed=seed, **overrides)
    app = create_app(config)
    sock = _free_socket()
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    )
    loop = asyncio.new_event_loop()
    failure: list[BaseException] = []

    def serve() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(server.serve(sockets=[sock]))
        except BaseException as exc:
            failure.append(exc)
        finally:
            loop.close()

    thread = threading.Thread(target=serve, name=f"sandbox:{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if failure or not thread.is_alive():
            sock.close()
            raise RuntimeError(f"sandbox failed to start: {failure[:1]}")
        if time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError("sandbox did not start within 15 s")
        time.sleep(0.01)
    running = RunningSandbox(
        f"http://127.0.0.1:{port}", app.state.sandbox, app.state.delivery, loop
    )
    try:
        yield running
    finally:
        running.http.close()
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


@contextlib.asynccontextmanager
async def running_sandbox_async(
    seed: str | None = "test", config: SandboxConfig | None = None, **overrides: Any
) -> AsyncIterator[RunningSandbox]:
    """The same, for async tests (start-up and shut-down happen off the test's loop)."""
    manager = running_sandbox(seed, config, **overrides)
    running = await asyncio.to_thread(manager.__enter__)
    try:
        yield running
    finally:
        await asyncio.to_thread(manager.__exit__, None, None, None)
