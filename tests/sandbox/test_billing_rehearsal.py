"""The "Rehearse a dunning journey offline" steps in docs/sandbox.md, run as written."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sandbox.billing.scenario import Scenario
from sandbox.testing import running_sandbox

DOC = Path(__file__).resolve().parents[2] / "docs" / "sandbox.md"


def _python_blocks() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Rehearse a dunning journey offline", 1)[1]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    return [re.sub(r"^ {3}", "", block, flags=re.M) for block in blocks]


def test_documented_rehearsal_recovers_the_invoice_in_the_portal() -> None:
    setup, advance, *_ = _python_blocks()
    with running_sandbox(seed="rehearsal") as sb:
        s = Scenario(sb)
        code = setup.replace('"http://127.0.0.1:12111"', repr(sb.url)).replace(
            '"sk_test_…"', repr(sb.platform_key)
        )
        ns: dict[str, Any] = {}
        exec(compile(code, str(DOC), "exec"), ns)
        assert ns["sub"].status == "active"
        # Step 3, as the curl command does it.
        pm_id = ns["pm"].id
        response = sb.http.post(
            f"/_sandbox/payment_methods/{pm_id}/behaviour",
            json={
                "outcome": "decline",
                "code": "card_declined",
                "decline_code": "insufficient_funds",
            },
        )
        assert response.status_code == 200
        exec(compile(advance, str(DOC), "exec"), ns)
        sb.wait_for_clock(None, ns["clock"].id, timeout=30)
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
