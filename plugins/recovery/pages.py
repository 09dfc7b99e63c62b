"""Recovery's settings panel: an HTMX fragment on the settings page, or a page of its own."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from core.contributions import Panel
from core.tenancy import workspace_scope
from plugins.recovery import compose, slack
from plugins.recovery.cases import settings_for
from plugins.recovery.models import FinalAction, RecoverySettings

URL = "/app/recovery/settings"
STYLESHEET = "/static/plugins/recovery/recovery.css"
WINBACK_FIRST_HOURS = (1, 4)
PANEL = Panel(key="recovery-settings", title="Recovery", url=URL, order=20, width="full")


async def onboarding_step(workspace_id: int) -> Any:
    """An optional onboarding step: turning recovery on (done once it is on)."""
    from core.onboarding import OnboardingStep

    with workspace_scope(workspace_id):
        enabled = (await settings_for()).enabled
    return OnboardingStep("recovery", "Turn on payment recovery", URL, 30, enabled, False)


def _apply(settings: RecoverySettings, form: Any) -> str | None:
    """Copy the form onto the settings; returns an error message or None."""
    try:
        lead = int(str(form.get("expiring_card_lead_days") or settings.expiring_card_lead_days))
        final = FinalAction(str(form.get("final_action") or settings.final_action))
        first = int(str(form.get("winback_first_hours") or settings.winback_first_hours))
    except ValueError:
        return "Please check the values."
    if not 7 <= lead <= 90:
        return "Expiring-card warnings go out 7 to 90 days ahead."
    if first not in WINBACK_FIRST_HOURS:
        return "The first win-back email goes out after 1 or 4 hours."
    reply_to = str(form.get("reply_to") or "").strip()
    if reply_to and ("@" not in reply_to or any(c in reply_to for c in " \r\n,;<>")):
        return "The reply-to address is not an email address."
    settings.enabled = form.get("enabled") == "1"
    settings.processing_paused = form.get("processing_paused") == "1"
    settings.final_action = final
    settings.expiring_card_lead_days = lead
    settings.sender_name = str(form.get("sender_name") or "").strip()[:120]
    settings.reply_to = reply_to[:254]
    settings.product_description = str(form.get("product_description") or "").strip()[:300]
    settings.winback_enabled = form.get("winback_enabled") == "1"
    settings.winback_first_hours = first
    return _apply_tones(settings, form)


def tone_keys() -> list[str]:
    """The sequences a tone can be set for: each decline category, and win-back."""
    from plugins.recovery.declines import Category
    from plugins.recovery.sequences import WINBACK

    return [*(c.value for c in Category), WINBACK]


def _apply_tones(settings: RecoverySettings, form: Any) -> str | None:
    """The workspace's tone and a tone per category (blank: the workspace's)."""
    if "tone" not in form:
        return None  # a form without the brand fields leaves them alone
    tone = str(form.get("tone") or "")
    chosen = {key: str(form.get(f"tone_{key}") or "") for key in tone_keys()}
    if tone not in compose.TONES or any(t and t not in compose.TONES for t in chosen.values()):
        return "Please choose one of the tones offered."
    settings.tone = tone
    settings.tones = {key: t for key, t in chosen.items() if t}
    return None


def _apply_slack(runtime: Any, settings: RecoverySettings, form: Any) -> str | None:
    """A new Slack webhook URL is sealed; blank keeps the current one; the box clears it."""
    if form.get("slack_webhook_clear") == "1":
        slack.seal_url(runtime, settings, None)
        return None
    url = str(form.get("slack_webhook_url") or "").strip()
    if not url:
        return None
    problem = slack.check_url(url)
    if problem is None:
        slack.seal_url(runtime, settings, url)
    return problem


async def _recoverable(request: Request, workspace_id: int) -> list[str]:
    """What the latest audit found still recoverable, when an audit plugin offers it."""
    found = request.app.state.runtime.services.get("audit.latest_recoverable")
    if found is None:
        return []
    try:
        amounts = await found(workspace_id) or {}
    except Exception:  # another plugin's failure must not cost this page
        return []
    return [f"{minor / 100:,.2f} {currency.upper()}" for currency, minor in sorted(amounts.items())]


async def settings_panel(request: Request) -> Response:
    from core.web.auth import require_workspace
    from core.web.shell import shell_context
    from core.web.templating import is_htmx, render

    ctx = await require_workspace(request)
    runtime = request.app.state.runtime
    context: dict[str, Any] = {"saved": False, "error": None}
    with workspace_scope(ctx.workspace.id):
        settings = await settings_for()
        if request.method == "POST":
            form = await request.form()
            error = _apply(settings, form) or _apply_slack(runtime, settings, form)
            if error is None:
                await settings.save()
                context["saved"] = True
            else:
                await settings.refresh_from_db()
            context["error"] = error
    context["settings"] = settings
    context["tones"] = compose.TONES
    context["tone_keys"] = tone_keys()
    context["slack_webhook"] = slack.masked(runtime, settings)
    context["recoverable"] = await _recoverable(request, ctx.workspace.id)
    if not is_htmx(request):
        context.update(await shell_context(request, ctx))
    status = 422 if context["error"] else 200
    return render(request, "recovery/settings.html", context, block="panel", status=status)
