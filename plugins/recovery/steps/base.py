"""The step-type interface every step (built-in or from a plugin) implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from core.runtime import Runtime
    from plugins.recovery.models import Case, CaseStep, RecoverySettings


class Outcome(StrEnum):
    DONE = "done"  # the step finished; the sequence goes on
    STOP = "stop"  # the step finished and the rest of the sequence is cancelled
    WAIT = "wait"  # not yet: look again after `delay` seconds (not an error)
    RETRY = "retry"  # a transient failure: run again after `delay` seconds (counts an attempt)


@dataclass(frozen=True)
class StepResult:
    outcome: Outcome
    detail: dict[str, Any] = field(default_factory=dict)
    delay: float = 0.0

    @classmethod
    def done(cls, **detail: Any) -> StepResult:
        return cls(Outcome.DONE, detail)

    @classmethod
    def stop(cls, **detail: Any) -> StepResult:
        return cls(Outcome.STOP, detail)

    @classmethod
    def wait(cls, delay: float, **detail: Any) -> StepResult:
        return cls(Outcome.WAIT, detail, delay)

    @classmethod
    def retry(cls, delay: float, **detail: Any) -> StepResult:
        return cls(Outcome.RETRY, detail, delay)


@dataclass
class StepContext:
    """What a step may use: the runtime, its case, the workspace's settings, the customer's now."""

    runtime: Runtime
    case: Case
    settings: RecoverySettings
    now: datetime


class StepType(ABC):
    """A kind of step. `run` must be idempotent: after a crash it may run again for the same
    step, so side effects carry `step.idempotency_key` (or a key derived from `step.id`)."""

    key: ClassVar[str]
    label: ClassVar[str]
    # Steps the customer sees (emails) pause when a new payment method arrives.
    customer_facing: ClassVar[bool] = False
    config_template: ClassVar[str | None] = None

    @abstractmethod
    async def run(self, step: CaseStep, ctx: StepContext) -> StepResult:
        """Do the step's work and say how it went."""


def collect_step_types(host: Any) -> dict[str, StepType]:
    """Every registered step type by key; two plugins claiming one key is a start-up error."""
    types: dict[str, StepType] = {}
    for step_type in host.collect("register_recovery_steps"):
        if step_type.key in types:
            raise ValueError(f"two recovery step types are keyed {step_type.key!r}")
        types[step_type.key] = step_type
    return types
