"""The core's own contributions, made through the same hooks a plugin uses."""

from __future__ import annotations

from core.contributions import ApiRoute, ModelApp, Panel, Schedule, StripeEventHandler, TaskDef
from core.plugins import hookimpl


@hookimpl
def register_models() -> list[ModelApp]:
    return [ModelApp(label="core", models=["core.models"], migrations="migrations.core")]


@hookimpl
def register_stripe_handlers() -> list[StripeEventHandler]:
    from core.events.clocks import clock_handlers
    from core.stripe.handlers import stripe_handlers

    return stripe_handlers() + clock_handlers()


@hookimpl
def register_tasks() -> list[TaskDef]:
    from core.email.delivery import MAX_ATTEMPTS, REQUEUE_TASK, TASK, deliver, requeue
    from core.stripe.webhook_setup import RETIRE_TASK, retire_expired

    # The email row keeps its own retry budget (RetryLater); the job only needs headroom.
    return [
        TaskDef(TASK, deliver, max_attempts=MAX_ATTEMPTS + 2),
        TaskDef(REQUEUE_TASK, requeue),
        TaskDef(RETIRE_TASK, retire_expired),
    ]


@hookimpl
def register_schedules() -> list[Schedule]:
    return [
        Schedule(
            "core.email.requeue",
            task="core.email.requeue",
            cron="*/5 * * * *",
            description="Re-enqueue email whose delivery job was lost",
        ),
        Schedule(
            "core.stripe.retire_webhook_secrets",
            task="core.stripe.retire_webhook_secrets",
            cron="*/15 * * * *",
            description="End webhook secret grace windows: forget old secrets, delete "
            "the endpoints kept for them",
        ),
    ]


@hookimpl
def register_api_routes() -> list[ApiRoute]:
    from core.email.api import api_routes as email_api
    from core.events.api import api_routes
    from core.schedule_status import api_routes as schedule_api

    return [*api_routes(), *email_api(), *schedule_api()]


@hookimpl
def dashboard_panels() -> list[Panel]:
    from core.events.panel import PANEL

    return [PANEL]
