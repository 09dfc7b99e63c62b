"""The sequence editor: one form per decline category; saving publishes a new version.

The form is plain HTML (works without JavaScript); htmx swaps the form in place. Buttons name
an operation: save, add, remove-N, up-N, down-N, preview-N. Everything but save only redraws
the form; save validates (`sequences.validate`) and publishes, so running cases keep theirs.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from core.tenancy import workspace_scope
from core.web.auth import WorkspaceContext
from core.web.templating import is_htmx
from plugins.recovery import compose, sequences
from plugins.recovery.cases import settings_for
from plugins.recovery.copy import OPERATOR_TEMPLATES, TEMPLATES
from plugins.recovery.declines import Category
from plugins.recovery.engine import step_types
from plugins.recovery.models import RecoverySettings, Sequence, SequenceVersion
from plugins.recovery.ui import common, framing

FIELDS = ("type", "day", "hours", "template", "subject", "body", "tone")
# Keys the form edits; anything else a step carries (a plugin step's settings) is "extra".
KNOWN_KEYS = {*FIELDS, "payday_aware"}
EXTRA_MAX = 4_000


# Every sequence a workspace has: one per decline category, and the win-back one.
KEYS = [*(c.value for c in Category), sequences.WINBACK]


def sequences_url(category: str = "") -> str:
    return f"{common.BASE}/sequences" + (f"/{category}" if category else "")


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value if value not in (None, "") else 0)


def row_from_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """A stored step as the form shows it."""
    extra = {k: v for k, v in spec.items() if k not in KNOWN_KEYS}
    return {
        "type": str(spec.get("type") or ""),
        "day": _number(spec.get("day", 0)),
        "hours": _number(spec.get("hours", 0)),
        "template": str(spec.get("template") or ""),
        "subject": str(spec.get("subject") or ""),
        "body": str(spec.get("body") or ""),
        "tone": str(spec.get("tone") or ""),
        "payday_aware": bool(spec.get("payday_aware")),
        "extra": json.dumps(extra, sort_keys=True) if extra else "",
    }


def rows_from_form(form: Any) -> list[dict[str, Any]]:
    count = min(common.int_param(form.get("count"), 0) or 0, sequences.MAX_STEPS + 1)
    rows = []
    for i in range(count):
        row = {key: str(form.get(f"steps-{i}-{key}") or "") for key in FIELDS}
        row["payday_aware"] = form.get(f"steps-{i}-payday_aware") == "1"
        row["extra"] = str(form.get(f"steps-{i}-extra") or "")
        rows.append(row)
    return rows


def _as_number(raw: str) -> float | str:
    try:
        value = float(raw.strip() or 0)
    except ValueError:
        return raw  # validation names the step and the field
    return int(value) if value.is_integer() else value


def spec_from_row(row: dict[str, Any], number: int) -> dict[str, Any]:
    """A form row as a stored step; SequenceProblem for unreadable advanced settings."""
    spec: dict[str, Any] = {}
    extra = row["extra"].strip()
    if extra:
        if len(extra) > EXTRA_MAX:
            raise sequences.SequenceProblem(f"Step {number}: the advanced settings are too long.")
        try:
            parsed = json.loads(extra)
        except ValueError:
            raise sequences.SequenceProblem(
                f"Step {number}: the advanced settings are not valid JSON."
            ) from None
        if not isinstance(parsed, dict):
            raise sequences.SequenceProblem(
                f"Step {number}: the advanced settings must be a JSON object."
            )
        spec.update({k: v for k, v in parsed.items() if k not in KNOWN_KEYS})
    spec["type"] = row["type"]
    spec["day"] = _as_number(row["day"])
    spec["hours"] = _as_number(row["hours"])
    # Wording belongs to emails (a template to notifications too); a step switched to another
    # type keeps it in the form, in case it is switched back, but not in the sequence.
    kept = {"email": FIELDS[3:], "notify_operator": ("template",)}.get(row["type"], ())
    for key in kept:
        value = row[key].strip() if key != "body" else row[key].strip("\r\n")
        if value:
            spec[key] = value.replace("\r\n", "\n")
    if row["payday_aware"] and row["type"] == "retry":
        spec["payday_aware"] = True
    return spec


def _apply_op(rows: list[dict[str, Any]], op: str) -> int | None:
    """Change the rows for add/remove/up/down; returns the row to preview, if asked."""
    name, _, raw = op.partition("-")
    index = common.int_param(raw)
    if name == "add" and len(rows) < sequences.MAX_STEPS:
        last = rows[-1] if rows else {"day": "0"}
        rows.append({**row_from_spec({"type": "email", "day": last["day"]}), "template": ""})
    elif index is None or index >= len(rows):
        return None
    elif name == "remove":
        rows.pop(index)
    elif name == "up" and index > 0:
        rows[index - 1], rows[index] = rows[index], rows[index - 1]
    elif name == "down" and index + 1 < len(rows):
        rows[index + 1], rows[index] = rows[index], rows[index + 1]
    elif name == "preview":
        return index
    return None


def preview_row(
    row: dict[str, Any], category: str, settings: RecoverySettings
) -> tuple[compose.Rendered | None, str | None]:
    """A step's email with sample variables, or why it cannot be rendered."""
    if row["type"] != "email":
        return None, "Only email steps have a preview."
    default_subject, default_body = compose.default_wording(row["template"] or "")
    subject = row["subject"].strip() or default_subject
    body = row["body"].strip() or default_body
    try:
        compose.check(subject, "The subject", compose.SUBJECT_MAX)
        compose.check(body, "The body", compose.BODY_MAX)
    except compose.TemplateProblem as exc:
        return None, str(exc)
    tone = compose.tone_for(settings, category, {"tone": row["tone"]})
    sample = compose.sample_values(settings.product_description, settings.sender_name, tone)
    return compose.render(subject, body, sample, compose.button_for(category)), None


