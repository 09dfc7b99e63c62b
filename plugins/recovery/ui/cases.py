"""The operator's case pages: the list with its filters, and one case with its whole timeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from core.email import OutboundEmail
from core.tenancy import workspace_scope
from plugins.recovery import gateway
from plugins.recovery.cases import ACTIVE, settings_for
from plugins.recovery.copy import TEMPLATES
from plugins.recovery.declines import Category
from plugins.recovery.engine import step_types
from plugins.recovery.models import (
    AttemptLedger,
    Case,
    CaseNote,
    CaseStatus,
    CaseStep,
    SequenceVersion,
    StepStatus,
)
from plugins.recovery.operations import next_step
from plugins.recovery.steps.email import email_key
from plugins.recovery.ui import common

PAGE_SIZE = 50
SORTS = {
    "newest": ("-opened_at", "-id"),
    "oldest": ("opened_at", "id"),
    "amount": ("-amount", "-id"),
}
# Result keys the timeline shows in their own place, not in the detail list.
_SHOWN_ELSEWHERE = {"email_id", "subject"}


async def _clock_now(runtime: Any, cases: list[Case]) -> dict[tuple[str, str], datetime]:
    """Customer time per (account, test clock) among `cases`: one lookup per clock."""
    found: dict[tuple[str, str], datetime] = {}
    for case in cases:
        key = (case.stripe_account_id, case.test_clock)
        if key not in found:
            found[key] = await gateway.now_for(runtime, key[0], None, key[1])
    return found


async def home(request: Request) -> Response:
    """`/app/recovery` (the navigation link, so every recovery page marks it) shows the cases."""
    from starlette.responses import RedirectResponse

    return RedirectResponse(f"{common.BASE}/cases", status_code=303)


def _filters(request: Request) -> dict[str, Any]:
    params = request.query_params
    status = params.get("status", "")
    category = params.get("category", "")
    return {
        "status": status if status in {s.value for s in CaseStatus} else "",
        "category": category if category in {c.value for c in Category} else "",
        "min_amount": common.int_param(params.get("min_amount")),
        "sort": params.get("sort") if params.get("sort") in SORTS else "newest",
        "page": max(common.int_param(params.get("page"), 1) or 1, 1),
    }


async def case_list(request: Request) -> Response:
    ctx = await common.workspace(request)
    runtime = common.runtime_of(request)
    filters = _filters(request)
    with workspace_scope(ctx.workspace.id):
        query = Case.filter()
        if filters["status"]:
            query = query.filter(status=filters["status"])
        if filters["category"]:
            query = query.filter(category=filters["category"])
        if filters["min_amount"] is not None:
            # Entered in major units; amounts are stored in minor units.
            query = query.filter(amount__gte=filters["min_amount"] * 100)
        offset = (filters["page"] - 1) * PAGE_SIZE
        found = await query.order_by(*SORTS[filters["sort"]]).offset(offset).limit(PAGE_SIZE + 1)
        cases, more = found[:PAGE_SIZE], len(found) > PAGE_SIZE
        pending = await CaseStep.filter(
            case_id__in=[c.id for c in cases], status=StepStatus.PENDING
        ).order_by("-due_at", "-index")
        settings = await settings_for()
        clocks = await _clock_now(runtime, cases)
    upcoming = {step.case_id: step for step in pending}  # the last write per case is the soonest
    rows = [
        {
            "case": case,
            "amount": common.money(case.amount, case.currency),
            "since": common.duration(
                clocks[(case.stripe_account_id, case.test_clock)] - case.opened_at
            ),
            "next": upcoming.get(case.id),
            "next_in": common.until(
                upcoming[case.id].due_at, clocks[(case.stripe_account_id, case.test_clock)]
            )
            if case.id in upcoming
            else "—",
        }
        for case in cases
    ]
    context = {
        "rows": rows,
        "filters": filters,
        "more": more,
        "settings": settings,
        "statuses": [s.value for s in CaseStatus],
        "categories": [c.value for c in Category],
        "labels": {k: t.label for k, t in step_types(runtime).items()},
    }
    return await common.page(request, ctx, "recovery/cases.html", context)


@dataclass
class TimelineEntry:
    step: CaseStep
    label: str
    email: OutboundEmail | None = None
    details: list[tuple[str, str]] = field(default_factory=list)
    is_next: bool = False


async def _timeline(runtime: Any, case: Case) -> list[TimelineEntry]:
    steps = await CaseStep.filter(case_id=case.id).order_by("due_at", "index")
    keys = [f"{case.workspace_id}:{email_key(s.id)}" for s in steps if s.type == "email"]
    emails = {e.idempotency_key: e for e in await OutboundEmail.filter(key__in=keys)}
    upcoming = await next_step(case) if case.status in ACTIVE else None
    labels = step_types(runtime)
    entries = []
    for step in steps:
        known = labels.get(step.type)
        details = [
            (key.replace("_", " "), str(value))
            for key, value in sorted(step.result.items())
            if key not in _SHOWN_ELSEWHERE
        ]
        entries.append(
            TimelineEntry(
                step=step,
                label=known.label if known else step.type,
                email=emails.get(email_key(step.id)),
                details=details,
                is_next=upcoming is not None and upcoming.id == step.id,
            )
        )
    return entries


async def case_context(request: Request, workspace_id: int, case: Case) -> dict[str, Any]:
    """Everything the case page shows (call inside the workspace scope)."""
    runtime = common.runtime_of(request)
    now = await gateway.now_for(runtime, case.stripe_account_id, None, case.test_clock)
    version = (
        await SequenceVersion.get_or_none(id=case.sequence_version_id).prefetch_related("sequence")
        if case.sequence_version_id
        else None
    )
    attempts = (
        await AttemptLedger.filter(
            stripe_account_id=case.stripe_account_id, invoice_id=case.invoice_id
        )
        .exclude(key="paid")
        .order_by("at", "id")
    )
    notes = await CaseNote.filter(case_id=case.id).order_by("created_at", "id")
    return {
        "case": case,
        "now": now,
        "since": common.duration(now - case.opened_at),
        "amount": common.money(case.amount, case.currency),
        "recovered": common.money(case.recovered_amount, case.currency),
        "version": version,
        "timeline": await _timeline(runtime, case),
        "attempts": attempts,
        "notes": notes,
        "settings": await settings_for(),
        "active": case.status in ACTIVE,
        "step_types": sorted(step_types(runtime).values(), key=lambda t: t.key),
        "templates": sorted(TEMPLATES),
        "stamp": common.stamp,
        "until": common.until,
    }


async def case_page(request: Request) -> Response:
    ctx = await common.workspace(request)
    with workspace_scope(ctx.workspace.id):
        case = await Case.get_or_none(id=request.path_params["id"])
        if case is None:
            return await common.page(request, ctx, "recovery/case.html", {"case": None}, status=404)
        context = await case_context(request, ctx.workspace.id, case)
    return await common.page(request, ctx, "recovery/case.html", context)
