"""Error pages for the web app: a page for a browser, a fragment for htmx, JSON for machines.

htmx swaps error answers too (see `responseHandling` in base.html), so a panel whose fragment
failed, or a form the server refused, shows why in place instead of staying on "Loading…".
"""

from __future__ import annotations

import logging
from html import escape

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from core.api.errors import error_response
from core.web.templating import is_htmx, render

log = logging.getLogger(__name__)

SERVER_ERROR = "Something went wrong on our side. It has been logged; try again in a moment."
_TITLES = {403: "Not allowed", 404: "Not found", 405: "Not allowed", 413: "Too large"}
_MACHINE_PREFIXES = ("/api/", "/webhooks/", "/metrics", "/healthz", "/readyz")


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _answer(request, exc.status_code, str(exc.detail), dict(exc.headers or {}))


async def server_error(request: Request, exc: Exception) -> Response:
    # Starlette logs the traceback and re-raises after this answer; the message stays generic.
    return _answer(request, 500, SERVER_ERROR, None)


def _answer(
    request: Request, status: int, message: str, headers: dict[str, str] | None
) -> Response:
    if request.url.path.startswith(_MACHINE_PREFIXES):
        return error_response(status, message=message, headers=headers)
    if is_htmx(request):
        fragment = f'<p class="error" role="alert">{escape(message)}</p>'
        return HTMLResponse(fragment, status_code=status, headers=headers)
    title = _TITLES.get(status, "Something is not right")
    response = render(request, "error.html", {"message": message, "title": title}, status=status)
    if headers:
        response.headers.update(headers)
    return response


EXCEPTION_HANDLERS = {HTTPException: http_error, Exception: server_error}
