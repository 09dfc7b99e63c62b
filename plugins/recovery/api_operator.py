"""Operator controls over the JSON API beyond pause/resume/cancel/retry: skip or replace the
next step, edit a pending email, resend a sent one, notes, and the workspace's processing pause.
Scoped to the API key's workspace by the core, like `api.py`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.requests import Request

from core.api.errors import ApiError
from core.contributions import ApiRoute
from core.runtime import Runtime
from plugins.recovery import api, operations
from plugins.recovery.cases import settings_for
from plugins.recovery.copy import TEMPLATES
from plugins.recovery.engine import step_types
from plugins.recovery.models import CaseNote, CaseStep
from plugins.recovery.operations import Refused

_TAGS = ["recovery"]
MAX_DELAY_HOURS = 365 * 24
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


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        payload = await request.json()
    except ValueError:
        raise ApiError(400, "invalid_json", "the body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise ApiError(422, "invalid_request", "send a JSON object")
    return payload


def _delay(payload: dict[str, Any]) -> timedelta | None:
    hours = payload.get("delay_hours")
    if hours is None:
        return None
    if isinstance(hours, bool) or not isinstance(hours, int | float):
        raise ApiError(422, "invalid_request", "`delay_hours` must be a number")
    if not 0 <= hours <= MAX_DELAY_HOURS:
        raise ApiError(422, "invalid_request", "`delay_hours` must be between 0 and 8760")
    return timedelta(hours=hours)


async def replace_next(request: Request, workspace_id: int) -> dict[str, Any]:
    """Put a new step (`{"type": ..., "template"?: ..., "delay_hours"?: ...}`) in place of the
    case's next pending step."""
    runtime: Runtime = request.state.runtime
    case = await api._found(request)
    payload = await _json_object(request)
    type_, template = payload.get("type"), payload.get("template")
    known = sorted(step_types(runtime))
    if not isinstance(type_, str) or type_ not in known:
        raise ApiError(422, "invalid_request", f"`type` must be one of {known}")
    if template is not None and (type_ != "email" or template not in TEMPLATES):
        raise ApiError(422, "invalid_request", "`template` must name an email template")
    config = {"template": template} if template else {}
    try:
        new = await operations.replace_next(
            runtime, case, _actor(request), type_, config, _delay(payload)
        )
    except Refused as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    return {"index": new.index, "type": new.type, "due_at": new.due_at, "config": new.config}


async def edit_step_email(request: Request, workspace_id: int) -> dict[str, Any]:
    """Change a pending email step's `subject` and `body` (blank: the template's wording)."""
    runtime: Runtime = request.state.runtime
    case = await api._found(request)
    step = await CaseStep.get_or_none(case_id=case.id, index=request.path_params["index"])
    if step is None:
        raise ApiError(404, "not_found", "no such step in this case")
    payload = await _json_object(request)
    subject, body = payload.get("subject", ""), payload.get("body", "")
    if not isinstance(subject, str) or not isinstance(body, str):
        raise ApiError(422, "invalid_request", "`subject` and `body` must be text")
    try:
        edited = await operations.edit_email(
            case, step, subject, body, _actor(request), runtime.now()
        )
    except Refused as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    return {"index": edited.index, "type": edited.type, "config": edited.config}


async def _processing(paused: bool) -> dict[str, Any]:
    changed = await operations.set_processing_paused(paused)
    settings = await settings_for()
    return {"processing_paused": settings.processing_paused, "changed": changed}


async def pause_processing(request: Request, workspace_id: int) -> dict[str, Any]:
    """Pause every case of the workspace at once (new failures still open cases)."""
    return await _processing(True)


async def resume_processing(request: Request, workspace_id: int) -> dict[str, Any]:
    """Resume the workspace's cases; steps that fell due meanwhile run at the next tick."""
    return await _processing(False)


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
            f"{case}/replace",
            replace_next,
            methods=("POST",),
            scope="write",
            name="recovery_case_replace",
            operation={
                "tags": _TAGS,
                "requestBody": _body(
                    ["type"],
                    {
                        "type": {"type": "string", "description": "A step type's key"},
                        "template": {"type": "string", "enum": sorted(TEMPLATES)},
                        "delay_hours": {"type": "number", "minimum": 0,
                                        "maximum": MAX_DELAY_HOURS},
                    },
                ),
                "responses": {"200": {"description": "The new step"}, **_CONFLICT},
            },
        ),
        ApiRoute(
            f"{case}/steps/{{index:int}}/email",
            edit_step_email,
            methods=("POST",),
            scope="write",
            name="recovery_step_email_edit",
            operation={
                "tags": _TAGS,
                "requestBody": _body(
                    [], {"subject": {"type": "string"}, "body": {"type": "string"}}
                ),
                "responses": {"200": {"description": "The edited step"}, **_CONFLICT},
            },
        ),
        *[
            ApiRoute(
                f"/recovery/processing/{verb}",
                handler,
                methods=("POST",),
                scope="write",
                name=f"recovery_processing_{verb}",
                operation={"tags": _TAGS},
            )
            for verb, handler in (("pause", pause_processing), ("resume", resume_processing))
        ],
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
                "requestBody": _body(["body"], {"body": {"type": "string", "maxLength": 5000}}),
            },
        ),
    ]


def _body(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    schema = {"type": "object", "required": required, "properties": properties}
    return {"required": True, "content": {"application/json": {"schema": schema}}}
