"""The sandbox's billing engine: subscriptions, invoices, payments, disputes, the portal.

``sandbox.app`` imports this package as an extension: ``routes`` are the ``/v1`` endpoints,
``page_routes(state)`` the hosted pages (invoice payment page, billing portal) and the
``/_sandbox/billing`` helpers. Importing the modules also registers their timer handlers
(renewals, retries, dispute deadlines) with ``sandbox.timers``.

Domain modules (no HTTP): ``subscriptions`` (periods, renewals, status), ``invoices``
(shape, finalize, paid/void/uncollectible), ``collection`` (payment attempts, retry
schedule, end states), ``payments`` (intents, charges, refunds), ``disputes``, ``items``
(item changes), ``discounts`` (coupons redeemed as discounts), ``invoice_items`` (pending
one-off charges), ``updater`` (card account updater), ``declines`` (what a card does),
``settings`` (per-account retry settings), ``shapes`` (JSON builders). HTTP: ``signup``,
``api_*`` (``api_invoice_drafts``: one-off invoices), ``pages`` and ``checkout_page``
(Checkout in subscription mode). ``scenario`` drives journeys over HTTP for tests and
rehearsals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.billing import (
    api_checkout,
    api_invoice_drafts,
    api_invoice_items,
    api_invoices,
    api_payments,
    api_portal,
    api_subscriptions,
    collection,
    disputes,
    subscriptions,
)
from sandbox.routing import ApiRoute

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

    from sandbox.state import SandboxState

# Imported for their timer handlers.
_TIMER_MODULES = (collection, disputes, subscriptions)

routes: list[ApiRoute] = [
    *api_subscriptions.routes,
    *api_invoices.routes,
    # After api_invoices: its literal /v1/invoices/search must be matched before /{id}.
    *api_invoice_drafts.routes,
    *api_invoice_items.routes,
    *api_payments.routes,
    *api_portal.routes,
    *api_checkout.routes,
]


def page_routes(state: SandboxState) -> list[BaseRoute]:
    """Hosted pages and sandbox helpers, outside the ``/v1`` pipeline."""
    from sandbox.billing.checkout_page import CheckoutPage
    from sandbox.billing.pages import BillingPages
    from sandbox.seed.routes import SeedRoutes

    return [
        *BillingPages(state).routes(),
        *CheckoutPage(state).routes(),
        *SeedRoutes(state).routes(),
    ]


__all__ = ["page_routes", "routes"]
