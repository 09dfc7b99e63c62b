"""Build seeded businesses: standalone accounts, plans, customers on a test clock, history.

Each business gets one Stripe test clock starting ``history_days`` before the sandbox's
"now". Customers join over the first weeks; what happens to their cards later (a card that
starts declining, the customer updating it, the issuer's account updater, a dispute) is
scheduled as ``seed.action`` timers on that clock. Advancing the clock to "now" then runs the
real billing engine through the whole history in time order — renewals, declines, retries,
end states — so every object and event is exactly what the engine produces live.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from sandbox.accounts import provision_account
from sandbox.billing import api_subscriptions, disputes
from sandbox.billing.api_portal import update_card
from sandbox.billing.declines import message_for
from sandbox.billing.settings import DAY
from sandbox.billing.subscriptions import add_interval
from sandbox.billing.updater import automatically_update
from sandbox.cards import card_for_number
from sandbox.context import Ctx
from sandbox.forms import Params
from sandbox.payment_methods import attach_payment_method, create_card_payment_method, set_behaviour
from sandbox.resources import catalog, customers, test_clocks
from sandbox.scheduler import advance_now
from sandbox.seed import profiles
from sandbox.seed.profiles import Business, Plan
from sandbox.state import Account, SandboxState
from sandbox.timers import Timer, timer_handler

Obj = dict[str, Any]

GOOD_CARDS = ("4242424242424242", "5555555555554444", "4000056655665556", "378282246310005")
NEW_CARDS = ("4242424242424242", "5555555555554444", "6011111111111117")


@dataclass
class BusinessSummary:
    name: str
    account: str
    secret_key: str
    restricted_key: str
    read_only_key: str
    test_clock: str
    customers: int
    counts: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _pick(rng: random.Random, weighted: tuple[tuple[Any, ...], ...]) -> tuple[Any, ...]:
    return rng.choices(weighted, weights=[row[-1] for row in weighted], k=1)[0]


def _handler_ctx(state: SandboxState, account: Account, clock: str) -> Ctx:
    return Ctx(state, account, clock=clock)


def _create_prices(ctx: Ctx, business: Business) -> list[str]:
    price_ids = []
    for plan in business.plans:
        product = catalog.new_product(ctx, Params({"name": plan.name}))
        params = Params(
            {
                "product": product["id"],
                "currency": plan.currency,
                "unit_amount": str(plan.amount),
                "recurring": {"interval": plan.interval},
                "nickname": plan.name,
            }
        )
        price = catalog.new_price(ctx, params)
        price_ids.append(price["id"])
    return price_ids


def _months_between(start: int, end: int) -> int:
    return max(0, int((end - start) / (30.44 * DAY)))


@dataclass
class Journey:
    """One customer's plan for the history: when they join and what happens to their card."""

    index: int
    start: int
    plan: Plan
    price: str
    card: str
    exp: tuple[int, int] | None = None  # card expiry (month, year) when it matters
    trial: bool = False
    actions: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    kind: str = "healthy"


def plan_journeys(
    rng: random.Random, business: Business, prices: list[str], count: int, start: int, now: int
) -> list[Journey]:
    journeys = []
    for index in range(count):
        plan_index = rng.choices(range(len(business.plans)), weights=business.plan_weights)[0]
        plan = business.plans[plan_index]
        joined = start + int(rng.uniform(0, 35) * DAY) + rng.randrange(0, DAY)
        journey = Journey(index, joined, plan, prices[plan_index], rng.choice(GOOD_CARDS))
        journey.trial = rng.random() < profiles.TRIAL_RATE
        _plan_card_story(rng, journey, now)
        journeys.append(journey)
    journeys.sort(key=lambda j: j.start)
    return journeys


def _renewals(journey: Journey, now: int) -> list[int]:
    first = journey.start + (14 * DAY if journey.trial else 0)
    interval = journey.plan.interval
    times: list[int] = []
    k = 0 if journey.trial else 1
    while True:
        at = add_interval(first, interval, k, first) if k else first
        if at >= now:
            return times
        if at > journey.start:
            times.append(at)
        k += 1


