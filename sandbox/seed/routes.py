"""``/_sandbox/seed``: seed a scenario into a running sandbox, or read what was seeded."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.admin import answers_400, read_json
from sandbox.seed import SCENARIOS, seed_scenario, seeded_summary
from sandbox.state import SandboxState


class SeedRoutes:
    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        return [Route("/_sandbox/seed", answers_400(self.seed), methods=["GET", "POST"])]

    async def seed(self, request: Request) -> Response:
        """GET: the last seeding's summary (accounts, keys, clocks). POST ``{"scenario":
        "demo", "customers": 40}``: seed now (on the sandbox clock's current time)."""
        if request.method == "GET":
            found = seeded_summary(self.state)
            if found is None:
                return JSONResponse(
                    {"error": {"type": "invalid_request_error", "message": "Nothing seeded yet."}},
                    404,
                )
            return JSONResponse(found)
        data = await read_json(request)
        name = str(data.get("scenario", "demo"))
        if name not in SCENARIOS:
            message = f"Unknown scenario {name!r}; one of {', '.join(SCENARIOS)}."
            return JSONResponse(
                {"error": {"type": "invalid_request_error", "message": message}}, 400
            )
        customers = data.get("customers")
        summary = seed_scenario(
            self.state, name, customers=int(customers) if customers is not None else None
        )
        return JSONResponse(summary.to_json())
