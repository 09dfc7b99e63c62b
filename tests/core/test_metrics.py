"""GET /metrics: Prometheus text with job outcomes, queue lag and email counts, per runtime."""

from __future__ import annotations

import types
from datetime import timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from core import jobs
from core.clock import FrozenClock
from core.contributions import TaskDef
from core.email import send_email
from core.metrics import Metrics, metrics_of
from core.plugins import hookimpl
from core.runtime import Runtime
from core.settings import Settings


async def _ok(workspace_id: int | None, runtime: Runtime) -> None:
    return None


async def _broken(workspace_id: int | None, runtime: Runtime) -> None:
    raise RuntimeError("always")


plugin = types.SimpleNamespace(
    register_tasks=hookimpl(
        lambda: [TaskDef("test.ok", _ok), TaskDef("test.broken", _broken, max_attempts=1)]
    )
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(plugins=())


@pytest.fixture
def extra_plugins() -> list[tuple[str, object]]:
    return [("metrics-test", plugin)]


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def test_metrics_report_jobs_lag_and_email(
    app: object, runtime: Runtime, client: httpx.AsyncClient, clock: FrozenClock, drain
) -> None:
    await jobs.enqueue(runtime, "test.ok", workspace_id=None)
    await jobs.enqueue(runtime, "test.broken", workspace_id=None)
    await send_email(
        runtime, workspace_id=None, to="a@example.com", subject="S", text="t", idempotency_key="k"
    )
    await drain()
    # A job due two minutes ago that nobody ran: lag is measured at scrape time.
    await jobs.enqueue(
        runtime,
        "test.ok",
        workspace_id=None,
        dispatch=False,
        run_after=clock.now() - timedelta(minutes=2),
    )
    metrics = metrics_of(runtime)
    assert metrics is not None
    metrics.webhook_received_total.labels(outcome="stored").inc()
    metrics.webhook_intake_seconds.observe(0.02)

    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = _samples(response.text)
    job = "secondloop_job_outcomes_total"
    assert samples[(job, (("name", "test.ok"), ("status", "done")))] == 1
    assert samples[(job, (("name", "test.broken"), ("status", "failed")))] == 1
    assert samples[(job, (("name", "core.email.deliver"), ("status", "done")))] == 1
    assert samples[("secondloop_emails_total", (("status", "sent"),))] == 1
    assert samples[("secondloop_queue_lag_seconds", ())] == 120
    assert samples[("secondloop_webhook_received_total", (("outcome", "stored"),))] == 1
    assert samples[("secondloop_webhook_intake_seconds_count", ())] == 1


def test_each_runtime_has_its_own_registry() -> None:
    first, second = Metrics(), Metrics()
    first.email("sent")
    assert first.registry is not second.registry
    assert second.emails_total.labels(status="sent")._value.get() == 0


async def test_webhook_intake_is_counted_by_outcome_and_timed(
    app: object, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    from core.events.testing import connected_account, signed, stripe_event
    from core.models import Workspace

    ws = await Workspace.create(name="Shop", slug="shop")
    _, token = await connected_account(runtime, ws.id)
    payload = stripe_event("customer.created", {"object": "customer", "id": "cus_1"})
    for _ in range(2):  # the second is a duplicate delivery
        assert (
            await client.post(f"/webhooks/stripe/{token}", **signed(payload))
        ).status_code == 200
    forged = await client.post(f"/webhooks/stripe/{token}", **signed(payload, "whsec_forged_xx"))
    assert forged.status_code == 400
    assert (await client.post("/webhooks/stripe/nope", **signed(payload))).status_code == 404

    samples = _samples((await client.get("/metrics")).text)
    received = "secondloop_webhook_received_total"
    assert samples[(received, (("outcome", "stored"),))] == 1
    assert samples[(received, (("outcome", "duplicate"),))] == 1
    assert samples[(received, (("outcome", "invalid_signature"),))] == 1
    assert samples[(received, (("outcome", "unknown_endpoint"),))] == 1
    assert samples[("secondloop_webhook_intake_seconds_count", ())] == 2


async def test_an_optional_token_protects_metrics(
    settings: Settings, clock: FrozenClock
) -> None:
    from core.app import Roles, create_app, create_runtime
    from core.plugins import build_plugin_host

    guarded = settings.replace(extra={"SECONDLOOP_METRICS_TOKEN": "scrape-me"})
    runtime = create_runtime(guarded, host=build_plugin_host(()), clock=clock, inline_jobs=True)
    app = create_app(guarded, runtime=runtime, roles=Roles(scheduler=False))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            assert (await http.get("/metrics")).status_code == 401
            wrong = {"Authorization": "Bearer nope"}
            assert (await http.get("/metrics", headers=wrong)).status_code == 401
            right = {"Authorization": "Bearer scrape-me"}
            assert (await http.get("/metrics", headers=right)).status_code == 200
