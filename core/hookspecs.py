# mypy: disable-error-code="empty-body"
"""The core's hooks: the whole surface a plugin, built-in or third-party, builds on.

Registration hooks run once at start-up and return lists. Render-time hooks may be async (or
return an awaitable) and are gathered with per-plugin failure isolation. Notification hooks
return nothing. Arguments keep one name everywhere: `settings`, `workspace`, `request`,
`actor`, `event`, `runtime`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.routing import BaseRoute

    from core.contributions import (
        ApiRoute,
        CliCommand,
        ModelApp,
        NavLink,
        Panel,
        Schedule,
        StripeEventHandler,
        StripePermission,
        TaskDef,
    )
    from core.models import User, Workspace
    from core.models.events import Event
    from core.runtime import Runtime
    from core.settings import Settings

hookspec = pluggy.HookspecMarker("secondloop")


# --- Registration: called once at start-up, each returns a list --------------------------------


@hookspec
def register_models() -> list[ModelApp]:
    """Tortoise apps this plugin owns: one label, its model modules and its migrations package."""


@hookspec
def register_routes(settings: Settings) -> list[BaseRoute]:
    """Starlette routes or Mounts for the web UI (HTML, HTMX fragments); session auth applies."""


@hookspec
def register_api_routes() -> list[ApiRoute]:
    """JSON endpoints mounted under /api/v1 and listed in the OpenAPI document."""


@hookspec
def register_tasks() -> list[TaskDef]:
    """Named background tasks the plugin enqueues with `core.jobs.enqueue`."""


@hookspec
def register_schedules(settings: Settings) -> list[Schedule]:
    """Periodic tasks (cron or interval); one lock per schedule, last run recorded.

    `settings` lets a plugin read its own options (`settings.extra`, the `SECONDLOOP_*`
    environment); raise `ValueError` with a clear message for a bad value.
    """


@hookspec
def register_stripe_handlers() -> list[StripeEventHandler]:
    """Handlers for stored Stripe events; each runs as its own retried job per event."""


@hookspec
def register_hookspecs() -> list[Any]:
    """Modules or classes of hookspecs this plugin publishes for other plugins to implement."""


@hookspec
def register_cli_commands() -> list[CliCommand]:
    """Sub-commands added to the `secondloop` command line."""


@hookspec
def register_template_dirs() -> list[str]:
    """Extra Jinja2 template directories (a plugin's own `templates/` is found without this)."""


@hookspec
def register_stripe_permissions() -> list[StripePermission]:
    """Permissions a restricted key needs for this plugin's Stripe calls, each with its probe.

    Probed when an operator connects a key; the missing ones are named to the operator as
    Stripe's key editor names them (optional ones marked so).
    """


@hookspec
def register_token_paths() -> list[str]:
    """URL path prefixes whose next segment is a bearer token (`"r"` for `/r/{token}`).

    A customer link that carries its own credential must never reach a log line: every log
    record, uvicorn's access log included, has that segment replaced by `[redacted]`. Declare
    each prefix a route of yours puts a token after; the core declares its own.
    """


# --- Render time: may be async, gathered with per-plugin isolation ----------------------------


@hookspec
def dashboard_panels(workspace: Workspace, request: Request) -> list[Panel]:
    """Panels on /app for this workspace; each loads its own HTMX fragment."""


@hookspec
def settings_panels(workspace: Workspace, request: Request) -> list[Panel]:
    """Panels on the workspace settings page; each loads its own HTMX fragment."""


@hookspec
def nav_links(workspace: Workspace, request: Request) -> list[NavLink]:
    """Links in the dashboard navigation."""


@hookspec
def extra_css_urls(workspace: Workspace, request: Request) -> list[str]:
    """Stylesheet URLs the shell links in <head>, so panels are styled without inline styles.

    The Content-Security-Policy allows only same-origin styles: a panel fragment swapped in by
    htmx may not carry `style=` attributes. Return paths such as
    `/static/plugins/<name>/<file>.css`; duplicates are linked once.
    """


@hookspec
def onboarding_steps(workspace: Workspace, request: Request) -> list[Any]:
    """Extra onboarding steps (`core.onboarding.OnboardingStep`) after Stripe is connected."""


# --- Notifications: return nothing -----------------------------------------------------------


@hookspec
def startup(runtime: Runtime) -> None:
    """The process is starting (web, worker or scheduler): database and broker are ready."""


@hookspec
def event_stored(event: Event, runtime: Runtime) -> None:
    """A new Stripe event was stored (called after commit, once per event, never for duplicates)."""


@hookspec
def workspace_created(workspace: Workspace, actor: User | None, runtime: Runtime) -> None:
    """A workspace was created; `actor` is its owner (None when made from the CLI without one)."""


@hookspec
def stripe_account_connected(workspace: Workspace, account: Any, runtime: Runtime) -> None:
    """A Stripe account was connected and verified for the workspace."""
