"""A small driver for billing journeys over HTTP, for tests, seeds and rehearsals.

Everything goes through the public API with the real ``stripe`` SDK (and the sandbox's
``/_sandbox`` helpers where Stripe has no API, e.g. making a card start declining), so a
journey built here is exactly what SecondLoop would see from Stripe.

    with running_sandbox(frozen_time=T0) as sb:
        s = Scenario(sb)
        clock = s.clock()
        customer, pm = s.customer(clock)
        sub = s.subscribe(customer, s.price(2000))
        s.decline(pm, "insufficient_funds")
        s.advance(clock, days=31)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.billing.declines import message_for

if TYPE_CHECKING:
    from sandbox.testing import RunningSandbox

DAY = 86_400
Obj = dict[str, Any]


class Scenario:
    def __init__(
        self, sandbox: RunningSandbox, key: str | None = None, account: str | None = None
    ) -> None:
        self.sb = sandbox
        self.key = key or sandbox.platform_key
        self.account = account
        extra = {"stripe_account": account} if account else {}
        self.client = sandbox.client(self.key, **extra)
        self._product: str | None = None

    # -- raw HTTP (JSON exactly as served) ---------------------------------------------

    def headers(self, **extra: str) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.key}", **extra}
        if self.account:
            headers["Stripe-Account"] = self.account
        return headers

    def get(self, path: str, **params: Any) -> Obj:
        response = self.sb.http.get(path, params=params, headers=self.headers())
        body: Obj = response.json()
        return body

    def post(
        self, path: str, data: dict[str, Any] | None = None, *, idempotency_key: str | None = None
    ) -> tuple[int, Obj]:
        extra = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        response = self.sb.http.post(path, data=data or {}, headers=self.headers(**extra))
        body: Obj = response.json()
        return response.status_code, body

    # -- objects -------------------------------------------------------------------------

    def clock(self, frozen_time: int | None = None, name: str | None = None) -> str:
        now = frozen_time if frozen_time is not None else self.sb.state.clock.now()
        params: Obj = {"frozen_time": now}
        if name:
            params["name"] = name
        clock = self.client.v1.test_helpers.test_clocks.create(params=params)
        return str(clock.id)

    def now(self, clock: str) -> int:
        return int(self.client.v1.test_helpers.test_clocks.retrieve(clock).frozen_time)

    def advance(
        self, clock: str, *, days: float = 0, seconds: int = 0, to: int | None = None
    ) -> int:
        """Advance a test clock and wait until everything due on it has run."""
        target = to if to is not None else self.now(clock) + int(days * DAY) + seconds
        self.client.v1.test_helpers.test_clocks.advance(clock, params={"frozen_time": target})
        self.sb.wait_for_clock(self.account, clock, timeout=60)
        return target

    def advance_past_renewal(self, clock: str, subscription: Obj, *, seconds: int = 0) -> int:
        """Advance to `seconds` after the subscription's next renewal, whatever the month's
        length, so a rehearsal's later steps land on the same day of the dunning schedule."""
        renewal = int(subscription["items"]["data"][0]["current_period_end"])
        return self.advance(clock, to=renewal + seconds)

    def price(
        self, amount: int, currency: str = "usd", interval: str = "month", name: str = "Pro"
    ) -> str:
        if self._product is None:
            self._product = str(self.client.v1.products.create(params={"name": name}).id)
        price = self.client.v1.prices.create(
            params={
                "product": self._product,
                "currency": currency,
                "unit_amount": amount,
                "recurring": {"interval": interval},
            }
        )
        return str(price.id)

    def customer(
        self,
        clock: str | None,
        card: str = "pm_card_visa",
        email: str = "customer@example.test",
        name: str | None = None,
    ) -> tuple[str, str]:
        """A customer (on ``clock``) with ``card`` attached as the invoice default."""
        params: Obj = {"email": email}
        if clock:
            params["test_clock"] = clock
        if name:
            params["name"] = name
        customer = self.client.v1.customers.create(params=params)
        pm = self.client.v1.payment_methods.attach(card, params={"customer": customer.id})
        self.client.v1.customers.update(
            customer.id, params={"invoice_settings": {"default_payment_method": pm.id}}
        )
        return str(customer.id), str(pm.id)

    def subscribe(self, customer: str, price: str, **params: Any) -> Obj:
        sub = self.client.v1.subscriptions.create(
            params={"customer": customer, "items": [{"price": price}], **params}
        )
        return self.get(f"/v1/subscriptions/{sub.id}")

    def decline(self, pm: str, decline_code: str, code: str = "card_declined") -> None:
        """From now on charges on ``pm`` decline with ``decline_code`` (the card went bad)."""
        self._behaviour(
            pm,
            {
                "outcome": "decline",
                "code": code,
                "decline_code": decline_code,
                "message": message_for(decline_code),
            },
        )

    def require_authentication(self, pm: str) -> None:
        self._behaviour(
            pm,
            {
                "outcome": "authentication_required",
                "code": "authentication_required",
                "decline_code": "authentication_required",
            },
        )

    def approve(self, pm: str) -> None:
        self._behaviour(
            pm, {"outcome": "succeed", "code": None, "decline_code": None, "message": None}
        )

    def _behaviour(self, pm: str, data: Obj) -> None:
        if self.account:
            data = {**data, "account": self.account}
        response = self.sb.http.post(f"/_sandbox/payment_methods/{pm}/behaviour", json=data)
        response.raise_for_status()

    def settings(self, **changes: Any) -> Obj:
        data = {**changes, **({"account": self.account} if self.account else {})}
        response = self.sb.http.post("/_sandbox/billing/settings", json=data)
        response.raise_for_status()
        result: Obj = response.json()
        return result

    # -- reading -------------------------------------------------------------------------

    def events(self, type_: str | None = None, limit: int = 100) -> list[Obj]:
        """Events oldest first (all pages)."""
        out: list[Obj] = []
        params: Obj = {"limit": limit}
        if type_:
            params["type"] = type_
        while True:
            page = self.get("/v1/events", **params)
            out.extend(page["data"])
            if not page["has_more"]:
                break
            params["starting_after"] = page["data"][-1]["id"]
        out.reverse()
        return out

    def invoices(self, customer: str) -> list[Obj]:
        return list(reversed(self.get("/v1/invoices", customer=customer, limit=100)["data"]))

    def latest_invoice(self, subscription: str) -> Obj:
        sub = self.get(f"/v1/subscriptions/{subscription}")
        return self.get(f"/v1/invoices/{sub['latest_invoice']}")
