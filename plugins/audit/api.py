"""`/api/v1/audit/runs`: start an audit, list runs, read one run's progress and results."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from core.api.errors import ApiError
from core.contributions import ApiRoute
from plugins.audit.models import AuditRun
from plugins.audit.runner import NoStripeAccount, account_to_audit, start_run


def serialize(run: AuditRun, *, results: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": run.id,
        "object": "audit_run",
        "status": str(run.status),
        "stripe_account": run.stripe_account_id,
        "trigger": run.trigger,
        "lookback_days": run.lookback_days,
        "progress": run.progress,
        "calls": run.calls,
        "error": run.error or None,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
    }
    if results:
        data["results"] = run.results
    return data


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    body = json.loads(raw)
    if not isinstance(body, dict):
        raise ApiError(422, "invalid_request", "send a JSON object")
    return body


async def create_run(request: Request, workspace_id: int) -> Any:
    """Start an audit of the workspace's Stripe account."""
    body = await _body(request)
    lookback = body.get("lookback_days", 90)
    if not isinstance(lookback, int) or not 1 <= lookback <= 730:
        raise ApiError(422, "invalid_request", "lookback_days must be an integer from 1 to 730")
    account_id = body.get("stripe_account")
    try:
        account = await account_to_audit(account_id if isinstance(account_id, int) else None)
    except NoStripeAccount as exc:
        raise ApiError(409, "no_stripe_account", str(exc)) from exc
    runtime = request.app.state.runtime
    run = await start_run(runtime, workspace_id, account, lookback_days=lookback, trigger="api")
    return serialize(run)


async def list_runs(request: Request, workspace_id: int) -> Any:
    """The workspace's audit runs, newest first (results left out; fetch one run for them)."""
    limit = min(max(int(request.query_params.get("limit", "20")), 1), 100)
    runs = await AuditRun.all().order_by("-created_at", "-id").limit(limit)
    return {"object": "list", "data": [serialize(run, results=False) for run in runs]}


async def get_run(request: Request, workspace_id: int) -> Any:
    """One audit run: status, progress and, once done, results."""
    run = await AuditRun.get(id=int(request.path_params["id"]))
    return serialize(run)


_RUN = {"type": "object", "description": "An audit run; `results` follow docs/audit.md"}
_JSON = {"application/json": {"schema": _RUN}}
ROUTES = [
    ApiRoute(
        "/audit/runs",
        create_run,
        methods=("POST",),
        scope="write",
        name="audit_runs_create",
        operation={
            "tags": ["audit"],
            "requestBody": {
                "required": False,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "lookback_days": {
                                    "type": "integer",
                                    "minimum": 1,
                                    "maximum": 730,
                                    "default": 90,
                                },
                                "stripe_account": {
                                    "type": "integer",
                                    "description": "a connected account's id",
                                },
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": {"description": "The run, queued or finished", "content": _JSON},
                "409": {"description": "No Stripe account is connected"},
            },
        },
    ),
    ApiRoute(
        "/audit/runs",
        list_runs,
        name="audit_runs_list",
        operation={
            "tags": ["audit"],
            "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer"}}],
            "responses": {"200": {"description": "Runs, newest first"}},
        },
    ),
    ApiRoute(
        "/audit/runs/{id:int}",
        get_run,
        name="audit_runs_get",
        operation={
            "tags": ["audit"],
            "responses": {
                "200": {"description": "The run", "content": _JSON},
                "404": {"description": "No such run in this workspace"},
            },
        },
    ),
]