def _plan_card_story(rng: random.Random, journey: Journey, now: int) -> None:
    renewals = _renewals(journey, now)
    roll = rng.random()
    # Disputes are rare (one customer in 40) but every demo business must show some, so
    # they go to fixed positions rather than to the roll of the dice.
    disputed = journey.index % round(1 / profiles.DISPUTE_RATE) == 7
    if renewals and disputed:
        at = rng.choice(renewals)
        journey.kind = "disputed"
        reason = rng.choice(
            ("fraudulent", "fraudulent", "product_not_received", "subscription_canceled")
        )
        journey.actions.append((at - DAY, {"action": "dispute", "reason": reason}))
        journey.actions.append((at + 2 * 3600, {"action": "approve"}))
        if rng.random() < 0.6:
            journey.actions.append(
                (
                    at + int(rng.uniform(1, 5) * DAY),
                    {"action": "evidence", "win": rng.random() < 0.6},
                )
            )
    elif renewals and roll < profiles.FAILURE_RATE:
        _plan_failure(rng, journey, renewals)
    elif roll < profiles.FAILURE_RATE + profiles.ABOUT_TO_EXPIRE_RATE:
        journey.kind = "expiring"
        when = add_interval(now, "month", rng.choice((0, 0, 1)), now)
        import datetime

        date = datetime.datetime.fromtimestamp(when, datetime.UTC)
        journey.exp = (date.month, date.year)
    elif rng.random() < profiles.VOLUNTARY_CANCEL_RATE / (1 - profiles.FAILURE_RATE):
        journey.kind = "canceling"
        journey.actions.append(
            (journey.start + int(rng.uniform(20, 90) * DAY), {"action": "cancel"})
        )


def _plan_failure(rng: random.Random, journey: Journey, renewals: list[int]) -> None:
    import datetime

    decline, code, _ = _pick(rng, profiles.DECLINE_MIX)
    at = rng.choice(renewals)
    outcome = _pick(rng, profiles.OUTCOMES)[0]
    if decline == "expired_card":
        month_before = (
            add_interval(at, "month", -1, at) if journey.plan.interval == "month" else at - 20 * DAY
        )
        date = datetime.datetime.fromtimestamp(max(month_before, journey.start), datetime.UTC)
        start_date = datetime.datetime.fromtimestamp(journey.start, datetime.UTC)
        if (date.year, date.month) <= (start_date.year, start_date.month):
            decline, code = "insufficient_funds", "card_declined"
        else:
            journey.exp = (date.month, date.year)
    if decline != "expired_card":
        action = "require_authentication" if decline == "authentication_required" else "decline"
        journey.actions.append(
            (at - DAY, {"action": action, "code": code, "decline_code": decline})
        )
    never_retried = decline in ("authentication_required", "lost_card", "stolen_card")
    if outcome == "retry" and (decline == "expired_card" or never_retried):
        outcome = "card_update"
    if outcome == "card_updater" and decline != "expired_card":
        outcome = "retry" if not never_retried else "card_update"
    journey.kind = f"failed:{decline}:{outcome}"
    recover_at = at + int(rng.uniform(0.3, 12) * DAY)
    if outcome == "retry":
        journey.actions.append((recover_at, {"action": "approve"}))
    elif outcome == "card_update":
        journey.actions.append(
            (recover_at, {"action": "card_update", "number": rng.choice(NEW_CARDS)})
        )
    elif outcome == "card_updater":
        journey.actions.append((at + int(rng.uniform(1, 6) * DAY), {"action": "card_updater"}))


def _join(ctx: Ctx, journey: Journey, rng: random.Random, clock: str) -> tuple[Obj, Obj, Obj]:
    first, last = rng.choice(profiles.FIRST_NAMES), rng.choice(profiles.LAST_NAMES)
    customer = customers.blank_customer(ctx, ctx.new_id("cus"), ctx.now(), clock)
    customer["name"] = f"{first} {last}"
    customer["email"] = f"{first}.{last}.{journey.index}@example.test".lower().replace(" ", "")
    ctx.store.insert(customer)
    ctx.emit("customer.created", customer)
    ctx.use_customer(customer)
    import datetime

    today = datetime.datetime.fromtimestamp(ctx.now(), datetime.UTC)
    month, year = journey.exp or (rng.randint(1, 12), today.year + rng.randint(2, 5))
    pm = create_card_payment_method(
        ctx, card_for_number(journey.card), exp_month=month, exp_year=year
    )
    pm["billing_details"]["name"] = customer["name"]
    pm["billing_details"]["email"] = customer["email"]
    attach_payment_method(ctx, pm["id"], customer)
    previous = {"invoice_settings": dict(customer["invoice_settings"])}
    customer["invoice_settings"]["default_payment_method"] = pm["id"]
    ctx.store.save(customer)
    ctx.emit(
        "customer.updated",
        customer,
        {
            "invoice_settings": {
                "default_payment_method": previous["invoice_settings"]["default_payment_method"]
            }
        },
    )
    params: dict[str, Any] = {"customer": customer["id"], "items": [{"price": journey.price}]}
    if journey.trial:
        params["trial_period_days"] = "14"
    sub_ctx = Ctx(ctx.state, ctx.account, Params(params), clock=clock)
    sub = api_subscriptions.create(sub_ctx)
    return customer, pm, sub


