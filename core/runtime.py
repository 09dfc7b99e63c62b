"""The runtime: everything a request, task or hook needs, built once per process (no globals)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from core import redact
from core.clock import Clock
from core.crypto import Keyring
from core.plugins import PluginHost
from core.settings import Settings

if TYPE_CHECKING:
    from taskiq import AsyncBroker

    from core.contributions import Schedule, StripeEventHandler, TaskDef


@dataclass
class Runtime:
    settings: Settings
    host: PluginHost
    clock: Clock
    keyring: Keyring
    broker: AsyncBroker | None = None
    handlers: dict[str, StripeEventHandler] = field(default_factory=dict)
    tasks: dict[str, TaskDef] = field(default_factory=dict)
    schedules: dict[str, Schedule] = field(default_factory=dict)
    # Services other modules attach at start-up (email outbox, metrics, stripe factory, ...).
    services: dict[str, Any] = field(default_factory=dict)

    def now(self) -> Any:
        return self.clock.now()


def build_runtime(
    settings: Settings, host: PluginHost, clock: Clock, keyring: Keyring | None = None
) -> Runtime:
    runtime = Runtime(
        settings=settings,
        host=host,
        clock=clock,
        keyring=keyring or Keyring.from_strings(settings.encryption_keys),
    )
    redact.use_token_paths(host.collect("register_token_paths"))
    for handler in host.collect("register_stripe_handlers"):
        if handler.name in runtime.handlers:
            raise ValueError(f"two Stripe event handlers are named {handler.name!r}")
        runtime.handlers[handler.name] = handler
    for task in host.collect("register_tasks"):
        if task.name in runtime.tasks:
            raise ValueError(f"two tasks are named {task.name!r}")
        runtime.tasks[task.name] = task
    for schedule in host.collect("register_schedules", settings=settings):
        if schedule.name in runtime.schedules:
            raise ValueError(f"two schedules are named {schedule.name!r}")
        if schedule.task not in runtime.tasks:
            raise ValueError(f"schedule {schedule.name!r} names unknown task {schedule.task!r}")
        runtime.schedules[schedule.name] = schedule
    return runtime
