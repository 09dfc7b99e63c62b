"""``expand[]``: replace ids with their objects along dotted paths (``data.customer``).

Paths walk through nested hashes and lists; an id found on the way is replaced by a copy of
the object it names, so stored objects are never mutated. Fields Stripe only returns when
expanded (``customer.subscriptions``) come from :data:`EXPANDERS`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sandbox.errors import invalid_request

if TYPE_CHECKING:
    from sandbox.context import Ctx

Obj = dict[str, Any]
Expander = Callable[["Ctx", Obj], Any]

# (object type, field) -> computes a field that is absent unless expanded.
EXPANDERS: dict[tuple[str, str], Expander] = {}

MAX_DEPTH = 4


def register_expander(object_type: str, field: str) -> Callable[[Expander], Expander]:
    def register(fn: Expander) -> Expander:
        EXPANDERS[(object_type, field)] = fn
        return fn

    return register


def expand(ctx: Ctx, value: Any, paths: list[str]) -> Any:
    for path in paths:
        parts = path.split(".")
        depth = len([p for p in parts if p != "data"])
        if depth > MAX_DEPTH:
            raise invalid_request(
                f"You cannot expand more than {MAX_DEPTH} levels of a property. Property: {path}",
                param="expand",
            )
        value = _walk(ctx, value, parts, path)
    return value


def _lookup(ctx: Ctx, object_id: str) -> Obj | None:
    obj = ctx.store.get(object_id)
    if obj is not None:
        return obj
    tomb = ctx.store.tombstones.get(object_id)
    if tomb is not None:
        return tomb
    account = ctx.state.accounts.get(object_id)
    return account.obj if account is not None else None


def _resolve(ctx: Ctx, object_id: str, path: str) -> Obj:
    resolved = _lookup(ctx, object_id)
    if resolved is None:
        raise invalid_request(f"This property cannot be expanded ({path}).", param="expand")
    return resolved


def _walk(ctx: Ctx, node: Any, parts: list[str], path: str) -> Any:
    if isinstance(node, list):
        return [_walk(ctx, item, parts, path) for item in node]
    if not isinstance(node, dict):
        raise invalid_request(f"This property cannot be expanded ({path}).", param="expand")
    field, rest = parts[0], parts[1:]
    if field in node:
        current = node[field]
    else:
        expander = EXPANDERS.get((str(node.get("object")), field))
        if expander is None:
            raise invalid_request(f"This property cannot be expanded ({path}).", param="expand")
        current = expander(ctx, node)
    if isinstance(current, str):
        current = _resolve(ctx, current, path)
    elif isinstance(current, list) and any(isinstance(item, str) for item in current):
        # A list of ids (``invoice.discounts``): each id becomes its object.
        current = [_resolve(ctx, item, path) if isinstance(item, str) else item for item in current]
    if rest and current is not None:
        current = _walk(ctx, current, rest, path)
    copy = dict(node)
    copy[field] = current
    return copy
