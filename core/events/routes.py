"""The routes the event bus serves: the two webhook endpoints and the health panel fragment."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from core.events import intake, pages, panel
from core.runtime import Runtime


def routes(runtime: Runtime) -> list[BaseRoute]:
    # The Connect path comes first: `connect` is not a token.
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
        Route(panel.URL, panel.webhook_health_panel, name="panel-webhook-health"),
        *pages.routes(),
    ]
