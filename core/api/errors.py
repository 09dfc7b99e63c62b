"""JSON errors for /api/v1: `{"error": {"code": ..., "message": ...}}`, never HTML."""

from __future__ import annotations

from starlette.responses import JSONResponse

DEFAULT_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    422: "invalid_request",
    429: "rate_limited",
    500: "internal_error",
}


class ApiError(Exception):
    """Raise from an ApiRoute endpoint to answer with a JSON error."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_response(
    status: int, code: str | None = None, message: str = "", headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"error": {"code": code or DEFAULT_CODES.get(status, "error"), "message": message}}
    return JSONResponse(body, status_code=status, headers=headers)
