"""Seeded scenarios: deterministic, realistic in their mix, served over HTTP, conformant."""

from __future__ import annotations

import collections
import datetime
from typing import Any

from sandbox.app import create_app
from sandbox.config import SandboxConfig
from sandbox.conformance import check_object
from sandbox.seed import seed_scenario
from sandbox.seed.profiles import BUSINESSES
from sandbox.state import SandboxState
from sandbox.testing import running_sandbox

NOW = 1_767_225_600
DAY = 86_400
Obj = dict[str, Any]


def _seeded(seed: str = "demo", customers: int = 200) -> SandboxState:
    app = create_app(SandboxConfig(seed=seed, frozen_time=NOW))
    state: SandboxState = app.state.sandbox
    seed_scenario(state, "demo", customers=customers)
    return state


def _objects(state: SandboxState, kind: str) -> list[Obj]:
    return [
        o
        for account in state.accounts.values()
        for o in account.store.objects.values()
        if o["object"] == kind
    ]


def _fingerprint(state: SandboxState) -> list[tuple[str, str, Any]]:
    rows = []
    for account in state.accounts.values():
        for obj in account.store.objects.values():
            rows.append((obj["id"], obj["object"], obj.get("status") or obj.get("type")))
    return sorted(rows)


def test_same_seed_same_world_other_seed_other_world() -> None:
    first, second = _seeded(customers=30), _seeded(customers=30)
    assert _fingerprint(first) == _fingerprint(second)
    assert _fingerprint(_seeded(seed="other", customers=30)) != _fingerprint(first)


def test_businesses_history_and_realistic_failure_mix() -> None:
    state = _seeded(customers=200)
    seeded = [a for a in state.accounts.values() if not a.is_platform]
    # Standalone businesses, as on Stripe: reached by their own keys, not by the platform's.
    assert all(a.platform is None and a.scope is None for a in seeded)
    assert sorted(a.obj["settings"]["dashboard"]["display_name"] for a in seeded) == sorted(
        b.name for b in BUSINESSES
    )
    customers = _objects(state, "customer")
    assert len(customers) == 200
    assert all(c["test_clock"] for c in customers)  # demo customers live on test clocks
    currencies = {s["currency"] for s in _objects(state, "subscription")}
    assert {"usd", "eur", "gbp"} <= currencies
    intervals = {s["items"]["data"][0]["plan"]["interval"] for s in _objects(state, "subscription")}
    assert intervals == {"month", "year"}

    events = _objects(state, "event")
    assert min(e["created"] for e in events) <= NOW - 120 * DAY
    assert max(e["created"] for e in events) <= NOW

    reasons = collections.Counter(
        c["outcome"]["reason"] for c in _objects(state, "charge") if c["status"] == "failed"
    )
    top = reasons.most_common()
    assert top[0][0] == "insufficient_funds"
    assert {"generic_decline", "do_not_honor", "expired_card"} <= set(reasons)
    assert reasons["insufficient_funds"] > reasons["do_not_honor"] >= 1
    assert (
        reasons.get("lost_card", 0) + reasons.get("stolen_card", 0) + reasons.get("fraudulent", 0)
        < reasons["insufficient_funds"] / 4
    )

    invoices = _objects(state, "invoice")
    retried_and_paid = [i for i in invoices if i["status"] == "paid" and i["attempt_count"] > 1]
    assert retried_and_paid  # recovered by a retry or a card update
    card_updates = [
        e
        for e in events
        if e["type"] == "customer.updated"
        and e["data"]["object"]["created"] < e["created"] - DAY  # not the sign-up default
    ]
    assert card_updates  # recovered by a new card
    lost = [
        s
        for s in _objects(state, "subscription")
        if s["status"] == "canceled" and s["cancellation_details"]["reason"] == "payment_failed"
    ]
    assert lost
    assert [i for i in invoices if i["status"] == "open"]  # journeys still in progress
    assert _objects(state, "dispute")
    about_to_expire = [
        pm
        for pm in _objects(state, "payment_method")
        if _months_from_now(pm["card"]["exp_month"], pm["card"]["exp_year"]) in (0, 1)
    ]
    assert about_to_expire


def _months_from_now(month: int, year: int) -> int:
    now = datetime.datetime.fromtimestamp(NOW, datetime.UTC)
    return (year - now.year) * 12 + month - now.month


def test_seed_over_http_and_seeded_objects_conform() -> None:
    with running_sandbox(seed="seed-http", frozen_time=NOW) as sb:
        assert sb.http.get("/_sandbox/seed").status_code == 404
        response = sb.http.post("/_sandbox/seed", json={"scenario": "demo", "customers": 16})
        assert response.status_code == 200
        summary = response.json()
        assert sb.http.get("/_sandbox/seed").json() == summary
        assert sb.http.post("/_sandbox/seed", json={"scenario": "nope"}).status_code == 400
        business = summary["businesses"][0]
        client = sb.client(business["restricted_key"])
        invoices = client.v1.invoices.list(params={"limit": 100})
        assert invoices.data
        headers = {"Authorization": f"Bearer {business['secret_key']}"}
        errors: list[str] = []
        for path in (
            "/v1/invoices",
            "/v1/subscriptions",
            "/v1/charges",
            "/v1/events",
            "/v1/disputes",
        ):
            params: dict[str, Any] = {"limit": 100}
            if path == "/v1/subscriptions":
                params["status"] = "all"
            body = sb.http.get(path, params=params, headers=headers).json()
            errors.extend(f"{path}: {e}" for e in check_object(body))
        clock = sb.http.get(
            f"/v1/test_helpers/test_clocks/{business['test_clock']}", headers=headers
        ).json()
        assert clock["frozen_time"] == NOW
        customers = sb.http.get(
            "/v1/customers", params={"test_clock": business["test_clock"]}, headers=headers
        ).json()
        assert len(customers["data"]) == business["customers"]
        assert not errors, "\n".join(errors[:40])


def test_clock_speed_keeps_the_seeded_world_moving() -> None:
    # 2 days of test-clock time per real second, ticking often: the seeded clocks move on
    # through the ordinary advance, and the engine keeps billing.
    with running_sandbox(
        seed="seed-speed",
        frozen_time=NOW,
        clock_speed=2 * DAY,
        tick_interval=0.02,
        clock_advance_interval=0.1,
    ) as sb:
        summary = sb.http.post("/_sandbox/seed", json={"scenario": "demo", "customers": 12}).json()
        business = summary["businesses"][0]
        store = sb.state.accounts[business["account"]].store
        due = sb.call(lambda: sb.state.timers.pending(business["account"], business["test_clock"]))
        assert due, "the seeded world has nothing scheduled"
        first = due[0].at
        sb.wait_for(
            lambda: store.objects[business["test_clock"]]["frozen_time"] > first, timeout=30
        )
        headers = {"Authorization": f"Bearer {business['secret_key']}"}
        later = sb.http.get(
            "/v1/events", params={"created[gt]": NOW, "limit": 100}, headers=headers
        ).json()
        assert later["data"], "no billing happened after the seeded history"


def test_every_seeded_object_and_event_conforms() -> None:
    state = _seeded(customers=60)
    errors: list[str] = []
    kinds: set[str] = set()
    for account in state.accounts.values():
        for obj in account.store.objects.values():
            kinds.add(obj["object"])
            errors.extend(f"{obj['id']}: {e}" for e in check_object(obj))
    assert not errors, "\n".join(errors[:40])
    assert {"invoice", "charge", "dispute", "event", "subscription", "invoice_payment"} <= kinds
