"""Connect accounts as the platform (and an account itself) sees them."""

from __future__ import annotations

from typing import Any

from sandbox.context import Ctx
from sandbox.errors import resource_missing
from sandbox.lists import list_object
from sandbox.routing import ApiRoute

Obj = dict[str, Any]


def own_account(ctx: Ctx) -> Obj:
    return ctx.account.obj


def retrieve(ctx: Ctx) -> Obj:
    account_id = ctx.path["id"]
    if account_id == ctx.account.id:
        return ctx.account.obj
    target = ctx.state.accounts.get(account_id)
    if target is None or target.platform != ctx.account.id:
        raise resource_missing("account", account_id, "account")
    return target.obj


def list_accounts(ctx: Ctx) -> Obj:
    ctx.params.check(("created", "ending_before", "limit", "starting_after"))
    limit = ctx.params.int("limit", 10, minimum=1, maximum=100) or 10
    connected = sorted(
        ctx.state.connected_accounts(ctx.account.id), key=lambda a: a.obj["created"], reverse=True
    )
    after = ctx.params.nullable_str("starting_after")
    if after:
        ids = [a.id for a in connected]
        connected = connected[ids.index(after) + 1 :] if after in ids else []
    page = [a.obj for a in connected[: limit + 1]]
    return list_object(page[:limit], len(page) > limit, "/v1/accounts")


routes = [
    ApiRoute("GET", "/v1/account", own_account, "accounts"),
    ApiRoute("GET", "/v1/accounts", list_accounts, "accounts"),
    ApiRoute("GET", "/v1/accounts/{id}", retrieve, "accounts"),
]
