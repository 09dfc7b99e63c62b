"""The diagnostic against a seeded sandbox: every figure equals a direct computation."""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import stripe

from plugins.audit.diagnostic import run_diagnostic
from plugins.audit.diagnostic.reader import StripeReader
from sandbox.seed import seed_scenario
from sandbox.testing import RunningSandbox, running_sandbox
from tests.plugins.audit.conftest import snapshot
from tests.plugins.audit.truth import findings, of_type, truth


def _pages(n: int) -> int:
    return max(1, math.ceil(n / 100))


def in_slices(objects: list[dict[str, Any]], kind: str, since: int, reference: int) -> int:
    """Pages of a list read in four time slices (the last one open-ended)."""
    step = (reference - since) // 4
    bounds = [since + i * step for i in range(4)] + [None]
    total = 0
    for low, high in itertools.pairwise(bounds):
        total += _pages(
            sum(
                1
                for o in of_type(objects, kind)
                if o["created"] >= low and (high is None or o["created"] < high)
            )
        )
    return total


def minimum_calls(objects: list[dict[str, Any]], since: int, reference: int) -> int:
    """One call per list page: clocks, then invoices and charges (in time slices), disputes,
    and subscriptions and customers both off-clock and per clock."""
    clocks = [c["id"] for c in of_type(objects, "test_helpers.test_clock")]
    subs = of_type(objects, "subscription")
    customers = of_type(objects, "customer")
    total = _pages(len(clocks))
    total += in_slices(objects, "invoice", since, reference)
    total += in_slices(objects, "charge", since, reference)
    total += _pages(len(of_type(objects, "dispute")))
    for clock in [None, *clocks]:
        total += _pages(sum(1 for s in subs if s.get("test_clock") == clock))
        total += _pages(sum(1 for c in customers if c.get("test_clock") == clock))
    return total


@pytest.mark.parametrize("index", [0, 1])
async def test_every_figure_equals_a_direct_computation(seeded: Any, index: int) -> None:
    sb, summary = seeded
    business = summary.businesses[index]
    reader = StripeReader(sb.client(business.read_only_key), rate=1000)  # a read-only key
    results = await run_diagnostic(reader, now=int(time.time()))
    objects = snapshot(sb, business.account)
    t = truth(objects)
    assert_not_trivial(t)

    assert (results["reference_time"], results["since"]) == (t["reference"], t["since"])
    assert results["invoices_in_period"] == t["invoices_in_period"]
    assert results["failed_invoices"] == t["failed_invoices"]
    cards = results["expiring_cards"]
    assert {k: v for k, v in cards.items() if k != "advisory"} == t["expiring_cards"]
    assert (cards["advisory"] is not None) == (cards["expired_not_refreshed"]["count"] > 0)
    assert results["disputes"] == t["disputes"]
    health = results["health"]
    assert {k: v for k, v in health.items() if k != "findings"} == t["health"]
    assert [(f["code"], f["severity"], f["count"]) for f in health["findings"]] == findings(
        t["health"]
    )

    # The minimum is one call per page of 100; nothing is fetched object by object.
    assert reader.calls == minimum_calls(objects, t["since"], t["reference"])
    assert results["summary"] and all(isinstance(line, str) for line in results["summary"])


def assert_not_trivial(t: dict[str, Any]) -> None:
    """The seed holds every case the figures distinguish (tests/plugins/audit/seed.py)."""
    failed, cards, disputes, health = (
        t[k] for k in ("failed_invoices", "expiring_cards", "disputes", "health")
    )
    assert all(bucket["count"] for bucket in failed["by_fate"].values()), failed["by_fate"]
    assert len(failed["by_category"]) >= 2 and failed["max_attempt_count"] >= 2
    assert failed["lost"]["count"] and failed["recoverable"]["count"] and failed["mrr_exposed"]
    assert failed["recovered_by_retries"]["count"] + failed["recovered_by_customer"]["count"]
    assert failed["in_retry"]["count"] and health["retries"]["open_with_retry_scheduled"]
    assert cards["without_card"] and cards["count"] and cards["expired_not_refreshed"]["count"]
    assert disputes["needs_response"] and disputes["nearest_deadlines"]
    assert disputes["win_rate"] is not None
    assert health["trialing"]["count"] and health["unpaid"]["count"]
    assert health["past_due_without_retry"] and health["customers_without_email"]
    assert health["send_invoice_subscriptions"]
    assert len(health["mrr"]) == 2  # two currencies


