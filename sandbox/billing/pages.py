"""Hosted pages (invoice payment page, billing portal) and ``/_sandbox/billing`` helpers.

The pages are plain HTML forms: they work in a browser, with ``curl -d``, or from tests that
POST the form. Like the rest of ``/_sandbox``, nothing here is authenticated: the sandbox
only listens locally, and the ids in the URLs are the capability.
"""

from __future__ import annotations

import html
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from sandbox.admin import answers_400, read_json
from sandbox.billing import api_portal, collection, invoices, payments
from sandbox.billing.settings import save_settings, settings_for
from sandbox.billing.updater import automatically_update
from sandbox.context import Ctx
from sandbox.errors import StripeError
from sandbox.objects import apply_changes
from sandbox.state import Account, SandboxState

Obj = dict[str, Any]

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;color:#1a1f36}"
    "table{border-collapse:collapse;width:100%}"
    "td,th{padding:.3rem;border-bottom:1px solid #ddd;text-align:left}"
    "form{margin:1rem 0}input{margin:.2rem;padding:.3rem}.error{color:#b3093c}.ok{color:#0a7d38}"
)


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>",
        status,
    )


def _money(amount: int, currency: str) -> str:
    return f"{amount / 100:,.2f} {currency.upper()}"


_CARD_FORM = (
    "<form method='post'><input type='hidden' name='action' value='{action}'>"
    "<label>Card number <input name='number' autocomplete='cc-number' required></label><br>"
    "<label>Expiry month <input name='exp_month' size='2' placeholder='MM' "
    "autocomplete='cc-exp-month' required></label> "
    "<label>Expiry year <input name='exp_year' size='4' placeholder='YYYY' "
    "autocomplete='cc-exp-year' required></label> "
    "<label>CVC <input name='cvc' size='4' autocomplete='cc-csc'></label><br>"
    "<button type='submit'>{label}</button></form>"
)


def _int(value: Any) -> int | None:
    if value is None:
        return None
    try:
        return int(str(value))
    except ValueError:
        return None


def _after_completion(session: Obj) -> str:
    """What the flow's ``after_completion`` asks for once the card is updated: a link on to
    the redirect URL (a browser would be sent there), or the custom confirmation message."""
    after = (session.get("flow") or {}).get("after_completion") or {}
    if after.get("type") == "redirect" and after.get("redirect"):
        url = html.escape(str(after["redirect"]["return_url"]))
        return f"<p><a id='continue' href='{url}'>Continue</a></p>"
    confirmation = after.get("hosted_confirmation") or {}
    if confirmation.get("custom_message"):
        return f"<p id='confirmation'>{html.escape(str(confirmation['custom_message']))}</p>"
    return ""


