"""Every route the core serves, assembled from the modules that own them."""

from __future__ import annotations

from starlette.routing import BaseRoute

from core import ops
from core.api import routes as api_routes
from core.events import routes as event_routes
from core.runtime import Runtime
from core.stripe import routes as stripe_routes
from core.web import pages as web_pages


def core_routes(runtime: Runtime) -> list[BaseRoute]:
    # The webhook endpoints first: Starlette tries routes in order, and Stripe's deliveries
    # are the hottest path (their paths overlap no other route).
    routes: list[BaseRoute] = list(event_routes.routes(runtime))
    routes.extend(ops.routes(runtime))
    routes.extend(stripe_routes.routes(runtime))
    routes.extend(web_pages.routes(runtime))
    routes.extend(api_routes.routes(runtime))
    return routes
