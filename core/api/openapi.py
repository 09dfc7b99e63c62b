"""The OpenAPI 3.1 document for /api/v1, assembled from every plugin's ApiRoute."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from core.contributions import ApiRoute
from core.settings import Settings

PREFIX = "/api/v1"
_PARAM = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_]*)(?::([a-z]+))?}")
_ERROR = {"$ref": "#/components/schemas/Error"}


def openapi_path(path: str) -> str:
    """Starlette `{id:int}` becomes OpenAPI `{id}`."""
    return _PARAM.sub(lambda m: "{" + m.group(1) + "}", path)


def _path_parameters(path: str) -> list[dict[str, Any]]:
    params = []
    for name, convertor in _PARAM.findall(path):
        kind = "integer" if convertor == "int" else "number" if convertor == "float" else "string"
        params.append({"name": name, "in": "path", "required": True, "schema": {"type": kind}})
    return params


def _operation(route: ApiRoute, method: str) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": f"{route.name or route.endpoint.__name__}_{method.lower()}",
        "summary": (route.endpoint.__doc__ or "").strip().split("\n")[0],
        "responses": {"200": {"description": "OK"}},
    }
    op.update(dict(route.operation))
    op.setdefault("parameters", [])
    declared = {(p.get("name"), p.get("in")) for p in op["parameters"] if isinstance(p, dict)}
    op["parameters"] = [
        *(p for p in _path_parameters(route.path) if (p["name"], "path") not in declared),
        *op["parameters"],
    ]
    op["x-scope"] = route.scope
    op["security"] = [{"apiKey": []}]
    responses = dict(op["responses"])
    for status, text in (("401", "Missing, unknown or revoked API key"),
                         ("403", "The key's scope does not allow this")):
        responses.setdefault(
            status, {"description": text, "content": {"application/json": {"schema": _ERROR}}}
        )
    op["responses"] = responses
    return op


def build_document(settings: Settings, routes: Sequence[ApiRoute]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        item = paths.setdefault(openapi_path(route.path), {})
        for method in route.methods:
            if method.upper() == "HEAD":
                continue
            item[method.lower()] = _operation(route, method)
    return {
        "openapi": "3.1.0",
        "info": {"title": "SecondLoop API", "version": "1"},
        "servers": [{"url": settings.base_url + PREFIX}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A workspace API key (`sl_…`), created in Settings → API keys "
                    "or with `secondloop apikey create`.",
                }
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message"],
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                            },
                        }
                    },
                }
            },
        },
        "security": [{"apiKey": []}],
    }
