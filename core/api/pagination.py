"""Cursor pagination for list endpoints: newest first, `?limit=` and `?starting_after=<id>`.

Ids only grow, so "older than the last id I saw" is a stable cursor even while new rows arrive.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from tortoise.queryset import QuerySet

from core.api.errors import ApiError

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

PARAMETERS: list[dict[str, Any]] = [
    {"name": "limit", "in": "query",
     "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}},
    {"name": "starting_after", "in": "query", "description": "The last id of the previous page",
     "schema": {"type": "integer"}},
]


def _int_param(request: Request, name: str, default: int | None) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ApiError(422, "invalid_request", f"`{name}` must be an integer") from exc


async def paginate(
    request: Request, rows: QuerySet[Any], serialize: Callable[[Any], dict[str, Any]]
) -> dict[str, Any]:
    """`{"data": [...], "has_more": bool}` for one page of `rows`, newest (highest id) first."""
    limit = max(1, min(_int_param(request, "limit", DEFAULT_LIMIT) or DEFAULT_LIMIT, MAX_LIMIT))
    after = _int_param(request, "starting_after", None)
    if after is not None:
        rows = rows.filter(id__lt=after)
    found = await rows.order_by("-id").limit(limit + 1)
    return {"data": [serialize(row) for row in found[:limit]], "has_more": len(found) > limit}
