"""Recovery's own extension points, published through the core's `register_hookspecs` hook.

A plugin implements them with `core.plugins.hookimpl`, like any core hook.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from plugins.recovery.steps.base import StepType

hookspec = pluggy.HookspecMarker("secondloop")


@hookspec
def register_recovery_steps() -> list[StepType]:
    """Step types a recovery sequence may use.

    Return a list of `StepType` instances (see `plugins.recovery.steps.base`): each has a stable
    namespaced `key` (`"acme.slack"`), a `label`, and an idempotent `async run(step, ctx)` that
    returns a `StepResult` (done, stop, wait or retry). Keys must be unique across plugins.
    """
    return []


@hookspec
def classify_decline(
    decline_code: str | None, code: str | None, advice_code: str | None, outcome: str | None
) -> str | None:
    """Override the category of a decline; return a category name or None to pass.

    Synchronous only. Implementations are asked in registration order and the first non-None
    answer that names a known category (funds, issuer, technical, card_update, authentication,
    fraud, revoked, other) wins; otherwise the built-in table decides.
    """
    return None
