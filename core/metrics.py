"""Prometheus metrics: one CollectorRegistry per runtime (no process globals), served at /metrics.

Other modules reach the instruments through `runtime.services["metrics"]` (a `Metrics`), e.g.
`metrics.webhook_received_total.labels(outcome="stored").inc()`.
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from core.clock import monotonic
from core.runtime import Runtime

SERVICE = "metrics"
TOKEN_SETTING = "SECONDLOOP_METRICS_TOKEN"
# Every `outcome` label of secondloop_webhook_received_total: how a delivery was accepted, else
# the intake's error code (core/events/intake.py); http_<status> for an answer without one.
ACCEPTED_OUTCOMES = ("stored", "duplicate", "orphaned")
REJECTED_OUTCOMES = (
    "invalid_signature", "unknown_endpoint", "no_secret", "not_configured", "no_account",
    "body_too_large", "invalid_body", "malformed_json", "not_an_event", "not_stored",
)  # fmt: skip
INTAKE_OUTCOMES = (*ACCEPTED_OUTCOMES, *REJECTED_OUTCOMES, "http_<status>")


class Metrics:
    """The instruments every part of SecondLoop reports to."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._received: dict[str, Any] = {}
        self._job_outcomes: dict[tuple[str, str], Any] = {}
        self.webhook_received_total = Counter(
            "secondloop_webhook_received_total",
            "Stripe webhook deliveries by outcome: " + ", ".join(INTAKE_OUTCOMES) + ".",
            ["outcome"],
            registry=self.registry,
        )
        self.orphaned_events = Gauge(
            "secondloop_orphaned_events",
            "Events recorded for no workspace, computed at scrape time, by account: unknown "
            "(no workspace ever connected it) or revoked (connected once, no live connection).",
            ["account"],
            registry=self.registry,
        )
        self.webhook_intake_seconds = Histogram(
            "secondloop_webhook_intake_seconds",
            "Time from request to 2xx for a webhook delivery.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=self.registry,
        )
        self.job_outcomes_total = Counter(
            "secondloop_job_outcomes_total",
            "Finished jobs (tasks and Stripe event handlers) by name and final status.",
            ["name", "status"],
            registry=self.registry,
        )
        self.queue_lag_seconds = Gauge(
            "secondloop_queue_lag_seconds",
            "Age of the oldest due pending job, computed at scrape time (0 when none).",
            registry=self.registry,
        )
        self.emails_total = Counter(
            "secondloop_emails_total",
            "Outbound email outcomes (sent, failed, suppressed, deferred, retried).",
            ["status"],
            registry=self.registry,
        )

    def webhook_received(self, outcome: str) -> None:
        # One child per outcome, looked up once: `labels()` locks and hashes on every call.
        child = self._received.get(outcome)
        if child is None:
            child = self._received[outcome] = self.webhook_received_total.labels(outcome=outcome)
        child.inc()

    def job_outcome(self, name: str, status: str) -> None:
        key = (name, str(status))
        child = self._job_outcomes.get(key)
        if child is None:
            child = self._job_outcomes[key] = self.job_outcomes_total.labels(*key)
        child.inc()

    def email(self, status: str) -> None:
        self.emails_total.labels(status=str(status)).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


def install(runtime: Runtime) -> None:
    runtime.services[SERVICE] = Metrics()


def metrics_of(runtime: Runtime) -> Metrics | None:
    found = runtime.services.get(SERVICE)
    return found if isinstance(found, Metrics) else None


async def queue_lag(runtime: Runtime) -> float:
    """Seconds the oldest due pending job has been waiting past its run_after."""
    from core.models.events import Job, JobStatus
    from core.tenancy import unscoped

    now = runtime.now()
    with unscoped():
        oldest = (
            await Job.filter(status=JobStatus.PENDING, run_after__lte=now)
            .order_by("run_after")
            .first()
            .values_list("run_after", flat=True)
        )
    if oldest is None:
        return 0.0
    return max((now - oldest).total_seconds(), 0.0)


Endpoint = Callable[[Request], Awaitable[Response]]


def _intake_outcome(response: Response) -> str:
    """One of INTAKE_OUTCOMES: `stored`, `duplicate` (already stored), `orphaned` (stored for no
    workspace), or the intake's error code — which the intake's answers carry as `outcome`."""
    named = getattr(response, "outcome", None)
    return named if isinstance(named, str) else f"http_{response.status_code}"


def observe_intake(endpoint: Endpoint) -> Endpoint:
    """Count a webhook endpoint's deliveries by outcome and time the accepted ones."""

    @functools.wraps(endpoint)
    async def observed(request: Request) -> Response:
        started = monotonic()
        response = await endpoint(request)
        metrics = metrics_of(request.app.state.runtime)
        if metrics is not None:
            metrics.webhook_received(_intake_outcome(response))
            if response.status_code < 300:
                metrics.webhook_intake_seconds.observe(monotonic() - started)
        return response

    return observed


def routes(runtime: Runtime) -> list[BaseRoute]:
    token = runtime.settings.extra.get(TOKEN_SETTING, "")

    async def metrics_endpoint(request: Request) -> Response:
        # Optional: with SECONDLOOP_METRICS_TOKEN set, scrapers send it as a bearer token.
        if token and not hmac.compare_digest(
            request.headers.get("authorization", ""), f"Bearer {token}"
        ):
            return Response(
                "unauthorized\n",
                401,
                media_type="text/plain",
                headers={"WWW-Authenticate": "Bearer"},
            )
        metrics = metrics_of(runtime)
        if metrics is None:
            return Response("metrics are not installed\n", 503, media_type="text/plain")
        metrics.queue_lag_seconds.set(await queue_lag(runtime))
        from core.events.health import orphan_counts

        for account, count in (await orphan_counts()).items():
            metrics.orphaned_events.labels(account=account).set(count)
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    return [Route("/metrics", metrics_endpoint, methods=["GET"])]
