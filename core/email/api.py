"""The core's email endpoints under /api/v1: sent mail and the suppression list."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from core.api.errors import ApiError
from core.api.pagination import PARAMETERS, paginate
from core.contributions import ApiRoute
from core.email.suppression import normalize, suppress
from core.models.email import EmailStatus, OutboundEmail, Suppression
from core.runtime import Runtime

_ERROR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _email(row: OutboundEmail) -> dict[str, Any]:
    return {
        "id": row.id,
        "to": row.to_address,
        "subject": row.subject,
        "category": row.category,
        "status": row.status,
        "transport": row.transport,
        "idempotency_key": row.idempotency_key,
        "message_id": row.message_id,
        "attempts": row.attempts,
        "last_error": row.last_error,
        "bounced": row.bounced,
        "created_at": row.created_at,
        "sent_at": row.sent_at,
    }


async def list_emails(request: Request, workspace_id: int) -> dict[str, Any]:
    """List outbound email, newest first."""
    rows = OutboundEmail.filter()
    status = request.query_params.get("status")
    if status:
        if status not in {s.value for s in EmailStatus}:
            raise ApiError(422, "invalid_request", f"unknown status {status!r}")
        rows = rows.filter(status=status)
    return await paginate(request, rows, _email)


async def get_email(request: Request, workspace_id: int) -> dict[str, Any]:
    """One outbound email with its bodies."""
    row = await OutboundEmail.get(id=request.path_params["id"])
    return {**_email(row), "text": row.text_body, "html": row.html_body, "headers": row.headers}


def _suppression(row: Suppression) -> dict[str, Any]:
    return {"id": row.id, "email": row.email, "reason": row.reason, "created_at": row.created_at}


async def list_suppressions(request: Request, workspace_id: int) -> dict[str, Any]:
    """Addresses this workspace never mails."""
    return await paginate(request, Suppression.filter(), _suppression)


async def add_suppression(request: Request, workspace_id: int) -> JSONResponse:
    """Add an address to the suppression list."""
    runtime: Runtime = request.state.runtime
    body = await request.json()
    email = body.get("email") if isinstance(body, dict) else None
    if not isinstance(email, str) or "@" not in email or len(email) > 254:
        raise ApiError(422, "invalid_request", "`email` must be an email address")
    created = await suppress(runtime, workspace_id, email, "manual")
    row = await Suppression.get(email=normalize(email))
    return JSONResponse(
        {"id": row.id, "email": row.email, "reason": row.reason},
        status_code=201 if created else 200,
    )


async def remove_suppression(request: Request, workspace_id: int) -> Response:
    """Remove an address from the suppression list (mail to it is allowed again)."""
    row = await Suppression.get(id=request.path_params["id"])
    await row.delete()
    return Response(status_code=204)


def api_routes() -> list[ApiRoute]:
    return [
        ApiRoute("/emails", list_emails, name="list_emails", operation={
            "tags": ["email"],
            "parameters": [
                {"name": "status", "in": "query", "schema": {
                    "type": "string", "enum": [s.value for s in EmailStatus]}},
                *PARAMETERS,
            ],
        }),
        ApiRoute("/emails/{id:int}", get_email, name="get_email", operation={
            "tags": ["email"], "responses": {"200": {"description": "OK"},
                                             "404": {"description": "Not found", **_ERROR}},
        }),
        ApiRoute("/suppressions", list_suppressions, name="list_suppressions",
                 operation={"tags": ["email"], "parameters": PARAMETERS}),
        ApiRoute(
            "/suppressions", add_suppression, methods=("POST",), scope="write",
            name="add_suppression",
            operation={
                "tags": ["email"],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {
                        "type": "object", "required": ["email"],
                        "properties": {"email": {"type": "string", "format": "email"}},
                    }}},
                },
                "responses": {"201": {"description": "Added"},
                              "200": {"description": "Already suppressed"},
                              "422": {"description": "Invalid address", **_ERROR}},
            },
        ),
        ApiRoute(
            "/suppressions/{id:int}", remove_suppression, methods=("DELETE",), scope="write",
            name="remove_suppression",
            operation={"tags": ["email"], "responses": {
                "204": {"description": "Removed"},
                "404": {"description": "Not found", **_ERROR}}},
        ),
    ]
