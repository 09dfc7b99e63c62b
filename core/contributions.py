"""The small frozen values that hooks return. Plugins build these; the core consumes them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse

    from starlette.routing import BaseRoute

    from core.events.normalize import StripeEvent
    from core.runtime import Runtime
    from core.stripe.client import StripeAccess


@dataclass(frozen=True)
class ModelApp:
    """A Tortoise app: its label, model modules and the package holding its migrations."""

    label: str
    models: Sequence[str]
    migrations: str


@dataclass(frozen=True)
class StripeEventHandler:
    """Runs once per stored event of the listed types (`*` for every type).

    `func(event=StripeEvent, workspace_id=int, runtime=Runtime)` is awaited inside the event's
    workspace scope. It must be idempotent: an event may arrive twice or out of order. Raise
    `core.events.Uninterpretable` for an event it cannot read; any other error is retried.
    """

    name: str
    event_types: Sequence[str]
    func: Callable[..., Awaitable[None]]
    max_attempts: int = 8


@dataclass(frozen=True)
class TaskDef:
    """A named background task: `func(workspace_id=int | None, runtime=Runtime, **payload)`."""

    name: str
    func: Callable[..., Awaitable[Any]]
    max_attempts: int = 8


@dataclass(frozen=True)
class Schedule:
    """Enqueue task `task` on a cron expression (`*/5 * * * *`) or every `every` seconds.

    One run per slot: an overlapping run is skipped, not queued.
    """

    name: str
    task: str
    cron: str | None = None
    every: float | None = None
    description: str = ""


@dataclass(frozen=True)
class Panel:
    """A dashboard box, loaded as its own HTMX fragment from `url`."""

    key: str
    title: str
    url: str
    order: int = 100
    width: str = "half"  # "half" | "full"


@dataclass(frozen=True)
class NavLink:
    label: str
    href: str
    order: int = 100


@dataclass(frozen=True)
class ApiRoute:
    """A JSON endpoint under /api/v1, authenticated by API key, scoped to the key's workspace.

    `endpoint(request, workspace_id)` returns a JSON-able value or a Response; `scope` is the
    key scope it needs (`read` or `write`); `operation` is its OpenAPI operation object.
    """

    path: str
    endpoint: Callable[..., Awaitable[Any]]
    methods: Sequence[str] = ("GET",)
    scope: str = "read"
    operation: Mapping[str, Any] = field(default_factory=dict)
    name: str | None = None


@dataclass(frozen=True)
class CliCommand:
    """A `secondloop NAME` sub-command. `run(args, settings)` may be async; returns an exit code."""

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[..., Any]


RouteList = list["BaseRoute"]
HandlerFunc = Callable[["StripeEvent", int, "Runtime"], Awaitable[None]]


@dataclass(frozen=True)
class StripePermission:
    """A permission a restricted key needs for a plugin's work, and how to test for it.

    `probe(access)` makes the cheapest call that needs the permission and changes nothing (a
    `limit=1` list, or a write on an id that does not exist: Stripe checks permissions first,
    so only a 403 `permission_error` means the key lacks it). `stripe_name` is the name in
    Stripe's restricted-key editor. Several plugins may name the same `key`; it is probed once,
    and required when any of them requires it.
    """

    key: str  # "invoices:write"
    label: str  # what the operator reads: "Retry invoice payments"
    stripe_name: str  # "Invoices: Write"
    probe: Callable[[StripeAccess], Awaitable[Any]]
    required: bool = True
