"""The hosted Checkout page: ``/_sandbox/checkout/{account}/{session}``.

A plain HTML card form (works in a browser, with ``curl -d`` or from a test that POSTs it).
Paying completes the session (``api_checkout.complete``) and redirects to its ``success_url``
with ``{CHECKOUT_SESSION_ID}`` filled in, as Stripe does; a refused card shows the error and
leaves the session open.
"""

from __future__ import annotations

import html
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from sandbox.billing import api_checkout
from sandbox.billing.pages import _CARD_FORM, _int, _money, _page
from sandbox.context import Ctx
from sandbox.errors import StripeError
from sandbox.state import SandboxState

Obj = dict[str, Any]


class CheckoutPage:
    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        return [Route("/_sandbox/checkout/{account}/{session}", self.page, methods=["GET", "POST"])]

    async def page(self, request: Request) -> Response:
        account = self.state.accounts.get(request.path_params["account"])
        session = account.store.get(request.path_params["session"]) if account else None
        if account is None or session is None or session.get("object") != "checkout.session":
            return _page("Session not found", "<p>This checkout link is not valid.</p>", 404)
        ctx = Ctx(self.state, account, url=str(request.url))
        if session.get("customer"):
            ctx.use_customer(str(session["customer"]))
        api_checkout._expire_if_due(ctx, session)
        if session["status"] != "open":
            return _page(
                "Checkout", f"<p id='status'>This checkout session is {session['status']}.</p>"
            )
        message = ""
        if request.method == "POST":
            form = dict(await request.form())
            try:
                self._pay(ctx, session, form)
            except StripeError as exc:
                message = f"<p class='error'>{html.escape(exc.message)}</p>"
            else:
                target = str(session["success_url"]).replace("{CHECKOUT_SESSION_ID}", session["id"])
                return RedirectResponse(target, status_code=303)
        return _page("Subscribe", self._body(ctx, session, message))

    def _pay(self, ctx: Ctx, session: Obj, form: dict[str, Any]) -> None:
        import datetime

        from sandbox.payment_methods import card_from_number, create_card_payment_method

        today = datetime.datetime.fromtimestamp(ctx.now(), datetime.UTC)
        exp_month, exp_year = _int(form.get("exp_month")), _int(form.get("exp_year"))
        card = card_from_number(
            str(form.get("number", "")), exp_month, exp_year, today.year, today.month
        )
        pm = create_card_payment_method(ctx, card, exp_month=exp_month, exp_year=exp_year)
        api_checkout.complete(ctx, session, pm)

    def _body(self, ctx: Ctx, session: Obj, message: str) -> str:
        rows = []
        for item in ctx.store.hidden_of(session["id"])["line_items"]:
            price = ctx.store.get(item["price"]) or {}
            product = ctx.store.get(str(price.get("product"))) or {}
            recurring = price.get("recurring") or {}
            amount = _money(int(price.get("unit_amount") or 0), str(price.get("currency")))
            name = html.escape(str(product.get("name") or price.get("id")))
            interval = html.escape(str(recurring.get("interval", "")))
            rows.append(
                f"<tr><td class='item'>{name} × {item['quantity']}</td>"
                f"<td>{amount} / {interval}</td></tr>"
            )
        cancel = session.get("cancel_url")
        back = f"<p><a id='cancel' href='{html.escape(cancel)}'>Back</a></p>" if cancel else ""
        total = _money(int(session["amount_total"] or 0), str(session["currency"]))
        return "".join(
            [
                message,
                f"<table><tr><th>Item</th><th>Price</th></tr>{''.join(rows)}</table>",
                f"<p>Total due today: <strong id='total'>{total}</strong></p>",
                _CARD_FORM.format(action="subscribe", label="Subscribe"),
                back,
            ]
        )
