"""Sequences: the default steps per decline category, and their immutable versions.

A workspace's sequence for a category is created from the defaults the first time a case needs
it. Editing publishes a new `SequenceVersion`; a running case keeps the version it started on,
because its steps were planned from that version when it opened.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from plugins.recovery.declines import Category
from plugins.recovery.models import Sequence, SequenceVersion

# How far a payday-aware retry may move to land on the 1st or the 15th.
PAYDAY_WINDOW = timedelta(days=3)
PAYDAYS = (1, 15)


def _step(type_: str, day: float = 0, hours: float = 0, **config: Any) -> dict[str, Any]:
    return {"type": type_, "day": day, "hours": hours, **config}


_FUNDS = [
    _step("email", 0, template="payment_failed"),
    _step("retry", 2, payday_aware=True),
    _step("email", 3, template="reminder"),
    _step("email", 7, template="reminder"),
    _step("retry", 10),
    _step("email", 14, template="final_notice"),
    # The final notice promises two more days before the final action.
    _step("final_action", 16),
]

DEFAULTS: dict[Category, list[dict[str, Any]]] = {
    Category.FUNDS: _FUNDS,
    Category.ISSUER: _FUNDS,
    Category.TECHNICAL: [
        _step("retry", 0, hours=2),
        _step("retry", 0, hours=8),
        *[s for s in _FUNDS if s["day"] >= 1],
    ],
    Category.CARD_UPDATE: [
        _step("email", 0, template="update_card"),
        _step("email", 3, template="update_card"),
        _step("email", 7, template="update_card"),
        _step("email", 12, template="final_notice"),
        _step("final_action", 14),
    ],
    Category.AUTHENTICATION: [
        _step("email", 0, template="authenticate"),
        _step("email", 2, template="authenticate"),
        _step("email", 5, template="authenticate"),
    ],
    Category.FRAUD: [
        _step("email", 0, template="neutral"),
        _step("notify_operator", 0, template="customer_flagged"),
    ],
    Category.REVOKED: [
        _step("email", 0, template="neutral"),
        _step("notify_operator", 0, template="customer_flagged"),
    ],
    Category.OTHER: [
        _step("email", 0, template="update_card"),
        _step("notify_operator", 0, template="investigate"),
        _step("email", 3, template="update_card"),
        _step("email", 7, template="final_notice"),
    ],
}

# The win-back sequence, after a subscription ended for non-payment (hours/days from the end).
# The first email's delay comes from `RecoverySettings.winback_first_hours` (1 or 4).
WINBACK = "winback"
WINBACK_STEPS = [
    _step("email", 0, hours=1, template="winback_first", first_delay_setting=True),
    _step("email", 4, template="winback_reminder"),
    _step("email", 14, template="winback_last"),
    # A comeback after this still counts (a lost win-back can be recovered), but the case
    # stops being an open case on the dashboard.
    _step("close", 30, reason="no comeback"),
]


def defaults_for(key: str) -> list[dict[str, Any]]:
    """The default steps of a sequence: a decline category's, or the win-back one."""
    return WINBACK_STEPS if key == WINBACK else DEFAULTS[Category(key)]


# Categories whose customer is flagged for review when a case opens.
FLAGGED = frozenset({Category.FRAUD, Category.REVOKED})


@dataclass(frozen=True)
class PlannedStep:
    index: int
    type: str
    due_at: datetime
    config: dict[str, Any]


def payday_adjust(when: datetime) -> datetime:
    """Move `when` forward to the next 1st or 15th if one falls within the payday window."""
    probe = when
    while probe - when <= PAYDAY_WINDOW:
        if probe.day in PAYDAYS:
            return probe
        probe += timedelta(days=1)
    return when


def plan(steps: list[dict[str, Any]], opened_at: datetime) -> list[PlannedStep]:
    """Turn a version's steps into due times from the moment the case opened."""
    planned = []
    for index, spec in enumerate(steps):
        delay = timedelta(days=float(spec.get("day", 0)), hours=float(spec.get("hours", 0)))
        due = opened_at + delay
        if spec.get("payday_aware"):
            due = payday_adjust(due)
        config = {k: v for k, v in spec.items() if k not in {"type", "day", "hours"}}
        planned.append(PlannedStep(index, str(spec["type"]), due, config))
    return planned


MAX_STEPS = 30
MAX_DAYS = 365.0
MAX_SEQUENCE_BYTES = 100_000


