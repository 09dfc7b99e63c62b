"""The /api/v1 mount: every plugin's ApiRoute behind API-key auth, scope checks and JSON errors."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from tortoise.exceptions import DoesNotExist

from core.api.errors import ApiError, error_response
from core.api.keys import allows, authenticate
from core.api.openapi import PREFIX, build_document
from core.contributions import ApiRoute
from core.runtime import Runtime
from core.tenancy import workspace_scope

log = logging.getLogger(__name__)


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class ApiJSONResponse(JSONResponse):
    """JSON with datetimes as ISO 8601 and enums as their values."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, default=_default, separators=(",", ":")).encode()


def _endpoint(runtime: Runtime, route: ApiRoute) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        key = await authenticate(runtime, request.headers.get("authorization"))
        if key is None:
            return error_response(
                401, message="send a valid API key as `Authorization: Bearer sl_…`",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not allows(key, request.method, route.scope):
            return error_response(403, message=f"this endpoint needs a {route.scope} key"
                                  if route.scope != "read" else "this key is read-only")
        request.state.api_key = key
        request.state.runtime = runtime
        try:
            with workspace_scope(key.workspace_id):
                result = await route.endpoint(request, key.workspace_id)
        except ApiError as exc:
            return error_response(exc.status, exc.code, exc.message)
        except DoesNotExist:
            return error_response(404, message="no such object in this workspace")
        except json.JSONDecodeError:
            return error_response(422, "invalid_json", "the request body is not valid JSON")
        except Exception:
            log.exception("API endpoint %s %s failed", request.method, route.path)
            return error_response(500, message="internal error")
        if isinstance(result, Response):
            return result
        return ApiJSONResponse(result)

    endpoint.__name__ = route.name or route.endpoint.__name__
    return endpoint


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    detail = exc.detail if isinstance(exc, HTTPException) else "internal error"
    return error_response(status, message=str(detail))


def build_api(runtime: Runtime) -> Mount:
    api_routes: list[ApiRoute] = runtime.host.collect("register_api_routes")
    document = build_document(runtime.settings, api_routes)

    async def openapi(request: Request) -> Response:
        return ApiJSONResponse(document)

    routes = [Route("/openapi.json", openapi, methods=["GET"], name="openapi")]
    for route in api_routes:
        routes.append(
            Route(route.path, _endpoint(runtime, route), methods=list(route.methods),
                  name=route.name)
        )
    # A sub-application so unmatched paths and methods also answer in JSON (its own handlers).
    api = Starlette(routes=routes, exception_handlers={HTTPException: _http_error})
    api.state.runtime = runtime
    return Mount(PREFIX, app=api, name="api")
