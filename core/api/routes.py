"""Routes owned by the email/API/metrics concern, registered in `core.web.routes`."""

from __future__ import annotations

from starlette.routing import BaseRoute

from core import metrics
from core.api import pages
from core.api.app import build_api
from core.email import routes as email_routes
from core.runtime import Runtime


def routes(runtime: Runtime) -> list[BaseRoute]:
    return [
        build_api(runtime),
        *pages.routes(),
        *metrics.routes(runtime),
        *email_routes.routes(runtime),
    ]
