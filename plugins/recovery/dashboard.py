"""Recovery's dashboard panels: each an HTMX fragment (a page of its own without htmx).

Open cases under time pressure, recovered revenue and the recovery rate (with a 7d/30d/90d/all
switch), which step recovers, declines by category, deliverability. The numbers come from
`stats.py`; the charts are inline SVG from `charts.py`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from core.contributions import Panel
from core.tenancy import workspace_scope
from plugins.recovery import charts, stats
from plugins.recovery.copy import format_amount

BASE = "/app/recovery/dashboard"
PANELS = [
    Panel("recovery-open", "Open recovery cases", f"{BASE}/open", order=10, width="full"),
    Panel("recovery-revenue", "Recovered revenue", f"{BASE}/revenue", order=11),
    Panel("recovery-steps", "Which step recovers", f"{BASE}/steps", order=12),
    Panel("recovery-declines", "Declines by category", f"{BASE}/declines", order=13),
    Panel(
        "recovery-deliverability",
        "Recovery email deliverability",
        f"{BASE}/deliverability",
        order=14,
    ),
]
RANGE_LABELS = {"7d": "7 days", "30d": "30 days", "90d": "90 days", "all": "All time"}


def duration(delta: timedelta | float | None) -> str:
    """A short human duration: `45 min`, `5 h`, `3 d 4 h`."""
    if delta is None:
        return "—"
    seconds = int(delta.total_seconds() if isinstance(delta, timedelta) else delta)
    sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"{sign}{days} d {hours} h" if hours and days < 10 else f"{sign}{days} d"
    if hours:
        return f"{sign}{hours} h"
    return f"{sign}{max(rest // 60, 1 if rest else 0)} min"


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.0%}"


def amounts(by_currency: dict[str, int]) -> str:
    return ", ".join(format_amount(a, c) for c, a in sorted(by_currency.items())) or "0"


def until(now: datetime, when: datetime | None) -> str:
    if when is None:
        return "—"
    delta = when - now
    return "now" if delta <= timedelta(0) else f"in {duration(delta)}"


Builder = Callable[[stats.Window, datetime], Awaitable[dict[str, Any]]]


async def _open(win: stats.Window, now: datetime) -> dict[str, Any]:
    rows, total = await stats.open_cases(now)
    return {"rows": rows, "total": total}


async def _revenue(win: stats.Window, now: datetime) -> dict[str, Any]:
    back = await stats.recovered(win)
    rate = await stats.rate(win)
    values = [amount for _, amount in back.series]
    spread = ", ".join(
        f"{at:%d %b}: {format_amount(a, back.series_currency)}" for at, a in back.series if a
    )
    chart = charts.sparkline(
        values,
        f"Recovered {back.series_currency.upper() or 'revenue'} over {RANGE_LABELS[win.key]}",
        spread or "Nothing recovered in this range.",
    )
    return {"back": back, "rate": rate, "chart": chart}


async def _steps(win: stats.Window, now: datetime) -> dict[str, Any]:
    credits = await stats.step_attribution(win)
    total = sum(c.cases for c in credits)
    bars = [
        charts.Bar(c.label, c.cases, f"{c.cases} ({percent(c.cases / total)})") for c in credits
    ]
    return {
        "credits": credits,
        "total": total,
        "chart": charts.bars(bars, "Recoveries by the step credited"),
    }


async def _declines(win: stats.Window, now: datetime) -> dict[str, Any]:
    rows = await stats.categories(win)
    bars = [
        charts.Bar(r.category.replace("_", " "), r.rate or 0, f"{percent(r.rate)} of {r.cases}")
        for r in rows
    ]
    return {"rows": rows, "chart": charts.bars(bars, "Recovery rate by decline category", 1.0)}


async def _deliverability(win: stats.Window, now: datetime) -> dict[str, Any]:
    mail = await stats.deliverability(win)
    sent = mail.sent or 0
    counts = [
        ("Sent", mail.sent),
        ("Opened", mail.opened),
        ("Clicked", mail.clicked),
        ("Bounced", mail.bounced),
        ("Suppressed", mail.suppressed),
    ]
    bars = [
        charts.Bar(label, n, f"{n}" + (f" ({percent(n / sent)})" if sent and i in (1, 2) else ""))
        for i, (label, n) in enumerate(counts)
    ]
    return {"mail": mail, "chart": charts.bars(bars, "Recovery emails by outcome")}


VIEWS: dict[str, tuple[Builder, bool]] = {  # name -> (builder, has a range switch)
    "open": (_open, False),
    "revenue": (_revenue, True),
    "steps": (_steps, True),
    "declines": (_declines, True),
    "deliverability": (_deliverability, True),
}


def _endpoint(name: str) -> Callable[[Request], Awaitable[Response]]:
    builder, ranged = VIEWS[name]

    async def view(request: Request) -> Response:
        from core.web.auth import require_workspace
        from core.web.shell import shell_context
        from core.web.templating import is_htmx, render

        ctx = await require_workspace(request)
        now = request.app.state.runtime.now()
        try:
            win = stats.window(request.query_params.get("range"), now)
        except stats.BadRange:
            win, status = stats.window(None, now), 400
        else:
            status = 200
        with workspace_scope(ctx.workspace.id):
            context = await builder(win, now)
        panel = next(p for p in PANELS if p.url.endswith(f"/{name}"))
        context.update(
            name=name,
            url=panel.url,
            title=panel.title,
            ranged=ranged,
            window=win,
            now=now,
            ranges=RANGE_LABELS,
            duration=duration,
            percent=percent,
            amounts=amounts,
            until=until,
            money=format_amount,
        )
        if not is_htmx(request):
            context.update(await shell_context(request, ctx))
        return render(
            request, f"recovery/dashboard/{name}.html", context, block="panel", status=status
        )

    return view


def routes() -> list[BaseRoute]:
    return [
        Route(f"{BASE}/{name}", _endpoint(name), methods=["GET"], name=f"recovery-dash-{name}")
        for name in VIEWS
    ]
