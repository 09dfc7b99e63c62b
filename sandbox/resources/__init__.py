"""Stripe resources served by the sandbox; :data:`ALL_ROUTES` is what the app mounts.

To add a resource module, give it a ``routes: list[ApiRoute]`` and append it below (routes
with literal segments such as ``/search`` must come before ``/{id}`` routes of the same path).
"""

from __future__ import annotations

from sandbox.resources import (
    accounts,
    catalog,
    coupons,
    customers,
    events,
    payment_methods,
    setup_intents,
    test_clocks,
    webhook_endpoints,
)
from sandbox.routing import ApiRoute

MODULES = [
    customers,
    payment_methods,
    setup_intents,
    catalog,
    coupons,
    webhook_endpoints,
    events,
    test_clocks,
    accounts,
]


def all_routes() -> list[ApiRoute]:
    """Every ApiRoute, from the modules above plus any registered with :func:`add_routes`."""
    routes: list[ApiRoute] = []
    for module in MODULES:
        routes.extend(module.routes)
    routes.extend(EXTRA_ROUTES)
    return routes


EXTRA_ROUTES: list[ApiRoute] = []


def add_routes(routes: list[ApiRoute]) -> None:
    """Register routes from outside this package (the billing engine does this on import)."""
    EXTRA_ROUTES.extend(routes)
