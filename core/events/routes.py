"""The routes the event bus serves: the two webhook endpoints and the health panel fragment."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from core.events import intake, pages, panel
from core.runtime import Runtime

WEBHOOK_PREFIX = "/webhooks/stripe/"


def webhook_routes() -> list[Route]:
    """Stripe's two delivery endpoints; the Connect path comes first (`connect` is no token).

    They are in the route table like any other, and also served by the core's machine lane
    (`core.web.middleware.MachineLane`), which skips the browser's middleware for them."""
    return [
        Route(
            "/webhooks/stripe/connect",
            intake.connect_webhook,
            methods=["POST"],
            name="webhook-connect",
        ),
        Route(
            "/webhooks/stripe/{token}",
            intake.account_webhook,
            methods=["POST"],
            name="webhook-account",
        ),
    ]


def routes(runtime: Runtime) -> list[BaseRoute]:
    return [
        *webhook_routes(),
        Route(panel.URL, panel.webhook_health_panel, name="panel-webhook-health"),
        *pages.routes(),
    ]