class SequenceProblem(ValueError):
    """A sequence that cannot be published; the message names the step and the problem."""


def _delay(spec: dict[str, Any], key: str, where: str, limit: float) -> float:
    raw = spec.get(key, 0)
    try:
        value = float(raw if raw not in (None, "") else 0)
    except (TypeError, ValueError):
        raise SequenceProblem(f"{where}: {key} must be a number, not {str(raw)[:20]!r}.") from None
    if not math.isfinite(value) or value < 0:
        raise SequenceProblem(f"{where}: the delay cannot be negative.")
    if value > limit:
        raise SequenceProblem(f"{where}: {key} can be at most {limit:g}.")
    return value


def _check_email_fields(spec: dict[str, Any], where: str) -> None:
    from plugins.recovery import compose
    from plugins.recovery.copy import OPERATOR_TEMPLATES, TEMPLATES

    template = spec.get("template")
    known = TEMPLATES if spec["type"] == "email" else OPERATOR_TEMPLATES
    if template not in (None, "") and template not in known:
        raise SequenceProblem(f"{where}: unknown template {str(template)[:40]!r}.")
    if spec["type"] != "email":
        return
    tone = spec.get("tone")
    if tone not in (None, "") and tone not in compose.TONES:
        raise SequenceProblem(f"{where}: unknown tone {str(tone)[:20]!r}.")
    for key, limit in (("subject", compose.SUBJECT_MAX), ("body", compose.BODY_MAX)):
        source = spec.get(key)
        if source in (None, ""):
            continue
        if not isinstance(source, str):
            raise SequenceProblem(f"{where}: the {key} must be text.")
        if key == "subject" and ("\n" in source or "\r" in source):
            raise SequenceProblem(f"{where}: the subject must be a single line.")
        try:
            compose.check(source, f"{where} {key}", limit)
        except compose.TemplateProblem as exc:
            raise SequenceProblem(str(exc)) from None


def validate(steps: list[dict[str, Any]], known_types: set[str]) -> None:
    """Refuse a sequence an engine could not run: raises SequenceProblem with a plain reason."""
    if not isinstance(steps, list) or not steps:
        raise SequenceProblem("A sequence needs at least one step.")
    if len(steps) > MAX_STEPS:
        raise SequenceProblem(f"A sequence has at most {MAX_STEPS} steps.")
    if len(json.dumps(steps, default=str)) > MAX_SEQUENCE_BYTES:
        raise SequenceProblem("The sequence is too large; shorten its templates.")
    for number, spec in enumerate(steps, start=1):
        where = f"Step {number}"
        if not isinstance(spec, dict):
            raise SequenceProblem(f"{where}: not a step.")
        if spec.get("type") not in known_types:
            raise SequenceProblem(f"{where}: unknown step type {str(spec.get('type'))[:64]!r}.")
        _delay(spec, "day", where, MAX_DAYS)
        _delay(spec, "hours", where, MAX_DAYS * 24)
        if spec["type"] in {"email", "notify_operator"}:
            _check_email_fields(spec, where)


async def current_version(category: Category | str) -> SequenceVersion:
    """The version new cases of `category` (or `WINBACK`) start on (defaults on first use)."""
    key = str(category)
    sequence = await Sequence.get_or_none(category=key)
    if sequence is None:
        try:
            async with in_transaction():
                sequence = await Sequence.create(category=key, current_version=1)
                await SequenceVersion.create(sequence=sequence, version=1, steps=defaults_for(key))
        except IntegrityError:  # a concurrent case created it first
            sequence = await Sequence.get(category=key)
    return await SequenceVersion.get(sequence_id=sequence.id, version=sequence.current_version)


async def publish(
    category: Category | str, steps: list[dict[str, Any]], known_types: set[str]
) -> SequenceVersion:
    """Store `steps` as the next version of the category's sequence; running cases keep theirs."""
    validate(steps, known_types)
    await current_version(category)
    async with in_transaction():
        sequence = await Sequence.get(category=str(category))
        number = sequence.current_version + 1
        version = await SequenceVersion.create(sequence=sequence, version=number, steps=steps)
        await Sequence.filter(id=sequence.id).update(current_version=number)
    return version


async def reset(category: Category | str, known_types: set[str]) -> SequenceVersion:
    """Publish the built-in steps as the next version (running cases keep theirs)."""
    return await publish(category, defaults_for(str(category)), known_types)
