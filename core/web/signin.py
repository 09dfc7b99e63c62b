"""Passwordless sign-in: ask for a link, confirm it (scanners only GET), use it once; sign out."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from core.auth import magic, ratelimit
from core.crypto import hash_token
from core.email import send_email
from core.email.outbox import dev_outbox_allows
from core.runtime import Runtime
from core.web.auth import current_user, sign_in, sign_out
from core.web.templating import render

WINDOW = timedelta(minutes=15)
PER_EMAIL = 5
PER_IP = 20
PROBLEM_TEXT = {
    magic.LinkProblem.UNKNOWN: "This sign-in link is not valid. Check you copied all of it.",
    magic.LinkProblem.USED: "This sign-in link was already used. Each link works once.",
    magic.LinkProblem.EXPIRED: "This sign-in link has expired (links last 15 minutes).",
}


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def safe_next(raw: str | None) -> str:
    """Only same-site paths: an open redirect after sign-in would be a phishing gift."""
    if not raw or not raw.startswith("/") or raw.startswith("//") or urlsplit(raw).netloc:
        return "/app"
    return raw


async def signin_form(request: Request) -> Response:
    if current_user(request) is not None:
        return RedirectResponse("/app", status_code=303)
    next_path = safe_next(request.query_params.get("next"))
    return render(request, "signin/form.html", {"next": next_path})


async def signin_submit(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    form = await request.form()
    raw = str(form.get("email", ""))
    next_path = safe_next(str(form.get("next", "")))
    email = magic.normalize_email(raw)
    if email is None:
        return render(
            request,
            "signin/form.html",
            {"error": "Enter a valid email address.", "email": raw, "next": next_path},
            status=400,
        )
    ip = client_ip(request)
    # Both limits always count, so neither can be probed to find the other.
    ip_ok = await ratelimit.hit(runtime, f"signin:ip:{ip}", limit=PER_IP, window=WINDOW)
    email_ok = await ratelimit.hit(runtime, f"signin:email:{email}", limit=PER_EMAIL, window=WINDOW)
    if not (ip_ok and email_ok):
        response = render(request, "signin/limited.html", {"minutes": 15}, status=429)
        response.headers["Retry-After"] = str(int(WINDOW.total_seconds()))
        return response
    token = await magic.issue(runtime, email, ip)
    link = f"{runtime.settings.base_url.rstrip('/')}/signin/{token}"
    await send_email(
        runtime,
        workspace_id=None,
        to=email,
        subject="Your SecondLoop sign-in link",
        text=(
            f"Sign in to SecondLoop:\n\n{link}\n\n"
            "The link works once and expires in 15 minutes. "
            "If you did not ask for it, ignore this email."
        ),
        idempotency_key=f"signin:{hash_token(token)}",
    )
    request.session["next"] = next_path
    return render(
        request,
        "signin/sent.html",
        {"email": email, "outbox": dev_outbox_allows(runtime.settings, request)},
    )


async def link_confirm(request: Request) -> Response:
    """GET never uses the link: mail scanners prefetch URLs, people press the button."""
    runtime: Runtime = request.app.state.runtime
    token = request.path_params["token"]
    problem = await magic.peek(runtime, token)
    if problem is not None:
        message = PROBLEM_TEXT[problem]
        return render(request, "signin/problem.html", {"message": message}, status=400)
    return render(request, "signin/confirm.html", {"token": token})


async def link_use(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    result = await magic.consume(runtime, request.path_params["token"])
    if result.user is None:
        assert result.problem is not None
        return render(
            request, "signin/problem.html", {"message": PROBLEM_TEXT[result.problem]}, status=400
        )
    next_path = safe_next(request.session.get("next"))
    await sign_in(request, result.user)
    return RedirectResponse(next_path, status_code=303)


async def signout(request: Request) -> Response:
    await sign_out(request)
    return RedirectResponse("/signin", status_code=303)


def routes(runtime: Runtime) -> list[BaseRoute]:
    return [
        Route("/signin", signin_form, methods=["GET"]),
        Route("/signin", signin_submit, methods=["POST"]),
        Route("/signin/{token}", link_confirm, methods=["GET"]),
        Route("/signin/{token}", link_use, methods=["POST"]),
        Route("/signout", signout, methods=["POST"]),
    ]
