"""`/r/{token}`: the customer's no-login way back from a recovery email.

At click time it creates a fresh Billing Portal session for a payment-method update (portal
URLs expire within minutes, so an email cannot carry one), or for an authentication decline
sends the customer to the invoice's hosted page, or for a win-back opens a Checkout Session
for the ended subscription's prices; and records the first click on the step.
"""

from __future__ import annotations

import html
import logging

import stripe
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from core.runtime import Runtime
from core.tenancy import workspace_scope
from plugins.recovery import gateway, winback
from plugins.recovery.cases import ACTIVE
from plugins.recovery.links import read_token
from plugins.recovery.lookup import _as_dict
from plugins.recovery.models import Case, CaseKind, CaseStatus, CaseStep

log = logging.getLogger(__name__)


def _page(title: str, message: str, status: int = 200, link: str = "") -> HTMLResponse:
    """A small page for the customer; `link` (already a URL) adds a button-like link."""
    body = (
        "<!doctype html><html lang=en><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width,initial-scale=1'>"
        f"<title>{html.escape(title)}</title>"
        # The app's stylesheet, not inline styles: the Content-Security-Policy forbids those.
        "<link rel=stylesheet href='/static/shell/app.css'>"
        "<main class=narrow>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(message)}</p>"
        + (f"<p><a id=again href='{html.escape(link)}'>Subscribe again</a></p>" if link else "")
        + "</main>"
    )
    return HTMLResponse(body, status_code=status)


async def _portal(runtime: Runtime, stripe_account_id: str, customer_id: str) -> str:
    """A Billing Portal session made now: portal URLs expire within minutes."""
    access = await gateway.access_for(runtime, stripe_account_id)
    session = await access.client.v1.billing_portal.sessions.create_async(
        params={
            "customer": customer_id,
            "flow_data": {"type": "payment_method_update"},
            "return_url": runtime.settings.base_url,
        },
        options=access.options(),
    )
    return str(session.url)


async def _destination(runtime: Runtime, case: Case, token: str, step_id: int) -> str:
    if case.kind == CaseKind.WINBACK:
        # A new subscription for the same prices, in a Checkout Session made now.
        link = f"{runtime.settings.base_url.rstrip('/')}/r/{token}"
        return await winback.checkout_url(
            runtime, case, step_id, f"{link}/welcome", f"{link}?cancelled=1"
        )
    if case.category != "authentication":
        return await _portal(runtime, case.stripe_account_id, case.customer_id)
    access = await gateway.access_for(runtime, case.stripe_account_id)
    found = await access.client.v1.invoices.retrieve_async(
        case.invoice_id, options=access.options()
    )
    return str(_as_dict(found)["hosted_invoice_url"])


def _winback_page(case: Case, request: Request) -> Response | None:
    """A win-back link's own answers; None sends the customer on to a new Checkout."""
    if case.status == CaseStatus.RECOVERED:
        return _page("You're all set", "Your subscription is active again.")
    if case.status == CaseStatus.CANCELLED:
        return _page("This offer has ended", "Please get in touch if you'd like to come back.")
    if request.query_params.get("cancelled"):
        # Back from Checkout without subscribing: no new session until they ask for one.
        base = request.app.state.runtime.settings.base_url.rstrip("/")
        again = f"{base}/r/{request.path_params['token']}"
        return _page("No problem", "Your subscription stays ended for now.", link=again)
    return None  # open, paused or closed by its sequence: a comeback is still welcome


async def follow_link(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    data = read_token(runtime.settings, request.path_params["token"])
    if data is None:
        return _page("This link has expired", "Please use the link in the latest email.", 404)
    if "cu" in data:  # an expiring-card link: no case, straight to the portal
        with workspace_scope(int(data["w"])):
            try:
                target = await _portal(runtime, str(data["a"]), str(data["cu"]))
            except (stripe.StripeError, gateway.NoStripeAccount):
                log.exception("card link for %s could not reach Stripe", data["cu"])
                return _page("Please try again", "We couldn't open the payment page just now.", 503)
        return RedirectResponse(target, status_code=303)
    with workspace_scope(int(data["w"])):
        case = await Case.get_or_none(id=int(data["c"]))
        if case is None:
            return _page("This link has expired", "Please use the link in the latest email.", 404)
        if case.kind == CaseKind.WINBACK:
            answer = _winback_page(case, request)
            if answer is not None:
                return answer
        elif case.status not in ACTIVE:
            return _page("You're all set", "There is nothing left to pay on this invoice.")
        step = await CaseStep.get_or_none(id=int(data["s"]), case_id=case.id)
        if step is not None and "clicked_at" not in step.result:
            clicked = {**step.result, "clicked_at": runtime.now().isoformat()}
            await CaseStep.filter(id=step.id).update(result=clicked)
        try:
            target = await _destination(runtime, case, request.path_params["token"], int(data["s"]))
        except (stripe.StripeError, gateway.NoStripeAccount, KeyError):
            log.exception("recovery link for case %s could not reach Stripe", case.id)
            return _page("Please try again", "We couldn't open the payment page just now.", 503)
    return RedirectResponse(target, status_code=303)


async def welcome(request: Request) -> Response:
    """Where Checkout sends a customer who subscribed again from a win-back email."""
    runtime: Runtime = request.app.state.runtime
    if read_token(runtime.settings, request.path_params["token"]) is None:
        return _page("This link has expired", "Please use the link in the latest email.", 404)
    return _page("Welcome back", "Your subscription is active again. Thank you!")


def routes() -> list[BaseRoute]:
    from plugins.recovery import pages

    return [
        Route("/r/{token}", follow_link, methods=["GET"], name="recovery-link"),
        Route("/r/{token}/welcome", welcome, methods=["GET"], name="recovery-welcome"),
        Route(pages.URL, pages.settings_panel, methods=["GET", "POST"], name="recovery-settings"),
    ]