class BillingPages:
    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        return [
            Route("/_sandbox/pay/{account}/{invoice}", self.invoice_page, methods=["GET", "POST"]),
            Route(
                "/_sandbox/portal/{account}/{session}", self.portal_page, methods=["GET", "POST"]
            ),
            Route(
                "/_sandbox/billing/settings", answers_400(self.settings), methods=["GET", "POST"]
            ),
            Route(
                "/_sandbox/payment_methods/{id}/automatic_update",
                answers_400(self.automatic_update),
                methods=["POST"],
            ),
        ]

    def _ctx(self, request: Request, account: Account) -> Ctx:
        return Ctx(self.state, account, url=str(request.url))

    # -- hosted invoice page ---------------------------------------------------------

    async def invoice_page(self, request: Request) -> Response:
        account = self.state.accounts.get(request.path_params["account"])
        invoice = account.store.get(request.path_params["invoice"]) if account else None
        if account is None or invoice is None or invoice.get("object") != "invoice":
            return _page("Invoice not found", "<p>This invoice link is not valid.</p>", 404)
        ctx = self._ctx(request, account)
        ctx.use_customer(str(invoice["customer"]))
        message = ""
        if request.method == "POST":
            form = await request.form()
            message = self._pay_from_page(ctx, invoice, dict(form))
        return _page(
            f"Invoice {invoice.get('number') or invoice['id']}",
            self._invoice_body(ctx, invoice, message),
        )

    def _pay_from_page(self, ctx: Ctx, invoice: Obj, form: dict[str, Any]) -> str:
        if invoice["status"] not in ("open", "uncollectible"):
            return f"<p class='error'>This invoice is {html.escape(invoice['status'])}.</p>"
        intent = invoices.intent_of(ctx, invoice)
        if form.get("action") == "authenticate":
            if intent is None or intent["status"] != "requires_action":
                return "<p class='error'>Nothing to authenticate.</p>"
            charge = payments.complete_authentication(ctx, intent)
            invoices.mark_paid(ctx, invoice, charge)
            collection._after_paid(ctx, invoice)
            return "<p class='ok'>Authentication complete. Payment received, thank you.</p>"
        import datetime

        from sandbox.payment_methods import card_from_number, create_card_payment_method

        today = datetime.datetime.fromtimestamp(ctx.now(), datetime.UTC)
        try:
            card = card_from_number(
                str(form.get("number", "")),
                _int(form.get("exp_month")),
                _int(form.get("exp_year")),
                today.year,
                today.month,
            )
        except StripeError as exc:
            return f"<p class='error'>{html.escape(exc.message)}</p>"
        pm = create_card_payment_method(
            ctx, card, exp_month=_int(form.get("exp_month")), exp_year=_int(form.get("exp_year"))
        )
        result = collection.attempt(ctx, invoice, pm, automatic=False, off_session=False)
        if result is None or result.succeeded:
            return "<p class='ok'>Payment received, thank you.</p>"
        if result.behaviour.requires_action:
            return "<p class='error'>Your bank asks you to authenticate this payment.</p>"
        return f"<p class='error'>{html.escape(str(result.charge.get('failure_message')))}</p>"

    def _invoice_body(self, ctx: Ctx, invoice: Obj, message: str) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(str(line.get('description')))}</td>"
            f"<td>{_money(line['amount'], line['currency'])}</td></tr>"
            for line in invoice["lines"]["data"]
        )
        parts = [
            message,
            f"<p>Status: <strong id='status'>{html.escape(str(invoice['status']))}</strong></p>",
            f"<p>Amount due: <strong>{_money(invoice['amount_due'], invoice['currency'])}</strong>"
            f" · remaining {_money(invoice['amount_remaining'], invoice['currency'])}</p>",
            f"<table><tr><th>Item</th><th>Amount</th></tr>{rows}</table>",
        ]
        intent = invoices.intent_of(ctx, invoice)
        if invoice["status"] in ("open", "uncollectible"):
            if intent is not None and intent["status"] == "requires_action":
                parts.append(
                    "<form method='post'><input type='hidden' name='action' value='authenticate'>"
                    "<button type='submit'>Complete authentication</button></form>"
                )
            parts.append(_CARD_FORM.format(action="pay", label="Pay invoice"))
        return "".join(parts)

    # -- billing portal --------------------------------------------------------------

    async def portal_page(self, request: Request) -> Response:
        account = self.state.accounts.get(request.path_params["account"])
        session = account.store.get(request.path_params["session"]) if account else None
        if account is None or session is None or session.get("object") != "billing_portal.session":
            return _page("Session not found", "<p>This portal link is not valid.</p>", 404)
        ctx = self._ctx(request, account)
        customer = account.store.get(str(session["customer"]))
        if customer is None:
            return _page("Customer not found", "<p>The customer was deleted.</p>", 404)
        ctx.use_customer(customer)
        message = ""
        if request.method == "POST":
            form = dict(await request.form())
            message = self._portal_action(ctx, session, customer, form)
        return _page("Manage your billing", self._portal_body(ctx, session, customer, message))

    def _portal_action(self, ctx: Ctx, session: Obj, customer: Obj, form: dict[str, Any]) -> str:
        action = form.get("action")
        if action == "update_payment_method":
            try:
                _pm, results = api_portal.update_card(
                    ctx,
                    customer,
                    str(form.get("number", "")),
                    _int(form.get("exp_month")),
                    _int(form.get("exp_year")),
                )
            except StripeError as exc:
                return f"<p class='error'>{html.escape(exc.message)}</p>"
            lines = ["<p class='ok'>Payment method updated.</p>", _after_completion(session)]
            for invoice, failure in results:
                number = html.escape(str(invoice.get("number")))
                if failure is None:
                    lines.append(f"<p class='ok'>Invoice {number} paid.</p>")
                else:
                    lines.append(f"<p class='error'>Invoice {number}: {html.escape(failure)}</p>")
            return "".join(lines)
        if action == "cancel_subscription":
            sub = ctx.store.get(str(form.get("subscription")))
            if sub is None or sub.get("customer") != customer["id"]:
                return "<p class='error'>No such subscription.</p>"
            previous = apply_changes(
                sub,
                {
                    "cancel_at_period_end": True,
                    "cancel_at": sub["items"]["data"][0]["current_period_end"],
                    "canceled_at": ctx.now(),
                },
            )
            ctx.store.save(sub)
            ctx.emit("customer.subscription.updated", sub, previous)
            return "<p class='ok'>Your subscription will end at the end of the period.</p>"
        return "<p class='error'>Unknown action.</p>"

    def _portal_body(self, ctx: Ctx, session: Obj, customer: Obj, message: str) -> str:
        pm_id = (customer.get("invoice_settings") or {}).get("default_payment_method")
        pm = ctx.store.get(pm_id) if isinstance(pm_id, str) else None
        card = (pm or {}).get("card") or {}
        current = (
            f"{html.escape(str(card.get('brand')))} •••• {html.escape(str(card.get('last4')))}"
            f" (expires {card.get('exp_month')}/{card.get('exp_year')})"
            if pm
            else "none"
        )
        parts = [
            message,
            f"<p>{html.escape(str(customer.get('name') or customer.get('email') or ''))}</p>",
            f"<p>Payment method: <span id='payment-method'>{current}</span></p>",
            _CARD_FORM.format(action="update_payment_method", label="Update payment method"),
        ]
        rows = []
        for key in reversed(ctx.store.index_for("invoice", "customer", customer["id"]).keys):
            invoice = ctx.store.objects[key[2]]
            if invoice["status"] == "draft":
                continue
            rows.append(
                f"<tr><td>{html.escape(str(invoice.get('number')))}</td>"
                f"<td>{_money(invoice['amount_due'], invoice['currency'])}</td>"
                f"<td class='invoice-status'>{html.escape(invoice['status'])}</td></tr>"
            )
        parts.append(
            "<h2>Invoices</h2><table><tr><th>Number</th><th>Amount</th><th>Status</th></tr>"
            + "".join(rows[:20])
            + "</table>"
        )
        if session.get("return_url"):
            parts.append(
                f"<p><a id='return' href='{html.escape(session['return_url'])}'>Return</a></p>"
            )
        return "".join(parts)

    # -- /_sandbox helpers ---------------------------------------------------------------

    def _account_from(self, data: dict[str, Any]) -> Account | None:
        return self.state.accounts.get(str(data.pop("account", self.state.platform_id)))

    async def settings(self, request: Request) -> Response:
        """GET (``?account=``) or POST a JSON object of changes: the account's retry settings."""
        data: dict[str, Any] = dict(request.query_params)
        if request.method == "POST":
            data.update(await read_json(request))
        account = self._account_from(data)
        if account is None:
            return JSONResponse(
                {"error": {"type": "invalid_request_error", "message": "No such account"}}, 404
            )
        current = settings_for(account.store.hidden)
        if request.method == "POST":
            try:
                current = current.updated(data)
            except (ValueError, TypeError) as exc:
                return JSONResponse(
                    {"error": {"type": "invalid_request_error", "message": str(exc)}}, 400
                )
            save_settings(account.store.hidden, current)
        return JSONResponse({"account": account.id, **current.to_json()})

    async def automatic_update(self, request: Request) -> Response:
        """Simulate the card account updater: new expiry (and optionally last4) for a card,
        ``payment_method.automatically_updated``; the card then charges successfully."""
        data = await read_json(request)
        account = self._account_from(data)
        pm = account.store.get(request.path_params["id"]) if account else None
        if account is None or pm is None or pm.get("object") != "payment_method":
            return JSONResponse(
                {"error": {"type": "invalid_request_error", "message": "No such payment method"}},
                404,
            )
        automatically_update(
            Ctx(self.state, account),
            pm,
            exp_month=_int(data.get("exp_month")),
            exp_year=_int(data.get("exp_year")),
            last4=str(data["last4"]) if data.get("last4") else None,
            keep_behaviour=data.get("keep_behaviour") is True,
        )
        return JSONResponse(pm)
