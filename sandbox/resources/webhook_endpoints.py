"""Webhook endpoints. The signing secret is returned on create only; ``connect=true`` makes
a platform endpoint that receives its connected accounts' events (kept in hidden state,
since Stripe's WebhookEndpoint object has no such field)."""

from __future__ import annotations

import functools
import typing
from typing import Any

from stripe._event import Event

from sandbox.context import Ctx
from sandbox.errors import invalid_request, missing_parameter
from sandbox.forms import Params
from sandbox.lists import list_response
from sandbox.objects import apply_changes, parse_metadata
from sandbox.routing import ApiRoute

Obj = dict[str, Any]


@functools.cache
def known_event_types() -> frozenset[str]:
    """Every event type of the pinned API version, from the SDK's generated Event class."""
    return frozenset(typing.get_args(Event.__annotations__["type"]))


def _events(p: Params) -> list[str]:
    events = p.str_list("enabled_events")
    if not events:
        raise missing_parameter("enabled_events")
    known = known_event_types()
    for i, name in enumerate(events):
        if name != "*" and name not in known:
            raise invalid_request(
                f"Invalid enabled_events[{i}]: must be one of *, "
                + ", ".join(sorted(known)[:3])
                + ", ...",
                param=f"enabled_events[{i}]",
            )
    return events


def _url(p: Params) -> str:
    url = p.req_str("url")
    if not url.startswith(("http://", "https://")):
        raise invalid_request(
            "Invalid URL: URL must be publicly accessible", param="url", code="url_invalid"
        )
    return url


def create(ctx: Ctx) -> Obj:
    p = ctx.params
    p.check(("url", "enabled_events", "api_version", "connect", "description", "metadata"))
    url = _url(p)
    events = _events(p)
    secret = ctx.state.ids.token("whsec")
    endpoint: Obj = {
        "id": ctx.new_id("we"),
        "object": "webhook_endpoint",
        "api_version": p.nullable_str("api_version"),
        "application": None,
        "created": ctx.now(),
        "description": p.nullable_str("description"),
        "enabled_events": events,
        "livemode": False,
        "metadata": parse_metadata(p),
        "status": "enabled",
        "url": url,
    }
    ctx.store.insert(endpoint, {"secret": secret, "connect": bool(p.bool("connect", False))})
    return {**endpoint, "secret": secret}


def _endpoint(ctx: Ctx) -> Obj:
    return ctx.store.get_typed("webhook_endpoint", ctx.path["id"], kind="webhook endpoint")


def update(ctx: Ctx) -> Obj:
    endpoint = _endpoint(ctx)
    p = ctx.params
    p.check(("url", "enabled_events", "description", "metadata", "disabled"))
    changes: dict[str, Any] = {}
    if "url" in p:
        changes["url"] = _url(p)
    if "enabled_events" in p:
        changes["enabled_events"] = _events(p)
    if "description" in p:
        changes["description"] = p.nullable_str("description")
    if "metadata" in p:
        changes["metadata"] = parse_metadata(p, endpoint["metadata"])
    disabled = p.bool("disabled")
    if disabled is not None:
        changes["status"] = "disabled" if disabled else "enabled"
    apply_changes(endpoint, changes)
    ctx.store.save(endpoint)
    return endpoint


def delete(ctx: Ctx) -> Obj:
    endpoint = _endpoint(ctx)
    ctx.store.delete(endpoint["id"])
    return {"id": endpoint["id"], "object": "webhook_endpoint", "deleted": True}


def list_endpoints(ctx: Ctx) -> Obj:
    ctx.params.check(("ending_before", "limit", "starting_after"))
    return list_response(ctx, "webhook_endpoint", "/v1/webhook_endpoints", kind="webhook endpoint")


routes = [
    ApiRoute("POST", "/v1/webhook_endpoints", create, "webhook_endpoints"),
    ApiRoute("GET", "/v1/webhook_endpoints", list_endpoints, "webhook_endpoints"),
    ApiRoute("GET", "/v1/webhook_endpoints/{id}", _endpoint, "webhook_endpoints"),
    ApiRoute("POST", "/v1/webhook_endpoints/{id}", update, "webhook_endpoints"),
    ApiRoute("DELETE", "/v1/webhook_endpoints/{id}", delete, "webhook_endpoints"),
]