async def test_a_clock_nobody_lives_on_does_not_move_the_window(seeded: Any) -> None:
    sb, summary = seeded
    business = summary.businesses[0]  # the seed gave it a stray clock, 40 days ahead
    results = await run_diagnostic(
        StripeReader(sb.client(business.read_only_key), rate=1000), now=0
    )
    clocks = {
        c["id"]: c["frozen_time"]
        for c in of_type(snapshot(sb, business.account), "test_helpers.test_clock")
    }
    assert len(results["test_clocks"]) == len(clocks) == 2
    assert results["reference_time"] == clocks[business.test_clock] < max(clocks.values())


async def test_rate_limits_are_survived(seeded: Any) -> None:
    sb, summary = seeded
    business = summary.businesses[1]
    key = business.read_only_key
    baseline = await run_diagnostic(StripeReader(sb.client(key), rate=1000), now=0)
    sb.http.post("/_sandbox/rate_limits", json={"key": key, "rate": 3}).raise_for_status()
    try:
        # No SDK retries: the reader itself must wait and try again.
        reader = StripeReader(sb.client(key, max_network_retries=0), rate=1000, concurrency=4)
        limited = await run_diagnostic(reader, now=0)
    finally:
        sb.http.post("/_sandbox/rate_limits", json={"key": key, "rate": None})
    assert reader.rate_limited > 0
    assert {k: v for k, v in limited.items() if k != "calls"} == {
        k: v for k, v in baseline.items() if k != "calls"
    }


async def test_a_killed_run_resumes_without_counting_twice(seeded: Any) -> None:
    sb, summary = seeded
    key = summary.businesses[0].read_only_key
    whole = await run_diagnostic(StripeReader(sb.client(key), rate=1000), now=0)

    class Killed(Exception):
        pass

    checkpoint: dict[str, Any] = {}
    pages = 0

    async def die_after_three(saved: dict[str, Any]) -> None:
        nonlocal pages
        pages += 1
        if pages == 3:
            raise Killed

    with pytest.raises(ExceptionGroup) as killed:
        await run_diagnostic(
            StripeReader(sb.client(key), rate=1000, concurrency=1),
            now=0,
            checkpoint=checkpoint,
            on_progress=die_after_three,
        )
    assert killed.group_contains(Killed)
    assert checkpoint["streams"]
    reader = StripeReader(sb.client(key), rate=1000)
    resumed = await run_diagnostic(reader, now=0, checkpoint=checkpoint)
    assert reader.calls < whole["calls"]  # it picked up where it stopped
    assert {k: v for k, v in resumed.items() if k != "calls"} == {
        k: v for k, v in whole.items() if k != "calls"
    }


@pytest.fixture(scope="module")
def connected_business() -> Iterator[tuple[RunningSandbox, Any, dict[str, Any]]]:
    """A seeded business of its own that connects to the platform by OAuth, as on Stripe
    (seeded businesses are standalone accounts). Yields the sandbox, the business and the
    token answer."""
    with running_sandbox(seed="audit-connect") as sb:
        summary = sb.call(lambda: seed_scenario(sb.state, "demo-small", customers=10))
        business = summary.businesses[0]
        platform = sb.client(sb.platform_key)
        url = platform.oauth.authorize_url(
            {"scope": "read_only", "redirect_uri": "http://127.0.0.1/callback", "state": "s"}
        )
        code = parse_qs(urlsplit(sb.authorize(url, account=business.account)).query)["code"][0]
        token = platform.oauth.token({"grant_type": "authorization_code", "code": code})
        assert token.stripe_user_id == business.account
        yield sb, business, token.to_dict()


async def test_connect_access_reads_the_same_account(connected_business: Any) -> None:
    """An OAuth connection reads the same account with the platform key and `Stripe-Account`,
    and with the access token Stripe issued."""
    sb, business, token = connected_business
    direct = await run_diagnostic(StripeReader(sb.client(business.read_only_key), rate=1000), now=0)
    assert direct["calls"] > 0 and direct != {}
    connect = StripeReader(
        sb.client(sb.platform_key), {"stripe_account": business.account}, rate=1000
    )
    through_platform = await run_diagnostic(connect, now=0)
    assert through_platform == direct
    with_token = await run_diagnostic(
        StripeReader(sb.client(token["access_token"]), rate=1000), now=0
    )
    assert with_token == direct


async def test_a_standalone_business_is_not_reachable_through_the_platform(seeded: Any) -> None:
    sb, summary = seeded
    reader = StripeReader(
        sb.client(sb.platform_key), {"stripe_account": summary.businesses[1].account}, rate=1000
    )
    # The test clocks' refusal reads as "no clocks" (an optional permission); the next lists
    # are refused too, and that fails the run.
    with pytest.raises(ExceptionGroup) as refused:
        await run_diagnostic(reader, now=0)
    assert refused.group_contains(stripe.PermissionError, match="does not have access to account")
