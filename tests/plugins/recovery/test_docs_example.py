"""The step-type example in docs/recovery.md, run as a real plugin."""

from __future__ import annotations

import json
import re
import types
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.clock import FrozenClock
from core.runtime import Runtime
from core.tenancy import workspace_scope
from plugins.recovery import engine, handlers
from plugins.recovery.declines import Category
from plugins.recovery.models import Case, CaseStep, StepStatus
from plugins.recovery.sequences import DEFAULTS, publish
from tests.plugins.recovery.conftest import enabled_workspace, event, invoice, settle

DOC = Path(__file__).resolve().parents[3] / "docs" / "recovery.md"
posted: list[dict[str, Any]] = []


def _example() -> types.ModuleType:
    text = DOC.read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    source = next(b for b in blocks if "register_recovery_steps" in b)
    module = types.ModuleType("recovery_doc_example")
    module.__file__ = str(DOC)  # the plugin host looks beside it for templates
    exec(compile(source, str(DOC), "exec"), module.__dict__)  # our own docs, on purpose

    def slack(request: httpx.Request) -> httpx.Response:
        posted.append({"url": str(request.url), **json.loads(request.content)})
        return httpx.Response(200, text="ok")

    module.SlackStep.transport = httpx.MockTransport(slack)
    return module


@pytest.fixture
def extra_plugins() -> list[tuple[str, object]]:
    posted.clear()
    return [("acme-slack", _example())]


async def test_a_plugin_step_runs_in_a_sequence(
    app: object, runtime: Runtime, clock: FrozenClock, declines: Any
) -> None:
    assert "acme.slack" in engine.step_types(runtime)
    ws = await enabled_workspace("a")
    url = "https://hooks.slack.test/T1"
    with workspace_scope(ws):
        steps = [{"type": "acme.slack", "day": 0, "webhook_url": url}, *DEFAULTS[Category.FUNDS]]
        await publish(Category.FUNDS, steps, set(engine.step_types(runtime)))
        await handlers.payment_failed(
            event("invoice.payment_failed", invoice(), clock.now()), ws, runtime
        )
        await settle()
        case = await Case.get(invoice_id="in_1")
        first = await CaseStep.get(case_id=case.id, index=0)
        assert first.type == "acme.slack" and first.status == StepStatus.DONE
        assert first.result == {"posted": True}
        # Run again (as after a crash): the step sees its recorded result and posts nothing.
        await CaseStep.filter(id=first.id).update(status=StepStatus.PENDING)
        await engine.run_step(runtime, first.id)
    assert posted == [{"url": url, "text": "Payment failed: ada@example.test (funds)"}]