def seed_business(
    state: SandboxState,
    business: Business,
    *,
    customers_count: int,
    seed: str,
    now: int,
    history_days: int,
) -> BusinessSummary:
    rng = random.Random(f"{seed}:{business.name}")
    info = provision_account(
        state,
        name=business.name,
        email=business.email,
        country=business.country,
        currency=business.currency,
        # A business on Stripe is its own account; it reaches a platform only by connecting
        # (OAuth), so its events go to its own endpoints, never to a platform's Connect one.
        connected=False,
    )
    account = state.accounts[info["id"]]
    start = now - history_days * DAY
    ctx = Ctx(state, account, fixed_now=start)
    prices = _create_prices(ctx, business)
    clock_ctx = Ctx(
        state, account, Params({"frozen_time": str(start), "name": f"{business.name} demo"})
    )
    clock = test_clocks.create(clock_ctx)["id"]
    journeys = plan_journeys(rng, business, prices, customers_count, start, now)
    counts: dict[str, int] = {}
    for journey in journeys:
        if journey.start > state.accounts[account.id].store.objects[clock]["frozen_time"]:
            advance_now(state, account.id, clock, journey.start)
        jctx = _handler_ctx(state, account, clock)
        customer, pm, sub = _join(jctx, journey, rng, clock)
        kind = (
            journey.kind.split(":")[0]
            if not journey.kind.startswith("failed")
            else journey.kind.split(":", 2)[2]
        )
        counts[kind] = counts.get(kind, 0) + 1
        for n, (at, action) in enumerate(journey.actions):
            payload = {
                **action,
                "customer": customer["id"],
                "pm": pm["id"],
                "subscription": sub["id"],
            }
            state.timers.schedule(
                account.id, clock, at, "seed.action", f"seed:{customer['id']}:{n}", payload
            )
    advance_now(state, account.id, clock, now)
    return BusinessSummary(
        business.name,
        account.id,
        info["secret_key"],
        info["restricted_key"],
        info["read_only_key"],
        clock,
        customers_count,
        counts,
    )


@timer_handler("seed.action")
def _run_action(ctx: Ctx, timer: Timer) -> None:
    """A scripted change in a seeded customer's life (see :func:`_plan_card_story`)."""
    p = timer.payload
    action = p["action"]
    pm = ctx.store.get(p["pm"])
    customer = ctx.store.get(p["customer"])
    if customer is None:
        return
    if action == "decline":
        set_behaviour(
            ctx,
            p["pm"],
            outcome="decline",
            code=p["code"],
            decline_code=p["decline_code"],
            message=message_for(p["decline_code"]),
        )
    elif action == "require_authentication":
        set_behaviour(
            ctx,
            p["pm"],
            outcome="authentication_required",
            code="authentication_required",
            decline_code="authentication_required",
            message=message_for("authentication_required"),
        )
    elif action == "dispute":
        set_behaviour(ctx, p["pm"], outcome="dispute", dispute_reason=p.get("reason", "fraudulent"))
    elif action == "approve":
        set_behaviour(ctx, p["pm"], outcome="succeed", code=None, decline_code=None, message=None)
    elif action == "card_update":
        import datetime

        year = datetime.datetime.fromtimestamp(ctx.now(), datetime.UTC).year + 3
        update_card(ctx, customer, p["number"], 6, year)
    elif action == "card_updater" and pm is not None:
        automatically_update(ctx, pm)
    elif action == "evidence":
        _submit_evidence(ctx, p)
    elif action == "cancel":
        sub = ctx.store.get(p["subscription"])
        if sub is not None and sub["status"] in ("active", "trialing", "past_due"):
            update_ctx = Ctx(
                ctx.state,
                ctx.account,
                Params({"cancel_at_period_end": "true"}),
                path={"id": sub["id"]},
                clock=ctx.clock,
                fixed_now=ctx.fixed_now,
            )
            api_subscriptions.update(update_ctx)


def _submit_evidence(ctx: Ctx, payload: dict[str, Any]) -> None:
    for key in ctx.store.index_for("charge", "customer", payload["customer"]).keys:
        charge = ctx.store.objects[key[2]]
        if not charge.get("disputed"):
            continue
        for dkey in ctx.store.index_for("dispute", "charge", charge["id"]).keys:
            dispute = ctx.store.objects[dkey[2]]
            if dispute["status"] != "needs_response":
                continue
            text = (
                "Customer logged in 41 times this period; usage logs attached."
                if payload.get("win")
                else "losing_evidence"
            )
            disputes.update(
                ctx,
                dispute,
                Params(
                    {
                        "evidence": {
                            "uncategorized_text": text,
                            "customer_email_address": ctx.store.objects[payload["customer"]][
                                "email"
                            ],
                        }
                    }
                ),
            )
