"""Discounts: coupons redeemed with ``discounts[i][coupon]`` and what they take off invoices.

The 2025+ shapes: a ``discount`` names its coupon under ``source``; subscriptions and
invoices list discount ids (``expand[]=discounts`` shows the objects); each invoice line
carries ``discount_amounts`` and the invoice ``total_discount_amounts``, with ``subtotal``
before the discounts and ``total`` / ``amount_due`` after them. A ``once`` discount is used
up by the first invoice it takes something off, a ``repeating`` one ends
``duration_in_months`` after it starts, a ``forever`` one stays; a subscription drops used-up
and ended discounts at its next renewal. ``customer.discount.created`` / ``deleted`` announce
them. Redeeming is two-phase: :func:`parse` validates (nothing is created if the request
fails later), :func:`redeem` creates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from sandbox.errors import invalid_request, resource_missing
from sandbox.forms import Params
from sandbox.objects import clone

if TYPE_CHECKING:
    from sandbox.context import Ctx

Obj = dict[str, Any]


@dataclass(frozen=True)
class Redemption:
    """One entry of ``discounts[]``: an existing discount to keep, or a coupon to redeem."""

    discount: str | None = None
    coupon: Obj | None = None


def parse(
    ctx: Ctx, raw: list[Any], *, currency: str, current: list[str], param: str = "discounts"
) -> list[Redemption]:
    """Validate ``discounts[i][coupon|discount]`` (Stripe's 400/404s), creating nothing."""
    out: list[Redemption] = []
    for i, item in enumerate(raw):
        entry = Params(item if isinstance(item, dict) else {}, f"{param}[{i}]")
        entry.check(("coupon", "discount", "promotion_code"))
        code = entry.nullable_str("promotion_code")
        if code is not None:
            raise resource_missing("promotion_code", code, f"{param}[{i}][promotion_code]")
        existing = entry.nullable_str("discount")
        if existing is not None:
            if existing not in current:
                raise resource_missing("discount", existing, f"{param}[{i}][discount]")
            out.append(Redemption(discount=existing))
            continue
        coupon_id = entry.req_str("coupon")
        coupon = ctx.store.get(coupon_id)
        where = f"{param}[{i}][coupon]"
        if coupon is None or coupon.get("object") != "coupon":
            raise resource_missing("coupon", coupon_id, where)
        if not coupon.get("valid", True) or (
            coupon.get("redeem_by") is not None and int(coupon["redeem_by"]) < ctx.now()
        ):
            raise invalid_request(f"Coupon {coupon_id} is no longer valid.", param=where)
        if coupon.get("amount_off") is not None and coupon.get("currency") != currency:
            raise invalid_request(
                f"The coupon {coupon_id} is in {coupon.get('currency')}, but this is billed "
                f"in {currency}.",
                param=where,
            )
        kept = next((d for d in current if _coupon_id(ctx, d) == coupon_id), None)
        out.append(Redemption(discount=kept) if kept else Redemption(coupon=coupon))
    return out


def redeem(
    ctx: Ctx,
    redemptions: list[Redemption],
    *,
    customer: str,
    subscription: str | None = None,
    invoice: str | None = None,
) -> tuple[list[str], list[Obj]]:
    """The discount ids for ``redemptions``, and the discounts newly created (to announce)."""
    from sandbox.billing.subscriptions import add_interval

    ids: list[str] = []
    created: list[Obj] = []
    for redemption in redemptions:
        if redemption.discount is not None:
            ids.append(redemption.discount)
            continue
        coupon = redemption.coupon
        assert coupon is not None
        now = ctx.now()
        months = coupon.get("duration_in_months")
        discount: Obj = {
            "id": ctx.new_id("di"),
            "object": "discount",
            "checkout_session": None,
            "customer": customer,
            "customer_account": None,
            "end": add_interval(now, "month", int(months or 1), now)
            if coupon["duration"] == "repeating"
            else None,
            "invoice": invoice,
            "invoice_item": None,
            "promotion_code": None,
            "source": {"coupon": coupon["id"], "type": "coupon"},
            "start": now,
            "subscription": subscription,
            "subscription_item": None,
        }
        # The coupon as redeemed: deleting or editing the coupon later changes no discount.
        ctx.store.insert(discount, {"coupon": clone(coupon)})
        coupon["times_redeemed"] = int(coupon.get("times_redeemed") or 0) + 1
        if coupon.get("max_redemptions") and coupon["times_redeemed"] >= coupon["max_redemptions"]:
            coupon["valid"] = False
        ctx.store.save(coupon)
        ids.append(discount["id"])
        created.append(discount)
    return ids, created


def announce(ctx: Ctx, created: Sequence[Obj], removed: Sequence[str] = ()) -> None:
    """``customer.discount.created`` for new discounts, ``deleted`` for removed ones."""
    for discount in created:
        ctx.emit("customer.discount.created", discount)
    for discount_id in removed:
        ended = ctx.store.get(discount_id)
        if ended is not None:
            ctx.emit("customer.discount.deleted", ended)


def _coupon(ctx: Ctx, discount_id: str) -> Obj | None:
    coupon = ctx.store.hidden.get(discount_id, {}).get("coupon")
    return coupon if isinstance(coupon, dict) else None


def _coupon_id(ctx: Ctx, discount_id: str) -> str | None:
    coupon = _coupon(ctx, discount_id)
    return str(coupon["id"]) if coupon else None


def active(ctx: Ctx, discount_ids: list[str], at: int) -> list[str]:
    """The discounts that still take something off an invoice made at ``at``."""
    out = []
    for discount_id in discount_ids:
        discount = ctx.store.get(discount_id)
        hidden = ctx.store.hidden.get(discount_id, {})
        if discount is None or hidden.get("used"):
            continue
        if discount["end"] is not None and int(discount["end"]) <= at:
            continue
        out.append(discount_id)
    return out


def expire(ctx: Ctx, sub: Obj) -> list[str] | None:
    """Drop the subscription's used-up and ended discounts (``customer.discount.deleted``);
    returns the previous list when it changed."""
    current = list(sub.get("discounts") or [])
    keep = active(ctx, current, ctx.now())
    if keep == current:
        return None
    sub["discounts"] = keep
    ctx.store.save(sub)
    announce(ctx, [], [d for d in current if d not in keep])
    return current


def apply(ctx: Ctx, invoice: Obj, discount_ids: list[str]) -> None:
    """Take the discounts off a draft invoice's lines and set its totals."""
    lines = invoice["lines"]["data"]
    subtotal = sum(int(line["amount"]) for line in lines)
    left = {line["id"]: int(line["amount"]) if line.get("discountable") else 0 for line in lines}
    totals: list[Obj] = []
    for discount_id in discount_ids:
        coupon = _coupon(ctx, discount_id) or {}
        base = sum(left.values())
        if coupon.get("percent_off") is not None:
            rate = Decimal(str(coupon["percent_off"])) / 100
            amount = int((Decimal(base) * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        else:
            amount = min(int(coupon.get("amount_off") or 0), base)
        shares = _allocate(amount, [left[line["id"]] for line in lines])
        for line, share in zip(lines, shares, strict=True):
            line["discount_amounts"].append({"amount": share, "discount": discount_id})
            left[line["id"]] -= share
        totals.append({"amount": amount, "discount": discount_id})
        if (
            amount > 0
            and coupon.get("duration") == "once"
            and not invoice["id"].startswith("upcoming_")
        ):
            ctx.store.hidden_of(discount_id)["used"] = True
    total = subtotal - sum(t["amount"] for t in totals)
    invoice["discounts"] = list(discount_ids)
    invoice["total_discount_amounts"] = totals
    invoice.update(
        subtotal=subtotal,
        subtotal_excluding_tax=subtotal,
        total=total,
        total_excluding_tax=total,
        amount_due=total,
        amount_remaining=total,
    )


def _allocate(amount: int, weights: list[int]) -> list[int]:
    """Split ``amount`` over lines in proportion to what is left on each (the last takes the
    rounding remainder)."""
    total = sum(weights)
    if total <= 0 or amount <= 0:
        return [0] * len(weights)
    shares = [amount * w // total for w in weights]
    last = max(i for i, w in enumerate(weights) if w > 0)
    shares[last] += amount - sum(shares)
    return shares
