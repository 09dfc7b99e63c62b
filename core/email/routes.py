"""Email pages: one-click unsubscribe (`/u/{token}`) and the local outbox viewers."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from core.email import outbox
from core.email.suppression import suppress
from core.email.tokens import read_token
from core.runtime import Runtime
from core.web.templating import render


def routes(runtime: Runtime) -> list[BaseRoute]:
    async def unsubscribe(request: Request) -> Response:
        """GET asks for confirmation (link scanners follow GETs); POST unsubscribes.

        The POST is the RFC 8058 one-click request (`List-Unsubscribe=One-Click` body) a mail
        client sends, or the confirmation form; both are authorised by the signed token alone
        (the path is exempt from CSRF, like webhooks).
        """
        template = "email/unsubscribe.html"
        found = read_token(runtime.settings, request.path_params["token"])
        if found is None:
            return render(request, template, {"state": "invalid"}, status=404)
        if request.method == "POST":
            await suppress(runtime, found.workspace_id, found.email, "unsubscribe")
            return render(request, template, {"state": "done", "email": found.email})
        return render(request, template, {"state": "confirm", "email": found.email})

    def dev_only(request: Request) -> Response | None:
        if outbox.dev_outbox_allows(runtime.settings, request):
            return None
        return render(request, "error.html", {"message": "Not found"}, status=404)

    async def dev_outbox(request: Request) -> Response:
        return dev_only(request) or await outbox.dev_list(request)

    async def dev_outbox_message(request: Request) -> Response:
        return dev_only(request) or await outbox.dev_message(request, request.path_params["id"])

    async def app_outbox(request: Request) -> Response:
        return await outbox.workspace_list(request)

    async def app_outbox_message(request: Request) -> Response:
        return await outbox.workspace_message(request, request.path_params["id"])

    return [
        Route("/u/{token}", unsubscribe, methods=["GET", "POST"], name="email-unsubscribe"),
        Route("/dev/outbox", dev_outbox, name="dev-outbox"),
        Route("/dev/outbox/{id:int}", dev_outbox_message, name="dev-outbox-message"),
        Route("/app/outbox", app_outbox, name="app-outbox"),
        Route("/app/outbox/{id:int}", app_outbox_message, name="app-outbox-message"),
    ]
