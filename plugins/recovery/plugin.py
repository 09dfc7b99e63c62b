"""The recovery plugin's hook implementations: thin, delegating to the modules beside them."""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING, Any

from starlette.routing import BaseRoute, Route

from core.contributions import (
    ApiRoute,
    ModelApp,
    NavLink,
    Panel,
    Schedule,
    StripeEventHandler,
    StripePermission,
    TaskDef,
)
from core.plugins import hookimpl
from core.settings import Settings
from plugins.recovery import (
    api,
    dashboard,
    handlers,
    hookspecs,
    pages,
    permissions,
    routes,
    tasks,
    tracking,
    ui,
)
from plugins.recovery.steps.base import StepType
from plugins.recovery.steps.simple import builtin_steps

if TYPE_CHECKING:
    from core.models import Workspace


@hookimpl
def register_models() -> list[ModelApp]:
    return [
        ModelApp(
            label="recovery", models=["plugins.recovery.models"], migrations="migrations.recovery"
        )
    ]


@hookimpl
def register_hookspecs() -> list[ModuleType]:
    return [hookspecs]


@hookimpl
def register_stripe_handlers() -> list[StripeEventHandler]:
    return handlers.stripe_handlers()


@hookimpl
def register_tasks() -> list[TaskDef]:
    return tasks.task_defs()


@hookimpl
def register_schedules(settings: Settings) -> list[Schedule]:
    return tasks.schedules(settings)


@hookimpl
def register_token_paths() -> list[str]:
    # Customer links carry their own signed token: /r/{token} and /r/o/{token}.
    return ["r/o", "r"]


@hookimpl
def register_stripe_permissions() -> list[StripePermission]:
    return permissions.stripe_permissions()


@hookimpl
def register_recovery_steps() -> list[StepType]:
    # The built-ins register like a third-party plugin's steps would.
    return builtin_steps()


@hookimpl
def register_api_routes() -> list[ApiRoute]:
    from plugins.recovery import api_operator

    return [*api.api_routes(), *api_operator.api_routes()]


@hookimpl
def register_routes() -> list[BaseRoute]:
    return [
        *routes.routes(),
        *ui.routes(),
        *dashboard.routes(),
        Route(tracking.PATH, tracking.pixel, methods=["GET"], name="recovery-open"),
    ]


@hookimpl
def dashboard_panels() -> list[Panel]:
    return dashboard.PANELS


@hookimpl
def extra_css_urls() -> list[str]:
    return [pages.STYLESHEET]


@hookimpl
def nav_links() -> list[NavLink]:
    return [NavLink(label="Recovery", href="/app/recovery", order=30)]


@hookimpl
def settings_panels() -> list[Panel]:
    return [pages.PANEL]


@hookimpl
def onboarding_steps(workspace: Workspace) -> Any:
    # An awaitable: the core gathers render-time hooks with `await_me_maybe`.
    return pages.onboarding_step(workspace.id)
