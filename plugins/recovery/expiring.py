"""Expiring cards: warn customers before their card stops working, not after a renewal fails.

A daily scan lists each connected account's active subscriptions with their default payment
method, and emails the customer a portal link when the card expires within the workspace's
lead time (30 days by default), and again at 7 days. One alert per (customer, card, expiry,
stage) by constraint, so scans may repeat freely. A card renewed by the network updater, or
whose expiry changed since the last warning, is left alone.
"""

from __future__ import annotations

import calendar
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from core.email import send_email
from core.models.accounts import ConnectionStatus, StripeAccount
from core.runtime import Runtime
from core.tenancy import unscoped, workspace_scope
from plugins.recovery import gateway
from plugins.recovery.cases import settings_for
from plugins.recovery.copy import Copy, render
from plugins.recovery.links import make_customer_link
from plugins.recovery.lookup import _as_dict
from plugins.recovery.models import CardAlert, CardUpdate, RecoverySettings

log = logging.getLogger(__name__)
SECOND_ALERT_DAYS = 7
# How long an automatic card update, or an earlier warning, keeps a card out of the scan.
UPDATER_MEMORY = timedelta(days=365)
ALERT_MEMORY = timedelta(days=90)
COPY = Copy(
    "Your card for {product} expires soon",
    "Hi {customer_name},\n\nThe card ending in {last4} that pays for {product} expires in "
    "{days_left} days. Update it here so nothing gets interrupted:\n\n{link}\n\n"
    "Thanks,\n{sender}",
)


def expires_at(exp_month: int, exp_year: int) -> datetime:
    """A card works through the last day of its expiry month."""
    last_day = calendar.monthrange(exp_year, exp_month)[1]
    return datetime(exp_year, exp_month, last_day, 23, 59, 59, tzinfo=UTC)


def stage_for(days_left: int, lead_days: int) -> int | None:
    """Which alert is due: the 7-day one, the lead-time one, or none."""
    if days_left < 0:
        return None
    if days_left <= SECOND_ALERT_DAYS:
        return SECOND_ALERT_DAYS
    if days_left <= lead_days:
        return lead_days
    return None


async def renewed(
    account: str, customer_id: str, pm_id: str, card: dict[str, Any], now: datetime
) -> bool:
    """Was this card renewed, so that warning the customer would be noise?

    Yes when the network updater renewed it (`payment_method.automatically_updated` seen
    within the last year), or when its expiry is no longer the one we warned about lately.
    """
    if await CardUpdate.filter(
        stripe_account_id=account, payment_method_id=pm_id, at__gte=now - UPDATER_MEMORY
    ).exists():
        return True
    other_expiry = Q(exp_month__not=int(card["exp_month"])) | Q(exp_year__not=int(card["exp_year"]))
    return await CardAlert.filter(
        other_expiry,
        stripe_account_id=account,
        customer_id=customer_id,
        payment_method_id=pm_id,
        created_at__gte=now - ALERT_MEMORY,
    ).exists()


async def _subscriptions(runtime: Runtime, account: StripeAccount) -> list[dict[str, Any]]:
    """Active subscriptions, including those on test clocks (Stripe lists them per clock)."""
    access = await gateway.access_for(runtime, account.stripe_account_id)
    clocks = _as_dict(
        await access.client.v1.test_helpers.test_clocks.list_async(
            params={"limit": 100}, options=access.options()
        )
    )
    found: list[dict[str, Any]] = []
    for clock in [None, *(_as_dict(c).get("id") for c in clocks.get("data", []))]:
        found.extend(await _subscriptions_on(access, clock))
    return found


async def _subscriptions_on(access: Any, clock: str | None) -> list[dict[str, Any]]:
    params: Any = {
        "status": "active",
        "limit": 100,
        "expand": [
            "data.default_payment_method",
            "data.customer.invoice_settings.default_payment_method",
        ],
    }
    if clock:
        params["test_clock"] = clock
    found: list[dict[str, Any]] = []
    while True:
        page = _as_dict(
            await access.client.v1.subscriptions.list_async(params=params, options=access.options())
        )
        found.extend(_as_dict(s) for s in page.get("data", []))
        if not page.get("has_more") or not found:
            return found
        params["starting_after"] = found[-1]["id"]


async def _alert(
    runtime: Runtime, settings: RecoverySettings, account: str, sub: dict[str, Any]
) -> bool:
    customer = _as_dict(sub.get("customer"))
    # The subscription's own method wins; else the customer's invoice default.
    pm = _as_dict(sub.get("default_payment_method")) or _as_dict(
        _as_dict(customer.get("invoice_settings")).get("default_payment_method")
    )
    card = _as_dict(pm.get("card"))
    if not customer or not card or not customer.get("email"):
        return False
    clock = sub.get("test_clock") or customer.get("test_clock")
    now = await gateway.now_for(runtime, account, str(customer["id"]), clock)
    days_left = (expires_at(int(card["exp_month"]), int(card["exp_year"])) - now).days
    stage = stage_for(days_left, settings.expiring_card_lead_days)
    if stage is None or await renewed(account, str(customer["id"]), str(pm["id"]), card, now):
        return False
    identity = {
        "stripe_account_id": account,
        "customer_id": customer["id"],
        "payment_method_id": pm["id"],
        "exp_month": card["exp_month"],
        "exp_year": card["exp_year"],
        "stage": stage,
    }
    try:
        alert = await CardAlert.create(**identity, created_at=now)
    except IntegrityError:
        # This stage was recorded already. A worker that died before sending left the alert
        # without its email: send it now, under the same idempotency key, so never twice.
        alert = await CardAlert.get(**identity)
        if alert.email_id is not None:
            return False
    subject, text = render(
        COPY,
        {
            "customer_name": customer.get("name") or "there",
            "last4": card.get("last4", ""),
            "product": settings.product_description or "your subscription",
            "days_left": days_left,
            "link": make_customer_link(
                runtime.settings, alert.workspace_id, account, customer["id"]
            ),
            "sender": settings.sender_name or "The team",
        },
    )
    email = await send_email(
        runtime,
        workspace_id=alert.workspace_id,
        to=str(customer["email"]),
        subject=subject,
        text=text,
        idempotency_key=f"recovery:card:{alert.id}",
        customer_facing=True,
        category="recovery",
        reply_to=settings.reply_to or None,
        from_name=settings.sender_name or None,
    )
    await CardAlert.filter(id=alert.id).update(email_id=email.id)
    return True


async def scan_workspace(runtime: Runtime) -> int:
    """Alert the current workspace's customers whose cards expire soon; returns emails sent."""
    settings = await settings_for()
    if not settings.enabled or settings.processing_paused:
        return 0
    sent = 0
    for account in await StripeAccount.filter(status=ConnectionStatus.ACTIVE):
        for sub in await _subscriptions(runtime, account):
            sent += await _alert(runtime, settings, account.stripe_account_id, sub)
    return sent


async def scan_all(runtime: Runtime) -> int:
    """The daily task: every workspace with recovery on, one at a time, each in its scope."""
    with unscoped():
        enabled = await RecoverySettings.filter(enabled=True).only("workspace_id")
    sent = 0
    for row in enabled:
        workspace_id = row.workspace_id
        with workspace_scope(workspace_id):
            try:
                sent += await scan_workspace(runtime)
            except Exception:  # one workspace's Stripe trouble must not stop the others
                log.exception("expiring-card scan failed for workspace %s", workspace_id)
    return sent
