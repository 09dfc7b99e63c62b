"""Running the sandbox: persistence, determinism, clock speed, admin API, CLI, async helper."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe

from sandbox.cli import config_from_args, parse_args
from sandbox.testing import WebhookReceiver, running_sandbox, running_sandbox_async


def test_state_survives_a_restart(tmp_path: Path) -> None:
    state_file = str(tmp_path / "sandbox.pickle")
    with running_sandbox(seed="persist", extensions=(), state_file=state_file) as sb:
        key = sb.platform_key
        account = sb.create_account(name="Kept")
        customer = sb.client(account["secret_key"]).v1.customers.create(params={"email": "k@x.com"})
    assert Path(state_file).exists()
    with running_sandbox(seed="persist", extensions=(), state_file=state_file) as sb:
        assert sb.platform_key == key
        again = sb.client(account["secret_key"]).v1.customers.retrieve(customer.id)
        assert again.email == "k@x.com"
        saved = sb.http.post("/_sandbox/persist").json()
        assert saved == {"saved": state_file}


def test_same_seed_same_ids() -> None:
    ids = []
    for _ in range(2):
        with running_sandbox(seed="same", extensions=()) as sb:
            customer = sb.client().v1.customers.create()
            ids.append((sb.platform_key, sb.client_id, customer.id, sb.create_account()["id"]))
    assert ids[0] == ids[1]
    with running_sandbox(seed="other", extensions=()) as sb:
        assert sb.platform_key != ids[0][0]


def test_clock_speed_moves_ready_test_clocks() -> None:
    with running_sandbox(
        seed="fast",
        extensions=(),
        clock_speed=3600.0,
        tick_interval=0.05,
        clock_advance_interval=0.2,
    ) as sb:
        client = sb.client()
        clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": 1_700_000_000})
        sb.wait_for(
            lambda: (
                client.v1.test_helpers.test_clocks.retrieve(clock.id).frozen_time
                >= 1_700_000_000 + 3600
            )
        )


def test_clock_speed_advances_send_stripes_events(receiver: WebhookReceiver) -> None:
    # A clock created before the endpoint existed is heard of by the first ready event after.
    with running_sandbox(
        seed="fast-events",
        extensions=(),
        clock_speed=3600.0,
        tick_interval=0.05,
        clock_advance_interval=0.3,
    ) as sb:
        client = sb.client()
        clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": 1_700_000_000})
        endpoint = client.v1.webhook_endpoints.create(
            params={"url": receiver.url, "enabled_events": ["*"]}
        )

        def ready_events() -> list[dict[str, Any]]:
            return [e for e in receiver.events() if e["type"] == "test_helpers.test_clock.ready"]

        sb.wait_for(lambda: len(ready_events()) >= 2, timeout=15)
        for request in list(receiver.requests):
            stripe.Webhook.construct_event(
                request["body"], request["headers"]["Stripe-Signature"], endpoint.secret
            )
        times = [e["data"]["object"]["frozen_time"] for e in ready_events()]
        assert times[0] > 1_700_000_000 and times[1] > times[0]
        assert all(e["data"]["object"]["status"] == "ready" for e in ready_events())
        statuses = [
            e["type"].rsplit(".", 1)[1]
            for e in receiver.events()
            if e["type"].startswith("test_helpers.test_clock.")
        ]
        if statuses[0] == "ready":  # an advance that began before the endpoint existed
            statuses = statuses[1:]
        # advancing, then ready, for each advance: never two advances of a clock at once.
        pairs = len(statuses) // 2
        assert statuses[: 2 * pairs] == ["advancing", "ready"] * pairs and pairs >= 1
        advancing = next(
            e for e in receiver.events() if e["type"] == "test_helpers.test_clock.advancing"
        )
        details = advancing["data"]["object"]["status_details"]["advancing"]
        assert details["target_frozen_time"] == times[0]
        # The rate is bounded: one advance per clock per interval, not one per tick.
        assert len(ready_events()) < 40
        assert ready_events()[0]["data"]["object"]["id"] == clock.id


def test_admin_endpoints() -> None:
    with running_sandbox(seed="admin", extensions=()) as sb:
        platform = sb.http.get("/_sandbox/platform").json()
        assert platform["secret_key"] == sb.platform_key
        assert platform["client_id"].startswith("ca_") and platform["id"].startswith("acct_")
        account = sb.create_account(name="Listed", email="o@x.com", default_currency="EUR")
        listed = {a["id"]: a for a in sb.http.get("/_sandbox/accounts").json()["data"]}
        assert listed[account["id"]]["platform"] == platform["id"]
        fetched = sb.client().v1.accounts.retrieve(account["id"])
        assert fetched.default_currency == "eur" and fetched.email == "o@x.com"
        own = sb.client(account["secret_key"]).v1.accounts.retrieve_current()
        assert own.id == account["id"]
        assert sb.http.get("/_sandbox/health").json() == {"ok": True}
        now = sb.http.get("/_sandbox/clock").json()["now"]
        assert abs(now - time.time()) < 5
        assert sb.http.post("/_sandbox/clock/advance", json={"seconds": -1}).status_code == 400
        bad = sb.http.post("/_sandbox/keys", json={"permissions": {"customers": "all"}})
        assert bad.status_code == 400


def test_cli_arguments() -> None:
    args = parse_args(
        [
            "--port",
            "9999",
            "--seed",
            "demo",
            "--state",
            "s.pickle",
            "--clock-speed",
            "60",
            "--rate-limit",
            "25",
        ]
    )
    config = config_from_args(args)
    assert (config.seed, config.state_file, config.clock_speed, config.rate_limit) == (
        "demo",
        "s.pickle",
        60.0,
        25.0,
    )
    assert config.public_url == "http://127.0.0.1:9999"


async def test_async_helper_and_async_sdk() -> None:
    async with running_sandbox_async(seed="async", extensions=()) as sb:
        client = stripe.StripeClient(
            sb.platform_key,
            base_addresses={"api": sb.url, "connect": sb.url},
            http_client=stripe.HTTPXClient(),
        )
        customer = await client.v1.customers.create_async(params={"email": "as@x.com"})
        found = await client.v1.customers.retrieve_async(customer.id)
        assert found.email == "as@x.com"
        async with httpx.AsyncClient(base_url=sb.url) as http:
            assert (await http.get("/_sandbox/health")).status_code == 200


def test_frozen_sandbox_clock() -> None:
    with running_sandbox(seed="frozen", extensions=(), frozen_time=1_600_000_000) as sb:
        customer = sb.client().v1.customers.create()
        assert customer.created == 1_600_000_000
        sb.http.post("/_sandbox/clock/advance", json={"to": 1_600_000_500})
        assert sb.client().v1.customers.create().created == 1_600_000_500
        with pytest.raises(stripe.InvalidRequestError):
            sb.client().v1.customers.list(params={"created": {"gt": "soon"}})  # type: ignore[typeddict-item]


def test_cli_serves_and_prints_credentials(tmp_path: Path) -> None:
    import socket
    import subprocess
    import sys

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    root = Path(__file__).resolve().parents[2]
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox.cli",
            "--port",
            str(port),
            "--seed",
            "cli",
            "--state",
            str(tmp_path / "state.pickle"),
            "--log-level",
            "warning",
        ],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        lines = [child.stdout.readline() for _ in range(4)]
        key = lines[2].split()[-1]
        assert key.startswith("sk_test_") and lines[3].split()[-1].startswith("ca_")
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 15
        while True:
            try:
                r = httpx.get(f"{url}/v1/customers", auth=(key, ""))
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert r.status_code == 200 and r.json()["object"] == "list"
    finally:
        child.terminate()
        child.wait(timeout=15)
    assert (tmp_path / "state.pickle").exists()  # saved on shutdown


def test_admin_routes_answer_400_on_malformed_json() -> None:
    with running_sandbox(seed="admin-400") as sb:
        posts = [
            "/_sandbox/accounts",
            "/_sandbox/keys",
            "/_sandbox/keys/roll",
            "/_sandbox/clock/advance",
            "/_sandbox/delivery_options",
            "/_sandbox/events/evt_x/resend",
            "/_sandbox/rate_limits",
            "/_sandbox/payment_methods/pm_x/behaviour",
            "/_sandbox/payment_methods/pm_x/automatic_update",
            "/_sandbox/billing/settings",
            "/_sandbox/seed",
        ]
        for path in posts:
            for body in (b'{"rate": ', b"[1, 2]"):
                response = sb.http.post(path, content=body)
                assert response.status_code == 400, (path, body, response.text)
                error = response.json()["error"]
                assert error["type"] == "invalid_request_error" and error["message"], path
        broken = sb.http.post("/_sandbox/keys", content=b'{"permissions": ').json()
        assert broken["error"]["message"].startswith("Malformed JSON body")
        # Well-formed JSON with values of the wrong kind is a 400 too, saying what is wrong.
        for path, body in (
            ("/_sandbox/rate_limits", {"rate": "fast"}),
            ("/_sandbox/keys", {"permissions": ["customers"]}),
            ("/_sandbox/clock/advance", {"seconds": "soon"}),
            ("/_sandbox/delivery_options", {"delay": "later"}),
            ("/_sandbox/seed", {"customers": "many"}),
        ):
            response = sb.http.post(path, json=body)
            assert response.status_code == 400, (path, response.text)
        assert sb.http.post("/_sandbox/rate_limits", json={"rate": 5}).status_code == 200
