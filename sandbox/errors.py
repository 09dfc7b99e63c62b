"""Stripe's error object and the statuses that go with each error type."""

from __future__ import annotations

from typing import Any

DOC_BASE = "https://stripe.com/docs/error-codes"


class StripeError(Exception):
    """Raised anywhere in a handler; the router turns it into Stripe's error response."""

    def __init__(
        self,
        status: int,
        type_: str,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        decline_code: str | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_
        self.message = message
        self.code = code
        self.param = param
        self.decline_code = decline_code
        self.extra = extra or {}
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code is not None:
            error["code"] = self.code
            error["doc_url"] = f"{DOC_BASE}/{self.code.replace('_', '-')}"
        if self.param is not None:
            error["param"] = self.param
        if self.decline_code is not None:
            error["decline_code"] = self.decline_code
        error.update(self.extra)
        return {"error": error}


def invalid_request(message: str, param: str | None = None, code: str | None = None) -> StripeError:
    return StripeError(400, "invalid_request_error", message, param=param, code=code)


def resource_missing(kind: str, object_id: str, param: str = "id") -> StripeError:
    return StripeError(
        404,
        "invalid_request_error",
        f"No such {kind}: '{object_id}'",
        code="resource_missing",
        param=param,
    )


def unknown_parameter(name: str) -> StripeError:
    return invalid_request(
        f"Received unknown parameter: {name}", param=name, code="parameter_unknown"
    )


def missing_parameter(name: str) -> StripeError:
    return invalid_request(f"Missing required param: {name}.", param=name, code="parameter_missing")


def authentication(message: str) -> StripeError:
    # Stripe answers 401 with the invalid_request_error type, not a type of its own.
    return StripeError(401, "invalid_request_error", message)


def permission(message: str, code: str | None = None) -> StripeError:
    return StripeError(403, "permission_error", message, code=code)


def rate_limited() -> StripeError:
    # Stripe does not reliably send Retry-After on a 429; the sandbox always does (one second
    # refills a token at any rate of 1/s or more) so that clients honouring it can be tested.
    return StripeError(
        429,
        "invalid_request_error",
        "Request rate limit exceeded. Learn more about rate limits here "
        "https://stripe.com/docs/rate-limits.",
        code="rate_limit",
        headers={"Stripe-Should-Retry": "false", "Retry-After": "1"},
    )


def idempotency_mismatch(key: str) -> StripeError:
    return StripeError(
        400,
        "idempotency_error",
        "Keys for idempotent requests can only be used with the same parameters they were "
        f"first used with. Try using a key other than '{key}' if you meant to execute a "
        "different request.",
    )


def card_error(
    message: str,
    code: str,
    decline_code: str | None = None,
    *,
    param: str | None = None,
    extra: dict[str, Any] | None = None,
) -> StripeError:
    return StripeError(
        402, "card_error", message, code=code, decline_code=decline_code, param=param, extra=extra
    )


def api_error(message: str = "An unknown error occurred") -> StripeError:
    return StripeError(500, "api_error", message)
