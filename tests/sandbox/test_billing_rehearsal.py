"""The "Rehearse a dunning journey offline" steps in docs/sandbox.md, run as written."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sandbox.billing.scenario import Scenario
from sandbox.testing import RunningSandbox, WebhookReceiver, running_sandbox

DOC = Path(__file__).resolve().parents[2] / "docs" / "sandbox.md"


def _python_blocks() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Rehearse a dunning journey offline", 1)[1]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    return [re.sub(r"^ {3}", "", block, flags=re.M) for block in blocks]


def _setup(sb: RunningSandbox, setup: str) -> tuple[str, dict[str, Any]]:
    """Steps 1 and 2 as written: a connected account, then the code block run against it."""
    account = sb.create_account(name="Rehearsal Shop")["id"]
    code = (
        setup.replace('"http://127.0.0.1:12111"', repr(sb.url))
        .replace('"sk_test_…"', repr(sb.platform_key))
        .replace('"acct_…"', repr(account))
    )
    ns: dict[str, Any] = {}
    exec(compile(code, str(DOC), "exec"), ns)
    return account, ns


def _decline(sb: RunningSandbox, account: str, pm_id: str) -> None:
    """Step 3, as the curl command does it."""
    response = sb.http.post(
        f"/_sandbox/payment_methods/{pm_id}/behaviour",
        json={
            "account": account,
            "outcome": "decline",
            "code": "card_declined",
            "decline_code": "insufficient_funds",
        },
    )
    assert response.status_code == 200


def test_documented_rehearsal_recovers_the_invoice_in_the_portal() -> None:
    setup, advance, *_ = _python_blocks()
    with running_sandbox(seed="rehearsal") as sb:
        account, ns = _setup(sb, setup)
        s = Scenario(sb, account=account)
        assert ns["sub"].status == "active"
        # The data is on the business's account, not on the platform.
        assert s.get(f"/v1/subscriptions/{ns['sub'].id}")["id"] == ns["sub"].id
        assert ns["sub"].id not in sb.state.platform.store.objects
        _decline(sb, account, ns["pm"].id)
        exec(compile(advance, str(DOC), "exec"), ns)
        sb.wait_for_clock(account, ns["clock"].id, timeout=30)
        failed = s.events("invoice.payment_failed")
        assert failed and failed[-1]["data"]["object"]["attempt_count"] == 1
        assert s.get(f"/v1/subscriptions/{ns['sub'].id}")["status"] == "past_due"
        # Step 5: the portal page with a working card.
        session = ns["c"].v1.billing_portal.sessions.create(
            params={"customer": ns["customer"].id, "flow_data": {"type": "payment_method_update"}}
        )
        sb.http.post(
            session.url,
            data={
                "action": "update_payment_method",
                "number": "4242 4242 4242 4242",
                "exp_month": "12",
                "exp_year": "2040",
            },
        )
        types = [e["type"] for e in s.events()]
        assert "payment_method.attached" in types[-12:] and types[-12:].count("invoice.paid") == 1
        assert s.get(f"/v1/subscriptions/{ns['sub'].id}")["status"] == "active"


def test_rehearsal_with_clock_speed_needs_no_manual_advance(receiver: WebhookReceiver) -> None:
    """Step 4's alternative: with --clock-speed the renewal fails and is announced by itself,
    and the platform's Connect endpoint hears the clock move."""
    setup, *_ = _python_blocks()
    with running_sandbox(
        seed="rehearsal-speed",
        clock_speed=8 * 86400,
        tick_interval=0.05,
        clock_advance_interval=0.2,
    ) as sb:
        sb.client().v1.webhook_endpoints.create(
            params={"url": receiver.url, "enabled_events": ["*"], "connect": True}
        )
        account, ns = _setup(sb, setup)
        _decline(sb, account, ns["pm"].id)
        s = Scenario(sb, account=account)
        sb.wait_for(lambda: bool(s.events("invoice.payment_failed")), timeout=30)
        sb.wait_for(
            lambda: any(e["type"] == "invoice.payment_failed" for e in receiver.events()),
            timeout=10,
        )
        ready = [e for e in receiver.events() if e["type"] == "test_helpers.test_clock.ready"]
        assert ready and all(e["account"] == account for e in ready)
        assert ready[-1]["data"]["object"]["frozen_time"] > ns["clock"].frozen_time