async def _current(category: str) -> tuple[int | None, list[dict[str, Any]], list[Any]]:
    """(current version number or None for the untouched defaults, its steps, all versions)."""
    sequence = await Sequence.get_or_none(category=category)
    if sequence is None:
        return None, list(sequences.defaults_for(category)), []
    versions = await SequenceVersion.filter(sequence_id=sequence.id).order_by("-version")
    current = next((v for v in versions if v.version == sequence.current_version), None)
    return sequence.current_version, list(current.steps if current else []), versions


async def _render(
    request: Request,
    ctx: WorkspaceContext,
    category: str,
    rows: list[dict[str, Any]],
    *,
    error: str | None = None,
    preview: int | None = None,
    status: int = 200,
) -> Response:
    runtime = common.runtime_of(request)
    with workspace_scope(ctx.workspace.id):
        settings = await settings_for()
        version, _, versions = await _current(category)
    rendered, preview_error = (None, None)
    if preview is not None:
        rendered, preview_error = preview_row(rows[preview], category, settings)
    defaults = {name: compose.default_wording(name) for name in TEMPLATES}
    context = {
        "category": category,
        "rows": rows,
        "error": error,
        "version": version,
        "versions": versions[:10],
        "preview": preview,
        "rendered": rendered,
        "mirror_html": (
            framing.mirror(rendered.text, compose.button_for(category)) if rendered else ""
        ),
        "preview_error": preview_error,
        "settings": settings,
        "step_types": sorted(step_types(runtime).values(), key=lambda t: t.key),
        "templates": sorted(TEMPLATES),
        "operator_templates": sorted(OPERATOR_TEMPLATES),
        "tones": compose.TONES,
        "category_tone": compose.tone_for(settings, category, {}),
        "defaults": defaults,
        "variables": compose.VARIABLES,
        "max_steps": sequences.MAX_STEPS,
    }
    return await common.page(
        request, ctx, "recovery/sequence.html", context, block="editor", status=status
    )


def _category(request: Request) -> str | None:
    category = str(request.path_params["category"])
    return category if category in KEYS else None


async def sequence_list(request: Request) -> Response:
    ctx = await common.workspace(request)
    listed = []
    with workspace_scope(ctx.workspace.id):
        for key in KEYS:
            version, steps, _ = await _current(key)
            listed.append((key, version, steps))
    return await common.page(request, ctx, "recovery/sequences.html", {"listed": listed})


async def sequence_editor(request: Request) -> Response:
    ctx = await common.workspace(request)
    category = _category(request)
    if category is None:
        from core.web.templating import render

        return render(request, "error.html", {"message": "No such sequence."}, status=404)
    if request.method == "GET":
        with workspace_scope(ctx.workspace.id):
            _, steps, _ = await _current(category)
        return await _render(request, ctx, category, [row_from_spec(s) for s in steps])
    ctx.require_role(_admin())
    form = await request.form()
    rows = rows_from_form(form)
    op = str(form.get("op") or "save")
    if op != "save":
        preview = _apply_op(rows, op)
        return await _render(request, ctx, category, rows, preview=preview)
    runtime = common.runtime_of(request)
    try:
        specs = [spec_from_row(row, n) for n, row in enumerate(rows, start=1)]
        with workspace_scope(ctx.workspace.id):
            published = await sequences.publish(category, specs, set(step_types(runtime)))
    except sequences.SequenceProblem as exc:
        return await _render(request, ctx, category, rows, error=str(exc), status=422)
    message = (
        f"Saved as version {published.version}. New cases start on it; running cases keep "
        "the version they started on."
    )
    if not is_htmx(request):
        return common.back(request, sequences_url(category), message)
    request.session[common.FLASH] = message
    return await _render(request, ctx, category, [row_from_spec(s) for s in published.steps])


async def sequence_reset(request: Request) -> Response:
    ctx = await common.workspace(request, role="admin")
    category = _category(request)
    if category is None:
        from core.web.templating import render

        return render(request, "error.html", {"message": "No such sequence."}, status=404)
    runtime = common.runtime_of(request)
    with workspace_scope(ctx.workspace.id):
        published = await sequences.reset(category, set(step_types(runtime)))
    return common.back(
        request,
        sequences_url(category),
        f"Reset to the built-in steps as version {published.version}.",
    )


def _admin() -> Any:
    from core.models.workspaces import Role

    return Role.ADMIN
