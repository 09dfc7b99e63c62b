"""Connect OAuth: the authorize page, the token endpoint, deauthorization.

Errors on ``/oauth/*`` follow Stripe's OAuth format (``{"error": "invalid_grant",
"error_description": ...}``), which the SDK maps to ``stripe.oauth_error`` classes.
"""

from __future__ import annotations

import html
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from sandbox.accounts import create_account
from sandbox.context import Ctx
from sandbox.events import emit_event
from sandbox.forms import parse_pairs
from sandbox.keys import READ_ONLY_PERMISSIONS
from sandbox.routing import bearer_secret
from sandbox.state import Account, OAuthCode, RefreshToken, SandboxState

CODE_TTL = 300.0
SCOPES = ("read_write", "read_only")


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status)


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;}"
        "button{font-size:1rem;padding:.5rem 1rem;margin-right:.5rem}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>",
        status,
    )


def application_object(state: SandboxState) -> dict[str, Any]:
    return {"id": state.client_id, "object": "application", "name": state.config.platform_name}


class OAuthRoutes:
    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        return [
            Route("/oauth/authorize", self.authorize_page, methods=["GET"]),
            # The SDK's authorize_url(options={"express": True}) points here.
            Route("/express/oauth/authorize", self.authorize_page, methods=["GET"]),
            Route("/oauth/authorize", self.authorize_decision, methods=["POST"]),
            Route("/oauth/token", self.token, methods=["POST"]),
            Route("/oauth/deauthorize", self.deauthorize, methods=["POST"]),
        ]

    # -- the page ---------------------------------------------------------------------
    async def authorize_page(self, request: Request) -> Response:
        q = parse_pairs(parse_qsl(request.url.query, keep_blank_values=True))
        problem = self._check_request(q)
        if problem:
            return _page("Authorization error", f"<p>{html.escape(problem)}</p>", 400)
        user = q.get("stripe_user") if isinstance(q.get("stripe_user"), dict) else {}
        email = str(user.get("email", "")) if user else ""
        options = ["<option value=''>Create a new account</option>"]
        for account in self.state.accounts.values():
            if account.is_platform:
                continue
            selected = " selected" if email and account.obj.get("email") == email else ""
            label = (
                account.obj["business_profile"]["name"] or account.obj.get("email") or account.id
            )
            text = html.escape(f"{label} ({account.id})")
            options.append(f"<option value='{account.id}'{selected}>{text}</option>")
        hidden = "".join(
            f"<input type='hidden' name='{html.escape(k)}' value='{html.escape(v)}'>"
            for k, v in parse_qsl(request.url.query, keep_blank_values=True)
        )
        scope = html.escape(str(q.get("scope") or "read_only"))
        body = (
            f"<p><strong>{html.escape(self.state.config.platform_name)}</strong> would like "
            f"<code>{scope}</code> access to your Stripe account.</p>"
            f"<form method='post' action='/oauth/authorize'>{hidden}"
            f"<p><label>Account <select name='account'>{''.join(options)}</select></label></p>"
            "<button type='submit' name='decision' value='approve'>Authorize access</button>"
            "<button type='submit' name='decision' value='deny'>Deny</button></form>"
        )
        return _page("Connect with Stripe (sandbox)", body)

    def _check_request(self, q: dict[str, Any]) -> str | None:
        if q.get("client_id") != self.state.client_id:
            return f"No such application: '{q.get('client_id')}'"
        if q.get("response_type", "code") != "code":
            return "Invalid response_type: only 'code' is supported."
        if q.get("scope", "read_only") not in SCOPES:
            return f"Invalid scope: {q.get('scope')}"
        if not q.get("redirect_uri"):
            return "A redirect_uri is required by the sandbox."
        return None

    async def authorize_decision(self, request: Request) -> Response:
        form = parse_pairs(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        problem = self._check_request(form)
        if problem:
            return _page("Authorization error", f"<p>{html.escape(problem)}</p>", 400)
        redirect_uri = str(form["redirect_uri"])
        params: dict[str, str] = {}
        if form.get("decision") != "approve":
            params = {"error": "access_denied", "error_description": "The user denied your request"}
        else:
            account = self._pick_account(form)
            code = self.state.ids.token("ac")
            scope = str(form.get("scope") or "read_only")
            self.state.oauth_codes[code] = OAuthCode(
                code, account.id, scope, self.state.client_id, time.time() + CODE_TTL
            )
            params = {"code": code, "scope": scope}
        if form.get("state"):
            params["state"] = str(form["state"])
        sep = "&" if "?" in redirect_uri else "?"
        return RedirectResponse(f"{redirect_uri}{sep}{urlencode(params)}", 302)

    def _pick_account(self, form: dict[str, Any]) -> Account:
        chosen = self.state.accounts.get(str(form.get("account") or ""))
        if chosen is not None and not chosen.is_platform:
            return chosen
        user = form.get("stripe_user") if isinstance(form.get("stripe_user"), dict) else {}
        user = user or {}
        return create_account(
            self.state,
            name=str(user.get("business_name") or "") or None,
            email=str(user.get("email") or "") or None,
            country=str(user.get("country") or "US"),
            currency=str(user.get("currency") or "usd"),
        )

    # -- token & deauthorize ------------------------------------------------------------
    def _platform_key(self, request: Request, form: dict[str, Any]) -> Account | None:
        secret = bearer_secret(request) or form.get("client_secret")
        key = self.state.keys.get(str(secret)) if secret else None
        if key is None or key.kind != "secret" or key.account_id != self.state.platform_id:
            return None
        return self.state.platform

    async def token(self, request: Request) -> Response:
        form = parse_pairs(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        if self._platform_key(request, form) is None:
            return _oauth_error(
                401,
                "invalid_client",
                "No authentication was provided. Send your secret API key using the "
                "Authorization header, or as a client_secret POST parameter.",
            )
        grant = form.get("grant_type")
        if grant == "authorization_code":
            return self._exchange_code(str(form.get("code") or ""))
        if grant == "refresh_token":
            return self._refresh(str(form.get("refresh_token") or ""), form.get("scope"))
        return _oauth_error(400, "unsupported_grant_type", f"Unsupported grant type: {grant}")

    def _exchange_code(self, code: str) -> Response:
        if not code:
            return _oauth_error(400, "invalid_request", "No authorization code provided")
        grant = self.state.oauth_codes.get(code)
        if grant is None or grant.expires_at < time.time():
            return _oauth_error(400, "invalid_grant", f"Authorization code does not exist: {code}")
        if grant.used:
            return _oauth_error(
                400, "invalid_grant", f"Authorization code provided has already been used: {code}"
            )
        grant.used = True
        account = self.state.accounts[grant.account_id]
        account.platform = self.state.platform_id
        account.scope = grant.scope
        refresh = self.state.ids.token("rt")
        self.state.refresh_tokens[refresh] = RefreshToken(
            refresh, account.id, grant.scope, grant.client_id
        )
        ctx = Ctx(self.state, account)
        emit_event(
            ctx, "account.application.authorized", application_object(self.state), connect_only=True
        )
        return JSONResponse(self._token_body(account, grant.scope, refresh))

    def _refresh(self, token: str, scope: Any) -> Response:
        grant = self.state.refresh_tokens.get(token)
        if grant is None:
            return _oauth_error(400, "invalid_grant", f"Refresh token does not exist: {token}")
        account = self.state.accounts[grant.account_id]
        if account.platform != self.state.platform_id:
            return _oauth_error(400, "invalid_grant", f"Refresh token does not exist: {token}")
        wanted = str(scope) if scope else grant.scope
        if wanted not in SCOPES or (grant.scope == "read_only" and wanted == "read_write"):
            return _oauth_error(400, "invalid_scope", f"Invalid scope: {wanted}")
        return JSONResponse(self._token_body(account, wanted, token))

    def _token_body(self, account: Account, scope: str, refresh: str) -> dict[str, Any]:
        if scope == "read_write":
            key = self.state.mint_key(account.id, "secret", issued_to=self.state.platform_id)
        else:
            key = self.state.mint_key(
                account.id,
                "restricted",
                dict(READ_ONLY_PERMISSIONS),
                issued_to=self.state.platform_id,
                prefix="sk_test",
            )
        return {
            "access_token": key.secret,
            "livemode": False,
            "refresh_token": refresh,
            "scope": scope,
            "stripe_publishable_key": account.publishable_key,
            "stripe_user_id": account.id,
            "token_type": "bearer",
        }

    async def deauthorize(self, request: Request) -> Response:
        form = parse_pairs(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        if self._platform_key(request, form) is None:
            return _oauth_error(401, "invalid_client", "No authentication was provided.")
        client_id = form.get("client_id")
        user_id = str(form.get("stripe_user_id") or "")
        account = self.state.accounts.get(user_id)
        if (
            client_id != self.state.client_id
            or account is None
            or account.platform != self.state.platform_id
        ):
            return _oauth_error(
                400,
                "invalid_client",
                f"Application {client_id} is not connected to stripe account {user_id}, or "
                "that account does not exist.",
            )
        deauthorize_account(self.state, account)
        return JSONResponse({"stripe_user_id": account.id})


def deauthorize_account(state: SandboxState, account: Account) -> None:
    """Disconnect an account from the platform and tell the platform's Connect endpoints."""
    ctx = Ctx(state, account)
    emit_event(
        ctx, "account.application.deauthorized", application_object(state), connect_only=True
    )
    account.platform = None
    account.scope = None
    for key in state.keys.values():
        if key.account_id == account.id and key.issued_to == state.platform_id:
            key.revoked = True
    for token, grant in list(state.refresh_tokens.items()):
        if grant.account_id == account.id:
            del state.refresh_tokens[token]
