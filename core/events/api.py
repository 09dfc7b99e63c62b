"""The event bus in /api/v1: stored events (with each handler's job) and webhook health."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from core.api.errors import ApiError
from core.contributions import ApiRoute
from core.events.health import webhook_health
from core.models.events import Event, EventStatus, Job

MAX_LIMIT = 100


def _event_json(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "stripe_event_id": event.stripe_event_id,
        "stripe_account_id": event.stripe_account_id,
        "type": event.type,
        "status": event.status,
        "api_version": event.api_version,
        "livemode": event.livemode,
        "source": event.source,
        "created": event.created,
        "received_at": event.received_at,
    }


def _job_json(job: Job) -> dict[str, Any]:
    return {
        "handler": job.name.removeprefix("handler:"),
        "status": job.status,
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "last_error": job.last_error or None,
        "next_attempt_at": job.run_after if job.status == "pending" else None,
        "finished_at": job.finished_at,
    }


def _int_param(request: Request, name: str, default: int | None) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit():
        raise ApiError(400, "invalid_parameter", f"`{name}` must be a positive integer")
    return int(raw)


async def list_events(request: Request, workspace_id: int) -> dict[str, Any]:
    """Newest first; `starting_after` (an event id) pages on, as in Stripe's own lists."""
    query = Event.filter(workspace_id=workspace_id)
    event_type = request.query_params.get("type")
    if event_type:
        query = query.filter(type=event_type)
    status = request.query_params.get("status")
    if status:
        if status not in {s.value for s in EventStatus}:
            allowed = ", ".join(s.value for s in EventStatus)
            raise ApiError(400, "invalid_parameter", f"`status` must be one of: {allowed}")
        query = query.filter(status=status)
    limit = min(max(_int_param(request, "limit", 25) or 1, 1), MAX_LIMIT)
    after = _int_param(request, "starting_after", None)
    if after is not None:
        query = query.filter(id__lt=after)
    rows = await query.order_by("-id").limit(limit + 1)
    return {
        "object": "list",
        "data": [_event_json(e) for e in rows[:limit]],
        "has_more": len(rows) > limit,
    }


async def get_event(request: Request, workspace_id: int) -> dict[str, Any]:
    event = await Event.get_or_none(workspace_id=workspace_id, id=request.path_params["id"])
    if event is None:
        raise ApiError(404, "not_found", "no such event in this workspace")
    jobs = await Job.filter(event_id=event.id).order_by("name")
    return _event_json(event) | {
        "handlers": [_job_json(job) for job in jobs],
        "data": (event.payload or {}).get("data", {}),
    }


async def get_webhook_health(request: Request, workspace_id: int) -> dict[str, Any]:
    return {"object": "list", "data": [h.to_json() for h in await webhook_health(workspace_id)]}


_EVENT_SCHEMA = {"type": "object", "description": "A stored Stripe event"}


def api_routes() -> list[ApiRoute]:
    return [
        ApiRoute(
            "/events",
            list_events,
            name="events-list",
            operation={
                "summary": "List stored Stripe events, newest first",
                "tags": ["events"],
                "parameters": [
                    {"name": "type", "in": "query", "schema": {"type": "string"}},
                    {
                        "name": "status",
                        "in": "query",
                        "schema": {"type": "string", "enum": [s.value for s in EventStatus]},
                    },
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 100}},
                    {"name": "starting_after", "in": "query", "schema": {"type": "integer"}},
                ],
                "responses": {"200": {"description": "A page of events"}},
            },
        ),
        ApiRoute(
            "/events/{id:int}",
            get_event,
            name="events-get",
            operation={
                "summary": "One stored event with each handler's status, attempts and last error",
                "tags": ["events"],
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
                ],
                "responses": {
                    "200": {
                        "description": "The event",
                        "content": {"application/json": {"schema": _EVENT_SCHEMA}},
                    },
                    "404": {"description": "No such event in this workspace"},
                },
            },
        ),
        ApiRoute(
            "/webhooks/health",
            get_webhook_health,
            name="webhooks-health",
            operation={
                "summary": "Webhook health per connected Stripe account",
                "tags": ["events"],
                "responses": {"200": {"description": "One entry per connected account"}},
            },
        ),
    ]
