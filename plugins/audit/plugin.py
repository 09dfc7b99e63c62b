"""The audit plugin's hook implementations: thin, delegating to the modules beside them."""

from __future__ import annotations

from typing import Any

from core.contributions import (
    ApiRoute,
    ModelApp,
    NavLink,
    Panel,
    Schedule,
    StripePermission,
    TaskDef,
)
from core.plugins import hookimpl


@hookimpl
def register_models() -> list[ModelApp]:
    return [ModelApp(label="audit", models=["plugins.audit.models"], migrations="migrations.audit")]


@hookimpl
def register_tasks() -> list[TaskDef]:
    from plugins.audit import tasks

    return tasks.TASKS


@hookimpl
def register_stripe_permissions() -> list[StripePermission]:
    from plugins.audit import permissions

    return permissions.stripe_permissions()


@hookimpl
def register_api_routes() -> list[ApiRoute]:
    from plugins.audit import api

    return api.ROUTES


@hookimpl
def register_routes() -> list[Any]:
    from plugins.audit import routes

    return routes.routes()


@hookimpl
def register_schedules() -> list[Schedule]:
    from plugins.audit import monthly

    return [monthly.SCHEDULE]


@hookimpl
def settings_panels() -> list[Panel]:
    return [Panel("audit", "Monthly audit", "/app/audit/settings", order=50)]


@hookimpl
def nav_links() -> list[NavLink]:
    return [NavLink("Audit", "/app/audit", order=20)]


@hookimpl
def dashboard_panels() -> list[Panel]:
    return [Panel("audit", "Revenue audit", "/app/audit/panel", order=20)]


@hookimpl
def startup(runtime: Any) -> None:
    from plugins.audit.onboarding import latest_recoverable

    runtime.services["audit.latest_recoverable"] = latest_recoverable


@hookimpl
def onboarding_steps(workspace: Any) -> Any:
    from plugins.audit.onboarding import audit_step

    async def steps() -> list[Any]:
        return [await audit_step(workspace)]

    return steps
