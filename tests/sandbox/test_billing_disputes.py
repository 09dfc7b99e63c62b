"""Disputes: opened by ``pm_card_createDispute`` charges, evidence staged and submitted, decided."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.billing.scenario import DAY, Scenario
from sandbox.testing import running_sandbox

T0 = 1_767_225_600


@pytest.fixture
def s() -> Iterator[Scenario]:
    with running_sandbox(seed="disputes", frozen_time=T0) as sb:
        yield Scenario(sb)


def _disputed(s: Scenario) -> tuple[str, dict]:
    clock = s.clock(T0)
    customer, _ = s.customer(clock, card="pm_card_createDispute")
    sub = s.subscribe(customer, s.price(8000))
    assert sub["status"] == "active"
    created = s.events("charge.dispute.created")
    assert len(created) == 1
    return clock, created[0]["data"]["object"]


def test_dispute_is_created_with_evidence_due_and_funds_withdrawn(s: Scenario) -> None:
    _clock, dispute = _disputed(s)
    assert dispute["status"] == "needs_response" and dispute["reason"] == "fraudulent"
    assert dispute["amount"] == 8000
    details = dispute["evidence_details"]
    assert details["due_by"] == T0 + 7 * DAY
    assert details == {**details, "has_evidence": False, "submission_count": 0, "past_due": False}
    withdrawn = s.events("charge.dispute.funds_withdrawn")
    assert len(withdrawn) == 1
    txn = withdrawn[0]["data"]["object"]["balance_transactions"][0]
    assert txn["amount"] == -8000 and txn["reporting_category"] == "dispute"
    assert s.get(f"/v1/charges/{dispute['charge']}")["disputed"] is True
    assert [d["id"] for d in s.get("/v1/disputes", charge=dispute["charge"])["data"]] == [
        dispute["id"]
    ]


def test_stage_submit_and_win(s: Scenario) -> None:
    clock, dispute = _disputed(s)
    status, staged = s.post(
        f"/v1/disputes/{dispute['id']}",
        {"evidence[uncategorized_text]": "Customer used the service all month.", "submit": "false"},
    )
    assert status == 200
    assert staged["status"] == "needs_response"
    assert staged["evidence"]["uncategorized_text"] == "Customer used the service all month."
    assert staged["evidence_details"]["has_evidence"] is True
    assert staged["evidence_details"]["submission_count"] == 0
    status, submitted = s.post(f"/v1/disputes/{dispute['id']}", {"evidence[customer_name]": "Ada"})
    assert status == 200 and submitted["status"] == "under_review"
    assert submitted["evidence_details"]["submission_count"] == 1
    updates = s.events("charge.dispute.updated")
    assert updates[-1]["data"]["previous_attributes"]["status"] == "needs_response"
    status, _body = s.post(f"/v1/disputes/{dispute['id']}", {"evidence[customer_name]": "again"})
    assert status == 400
    s.advance(clock, days=11)
    won = s.get(f"/v1/disputes/{dispute['id']}")
    assert won["status"] == "won"
    assert [t["amount"] for t in won["balance_transactions"]] == [-8000, 8000]
    assert s.events("charge.dispute.funds_reinstated")
    assert s.events("charge.dispute.closed")[-1]["data"]["object"]["status"] == "won"


def test_losing_evidence_loses(s: Scenario) -> None:
    clock, dispute = _disputed(s)
    s.post(f"/v1/disputes/{dispute['id']}", {"evidence[uncategorized_text]": "losing_evidence"})
    s.advance(clock, days=11)
    assert s.get(f"/v1/disputes/{dispute['id']}")["status"] == "lost"
    assert not s.events("charge.dispute.funds_reinstated")


def test_close_accepts_the_dispute(s: Scenario) -> None:
    _clock, dispute = _disputed(s)
    status, closed = s.post(f"/v1/disputes/{dispute['id']}/close")
    assert status == 200 and closed["status"] == "lost"
    assert s.events("charge.dispute.closed")


def test_staged_evidence_is_submitted_at_the_deadline_and_no_evidence_loses(s: Scenario) -> None:
    clock, dispute = _disputed(s)
    s.post(
        f"/v1/disputes/{dispute['id']}",
        {"evidence[product_description]": "SaaS", "submit": "false"},
    )
    s.advance(clock, days=7, seconds=1)
    auto = s.get(f"/v1/disputes/{dispute['id']}")
    assert auto["status"] == "under_review" and auto["evidence_details"]["past_due"] is True

    customer, _ = s.customer(clock, card="pm_card_createDispute", email="second@example.test")
    s.subscribe(customer, s.price(500))
    second = s.events("charge.dispute.created")[-1]["data"]["object"]
    s.advance(clock, days=8)
    lost = s.get(f"/v1/disputes/{second['id']}")
    assert lost["status"] == "lost" and lost["evidence_details"]["past_due"] is True
