"""Operator controls over the JSON API beyond pause/resume/cancel/retry: skip the next step,
resend a sent email, notes. Scoped to the API key's workspace by the core, like `api.py`."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from core.api.errors import ApiError
from core.contributions import ApiRoute
from core.runtime import Runtime
from plugins.recovery import api, operations
from plugins.recovery.models import CaseNote, CaseStep
from plugins.recovery.operations import Refused

_TAGS = ["recovery"]
_CONFLICT = {"409": {"description": "Not possible in the case's state (the message says why)"}}


def _actor(request: Request) -> str:
    key = request.state.api_key
    return f"API key {key.name or key.prefix}"


def _note(note: CaseNote) -> dict[str, Any]:
    return {"id": note.id, "author": note.author, "body": note.body, "created_at": note.created_at}


async def skip_case(request: Request, workspace_id: int) -> dict[str, Any]:
    """Skip the case's next pending step; the sequence goes on with the one after it."""
    runtime: Runtime = request.state.runtime
    case = await api._found(request)
    try:
        step = await operations.skip_next(runtime, case, _actor(request))
    except Refused as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    await case.refresh_from_db()
    return {**api._case(case), "skipped": {"index": step.index, "type": step.type}}


async def resend_step(request: Request, workspace_id: int) -> dict[str, Any]:
    """Send a sent email step again, as a new step with a new idempotency key."""
    runtime: Runtime = request.state.runtime
    case = await api._found(request)
    step = await CaseStep.get_or_none(case_id=case.id, index=request.path_params["index"])
    if step is None:
        raise ApiError(404, "not_found", "no such step in this case")
    try:
        new = await operations.resend(runtime, case, step, _actor(request))
    except Refused as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    return {"index": new.index, "type": new.type, "resend_of": step.index, "due_at": new.due_at}


async def list_notes(request: Request, workspace_id: int) -> dict[str, Any]:
    """The case's notes, oldest first."""
    case = await api._found(request)
    notes = await CaseNote.filter(case_id=case.id).order_by("created_at", "id")
    return {"data": [_note(n) for n in notes]}


async def add_note(request: Request, workspace_id: int) -> dict[str, Any]:
    """Add a note (`{"body": "..."}`), kept with the key as its author."""
    runtime: Runtime = request.state.runtime
    case = await api._found(request)
    payload = await request.json()
    body = payload.get("body") if isinstance(payload, dict) else None
    if not isinstance(body, str):
        raise ApiError(422, "invalid_request", "send a JSON object with a text `body`")
    try:
        note = await operations.add_note(case, None, _actor(request), body, runtime.now())
    except Refused as exc:
        raise ApiError(422, "invalid_request", str(exc)) from None
    return _note(note)


def api_routes() -> list[ApiRoute]:
    case = "/recovery/cases/{id:int}"
    return [
        ApiRoute(
            f"{case}/skip",
            skip_case,
            methods=("POST",),
            scope="write",
            name="recovery_case_skip",
            operation={
                "tags": _TAGS,
                "responses": {
                    "200": {"description": "The case, and the step skipped"},
                    **_CONFLICT,
                },
            },
        ),
        ApiRoute(
            f"{case}/steps/{{index:int}}/resend",
            resend_step,
            methods=("POST",),
            scope="write",
            name="recovery_step_resend",
            operation={
                "tags": _TAGS,
                "responses": {"200": {"description": "The new email step"}, **_CONFLICT},
            },
        ),
        ApiRoute(
            f"{case}/notes", list_notes, name="recovery_case_notes", operation={"tags": _TAGS}
        ),
        ApiRoute(
            f"{case}/notes",
            add_note,
            methods=("POST",),
            scope="write",
            name="recovery_case_note_add",
            operation={
                "tags": _TAGS,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["body"],
                                "properties": {"body": {"type": "string", "maxLength": 5000}},
                            }
                        }
                    },
                },
            },
        ),
    ]
