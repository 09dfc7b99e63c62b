"""List endpoints: Stripe's cursor pagination over the store's ordered indexes."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sandbox.errors import invalid_request, resource_missing
from sandbox.forms import Params
from sandbox.store import SortedIndex

if TYPE_CHECKING:
    from sandbox.context import Ctx

Obj = dict[str, Any]
Predicate = Callable[[Obj], bool]


def created_bounds(params: Params, name: str = "created") -> tuple[int | None, int | None]:
    """``created=N`` or ``created[gt|gte|lt|lte]=N`` as an inclusive [gte, lte] range."""
    raw = params.raw(name)
    if raw is None or raw == "":
        return None, None
    if isinstance(raw, str):
        value = params.int(name)
        return value, value
    sub = params.sub(name)
    assert sub is not None
    sub.check(("gt", "gte", "lt", "lte"))
    gte = sub.int("gte")
    gt = sub.int("gt")
    lte = sub.int("lte")
    lt = sub.int("lt")
    if gt is not None:
        gte = max(gte, gt + 1) if gte is not None else gt + 1
    if lt is not None:
        lte = min(lte, lt - 1) if lte is not None else lt - 1
    return gte, lte


def page_params(params: Params) -> tuple[int, str | None, str | None]:
    limit = params.int("limit", 10, minimum=1, maximum=100)
    assert limit is not None
    after = params.nullable_str("starting_after")
    before = params.nullable_str("ending_before")
    if after and before:
        raise invalid_request(
            "You may only specify one of these parameters: ending_before, starting_after.",
            param="ending_before",
        )
    return limit, after, before


def paginate(
    ctx: Ctx,
    index: SortedIndex,
    *,
    predicate: Predicate | None = None,
    kind: str = "object",
) -> tuple[list[Obj], bool]:
    """One page, newest first, honouring limit / starting_after / ending_before / created."""
    limit, after, before = page_params(ctx.params)
    gte, lte = created_bounds(ctx.params)
    keys = index.keys
    lo, hi = index.bounds(gte, lte)
    objects = ctx.store.objects
    items: list[Obj] = []
    cursor_id = after or before
    if cursor_id:
        entry = ctx.store.entries.get(cursor_id)
        if entry is None:
            param = "starting_after" if after else "ending_before"
            raise resource_missing(kind, cursor_id, param)
        if after:
            hi = min(hi, bisect_left(keys, entry.key))
        else:
            lo = max(lo, bisect_right(keys, entry.key))
    if before:
        i = lo
        while i < hi and len(items) <= limit:
            obj = objects[keys[i][2]]
            if predicate is None or predicate(obj):
                items.append(obj)
            i += 1
        has_more = len(items) > limit
        items = items[:limit]
        items.reverse()
        return items, has_more
    i = hi - 1
    while i >= lo and len(items) <= limit:
        obj = objects[keys[i][2]]
        if predicate is None or predicate(obj):
            items.append(obj)
        i -= 1
    has_more = len(items) > limit
    return items[:limit], has_more


def list_object(data: list[Obj], has_more: bool, url: str) -> Obj:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def list_response(
    ctx: Ctx,
    object_type: str,
    url: str,
    *,
    field: str | None = None,
    value: str | None = None,
    predicate: Predicate | None = None,
    kind: str | None = None,
) -> Obj:
    """The usual list endpoint body: pick the narrowest index, filter, paginate."""
    index = ctx.store.index_for(object_type, field, value)
    data, has_more = paginate(
        ctx, index, predicate=predicate, kind=kind or object_type.rsplit(".", 1)[-1]
    )
    return list_object(data, has_more, url)


def eq(field: str, value: Any) -> Predicate:
    return lambda obj: obj.get(field) == value


def all_of(*predicates: Predicate | None) -> Predicate | None:
    active = [p for p in predicates if p is not None]
    if not active:
        return None
    if len(active) == 1:
        return active[0]
    return lambda obj: all(p(obj) for p in active)
