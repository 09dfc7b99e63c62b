"""`/api/v1/audit/runs`: start an audit, list runs, read one run's progress and results."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from core.api.errors import ApiError
from core.api.pagination import PARAMETERS as PAGE_PARAMETERS
from core.api.pagination import paginate
from core.contributions import ApiRoute
from plugins.audit import schema
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
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise ApiError(422, "invalid_request", "the body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise ApiError(422, "invalid_request", "send a JSON object")
    return body


async def create_run(request: Request, workspace_id: int) -> Any:
    """Start an audit of the workspace's Stripe account (or return the one already running)."""
    body = await _body(request)
    lookback = body.get("lookback_days", 90)
    if not isinstance(lookback, int) or isinstance(lookback, bool) or not 1 <= lookback <= 730:
        raise ApiError(422, "invalid_request", "lookback_days must be an integer from 1 to 730")
    account_id = body.get("stripe_account")
    if account_id is not None and (not isinstance(account_id, int) or isinstance(account_id, bool)):
        raise ApiError(
            422, "invalid_request", "stripe_account must be the id of a connected account"
        )
    try:
        account = await account_to_audit(account_id)
    except NoStripeAccount as exc:
        raise ApiError(409, "no_stripe_account", str(exc)) from exc
    runtime = request.app.state.runtime
    run = await start_run(runtime, workspace_id, account, lookback_days=lookback, trigger="api")
    return serialize(run)


async def list_runs(request: Request, workspace_id: int) -> Any:
    """The workspace's audit runs, newest first, a page at a time (results left out)."""
    page = await paginate(request, AuditRun.all(), lambda run: serialize(run, results=False))
    return {"object": "list", **page}


async def get_run(request: Request, workspace_id: int) -> Any:
    """One audit run: status, progress and, once done, results."""
    run = await AuditRun.get(id=int(request.path_params["id"]))
    return serialize(run)


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERROR = {"$ref": "#/components/schemas/Error"}
_TAGS = ["audit"]
_REQUEST = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "lookback_days": {"type": "integer", "minimum": 1, "maximum": 730, "default": 90},
        "stripe_account": {
            "type": "integer",
            "description": "a connected account's id (default: the first active one)",
        },
    },
}
ROUTES = [
    ApiRoute(
        "/audit/runs",
        create_run,
        methods=("POST",),
        scope="write",
        name="audit_runs_create",
        operation={
            "tags": _TAGS,
            "requestBody": {
                "required": False,
                "content": {"application/json": {"schema": _REQUEST}},
            },
            "responses": {
                "200": _json(
                    schema.RUN,
                    "The run: new and queued (or finished, with inline jobs), or the run of "
                    "that account already queued or running — a second never starts",
                ),
                "409": _json(_ERROR, "No Stripe account is connected (`no_stripe_account`)"),
                "422": _json(_ERROR, "A bad `lookback_days` or `stripe_account`"),
            },
        },
    ),
    ApiRoute(
        "/audit/runs",
        list_runs,
        name="audit_runs_list",
        operation={
            "tags": _TAGS,
            "parameters": PAGE_PARAMETERS,
            "responses": {
                "200": _json(schema.RUN_LIST, "Runs, newest first, without results"),
                "422": _json(_ERROR, "`limit` or `starting_after` is not an integer"),
            },
        },
    ),
    ApiRoute(
        "/audit/runs/{id:int}",
        get_run,
        name="audit_runs_get",
        operation={
            "tags": _TAGS,
            "responses": {
                "200": _json(schema.RUN, "The run, with its results once done"),
                "404": _json(_ERROR, "No such run in this workspace"),
            },
        },
    ),
]
