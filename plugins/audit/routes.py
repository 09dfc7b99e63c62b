"""The audit's pages under /app/audit: start, progress (htmx polling), results, history,
comparison of two runs, CSV export, and the dashboard panel fragment."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from core.runtime import Runtime
from core.stripe.accounts import active_account
from core.tenancy import workspace_scope
from core.web.auth import WorkspaceContext, require_workspace
from core.web.shell import shell_context
from core.web.templating import render
from plugins.audit import chart, monthly, views
from plugins.audit.csvexport import failed_invoices_csv
from plugins.audit.lease import active_for_account
from plugins.audit.models import AuditRun, RunStatus
from plugins.audit.runner import MAX_ATTEMPTS, start_run

HISTORY = 20


async def _page(request: Request, ctx: WorkspaceContext, **extra: Any) -> dict[str, Any]:
    context = await shell_context(request, ctx)
    context.update(extra)
    return context


async def _run(request: Request) -> AuditRun | None:
    try:
        run_id = int(request.path_params["id"])
    except (KeyError, ValueError):
        return None
    return await AuditRun.get_or_none(id=run_id)


async def index(request: Request) -> Response:
    ctx = await require_workspace(request)
    account = await active_account(request, ctx.workspace)
    with workspace_scope(ctx.workspace.id):
        runs = await AuditRun.all().order_by("-created_at", "-id").limit(HISTORY)
    latest = next((r for r in runs if r.status == RunStatus.DONE), None)
    return render(
        request,
        "audit/index.html",
        await _page(
            request,
            ctx,
            account=account,
            runs=runs,
            latest=latest,
            headlines=views.headlines(latest.results if latest else None),
        ),
    )


async def start(request: Request) -> Response:
    ctx = await require_workspace(request)
    account = await active_account(request, ctx.workspace)
    if account is None:
        return RedirectResponse("/app/audit", status_code=303)
    form = await request.form()
    try:
        lookback = min(max(int(str(form.get("lookback_days") or 90)), 1), 730)
    except ValueError:
        lookback = 90
    runtime: Runtime = request.app.state.runtime
    with workspace_scope(ctx.workspace.id):
        # A double submit, or a second tab: open the run under way instead of a second one.
        running = await active_for_account(account.stripe_account_id, runtime.now())
        if running is not None:
            return RedirectResponse(f"/app/audit/runs/{running.id}?already=1", status_code=303)
        run = await start_run(runtime, ctx.workspace.id, account, lookback_days=lookback)
    return RedirectResponse(f"/app/audit/runs/{run.id}", status_code=303)


async def show(request: Request) -> Response:
    ctx = await require_workspace(request)
    with workspace_scope(ctx.workspace.id):
        run = await _run(request)
    if run is None:
        return PlainTextResponse("No such audit run", status_code=404)
    results = run.results or {}
    return render(
        request,
        "audit/run.html",
        await _page(
            request,
            ctx,
            run=run,
            results=results,
            headlines=views.headlines(run.results),
            categories=views.categories(run.results),
            fates=views.fates(run.results),
            bars=chart.bars(results.get("expiring_cards") or {}),
            chart=chart,
            will_retry=run.status == RunStatus.FAILED and run.attempts < MAX_ATTEMPTS,
            already=bool(request.query_params.get("already")),
            progress_bar=views.progress_bar(run.progress or {}),
            deadlines=views.deadlines(run.results),
            dispute_figures=views.dispute_figures(run.results),
            health_figures=views.health_figures(run.results),
        ),
        block="progress" if request.query_params.get("fragment") else None,
    )


async def export(request: Request) -> Response:
    ctx = await require_workspace(request)
    with workspace_scope(ctx.workspace.id):
        run = await _run(request)
    if run is None:
        return PlainTextResponse("No such audit run", status_code=404)
    filename = f"audit-{run.id}-failed-invoices.csv"
    return Response(
        failed_invoices_csv(run.results),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def compare(request: Request) -> Response:
    ctx = await require_workspace(request)
    ids = []
    for name in ("a", "b"):
        try:
            ids.append(int(request.query_params.get(name, "")))
        except ValueError:
            ids.append(0)
    with workspace_scope(ctx.workspace.id):
        first = await AuditRun.get_or_none(id=ids[0])
        second = await AuditRun.get_or_none(id=ids[1])
        runs = (
            await AuditRun.filter(status=RunStatus.DONE)
            .order_by("-created_at", "-id")
            .limit(HISTORY)
        )
    rows = views.compare(first.results if first else None, second.results if second else None)
    return render(
        request,
        "audit/compare.html",
        await _page(request, ctx, first=first, second=second, rows=rows, runs=runs),
    )


async def panel(request: Request) -> Response:
    ctx = await require_workspace(request)
    with workspace_scope(ctx.workspace.id):
        latest = await AuditRun.filter(status=RunStatus.DONE).order_by("-created_at", "-id").first()
    results = latest.results if latest else None
    return render(
        request,
        "audit/_panel.html",
        {
            "latest": latest,
            "summary": (results or {}).get("summary", [])[:3],
        },
    )


async def monthly_settings(request: Request) -> Response:
    """The settings panel: the monthly scheduled audit toggle (GET shows, POST sets)."""
    ctx = await require_workspace(request)
    with workspace_scope(ctx.workspace.id):
        if request.method == "POST":
            form = await request.form()
            await monthly.set_monthly(ctx.workspace.id, form.get("monthly") == "on")
        enabled = await monthly.is_monthly()
    return render(request, "audit/_settings.html", {"enabled": enabled})


def routes() -> list[BaseRoute]:
    return [
        Route("/app/audit", index, methods=["GET"], name="audit"),
        Route("/app/audit/runs", start, methods=["POST"], name="audit-start"),
        Route("/app/audit/runs/{id:int}", show, methods=["GET"], name="audit-run"),
        Route(
            "/app/audit/runs/{id:int}/failed_invoices.csv",
            export,
            methods=["GET"],
            name="audit-export",
        ),
        Route("/app/audit/compare", compare, methods=["GET"], name="audit-compare"),
        Route("/app/audit/panel", panel, methods=["GET"], name="audit-panel"),
        Route(
            "/app/audit/settings", monthly_settings, methods=["GET", "POST"], name="audit-settings"
        ),
    ]
