"""`/app/events`: the events Stripe sent this workspace, newest first, and what each handler did.

The list refreshes itself while the operator watches its first page, so a delivery shows up
within seconds. Another workspace's event id is a 404, like a missing one.
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from core.models.events import Event, EventStatus, Job
from core.tenancy import workspace_scope

URL = "/app/events"
PAGE_SIZE = 50
PAYLOAD_PREVIEW_CHARS = 20_000


def _filters(request: Request) -> dict[str, str]:
    """The type and status the operator filtered on; an unknown status is ignored, not an error."""
    found: dict[str, str] = {}
    event_type = request.query_params.get("type", "").strip()[:100]
    if event_type:
        found["type"] = event_type
    status = request.query_params.get("status", "")
    if status in {s.value for s in EventStatus}:
        found["status"] = status
    return found


async def event_list(request: Request) -> Response:
    from core.web.auth import require_workspace
    from core.web.shell import shell_context
    from core.web.templating import render

    ctx = await require_workspace(request)
    filters = _filters(request)
    raw_after = request.query_params.get("before", "")
    before = int(raw_after) if raw_after.isdigit() else None
    with workspace_scope(ctx.workspace.id):
        query = Event.filter(**filters)  # the scope limits it to this workspace
        if before is not None:
            query = query.filter(id__lt=before)
        rows = await query.order_by("-id").limit(PAGE_SIZE + 1)
        events = rows[:PAGE_SIZE]
        jobs = await Job.filter(event_id__in=[e.id for e in events]) if events else []
    handlers: dict[int, list[Job]] = {}
    for job in jobs:
        handlers.setdefault(int(job.event_id or 0), []).append(job)
    context = await shell_context(request, ctx)
    context.update(
        events=events,
        handlers=handlers,
        filters=filters,
        statuses=[s.value for s in EventStatus],
        older=events[-1].id if len(rows) > PAGE_SIZE else None,
        live=before is None,  # only the newest page polls
    )
    return render(request, "events/list.html", context, block="rows")


async def event_detail(request: Request) -> Response:
    from core.web.auth import require_workspace
    from core.web.shell import shell_context
    from core.web.templating import render

    ctx = await require_workspace(request)
    with workspace_scope(ctx.workspace.id):
        event = await Event.get_or_none(id=request.path_params["id"])
        if event is None:
            raise HTTPException(404, "No such event in this workspace.")
        jobs = await Job.filter(event_id=event.id).order_by("name")
    payload = json.dumps((event.payload or {}).get("data", {}), indent=2, sort_keys=True)
    context = await shell_context(request, ctx)
    context.update(
        event=event,
        jobs=jobs,
        payload=payload[:PAYLOAD_PREVIEW_CHARS],
        truncated=len(payload) > PAYLOAD_PREVIEW_CHARS,
    )
    return render(request, "events/detail.html", context, block="main")


def routes() -> list[BaseRoute]:
    return [
        Route(URL, event_list, methods=["GET"], name="events"),
        Route(URL + "/{id:int}", event_detail, methods=["GET"], name="event"),
    ]
