"""Operations endpoints: liveness, readiness (database and broker reachable)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route
from tortoise import connections

from core.runtime import Runtime


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    checks: dict[str, str] = {}
    try:
        await connections.get("default").execute_query("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    checks["broker"] = await _broker_status(runtime)
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if ok else "unavailable", "checks": checks}, 200 if ok else 503
    )


async def _broker_status(runtime: Runtime) -> str:
    if runtime.settings.embedded_broker:
        return "ok"
    try:
        import redis.asyncio as redis

        client = redis.from_url(runtime.settings.broker_url)
        try:
            await client.ping()
        finally:
            await client.aclose()
        return "ok"
    except Exception as exc:
        return f"error: {type(exc).__name__}"


def routes(runtime: Runtime) -> list[BaseRoute]:
    return [Route("/healthz", healthz), Route("/readyz", readyz)]
