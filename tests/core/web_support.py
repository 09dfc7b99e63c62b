"""Helpers for the web tests: sign in through the real magic-link flow, parse forms."""

from __future__ import annotations

import re

import httpx
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from core.models.accounts import ConnectionMode, ConnectionStatus, StripeAccount
from core.models.email import OutboundEmail
from core.tenancy import unscoped, workspace_scope

LINK = re.compile(r"https?://[^/\s]+(/(?:signin|invite)/[A-Za-z0-9_\-]+)")


def html(response: httpx.Response) -> HTMLParser:
    return HTMLParser(response.text)


def csrf_of(response: httpx.Response) -> str:
    node = html(response).css_first('input[name="csrf_token"]')
    assert node is not None, "page has no CSRF field"
    value = node.attributes.get("value")
    assert value
    return value


async def last_link(to: str, kind: str = "signin") -> str:
    """The path of the newest sign-in or invitation link mailed to `to`."""
    with unscoped():
        mails = await OutboundEmail.filter(to_address=to).order_by("-id")
    for mail in mails:
        for path in LINK.findall(mail.text_body):
            if path.startswith(f"/{kind}/"):
                return str(path)
    raise AssertionError(f"no {kind} link mailed to {to}")


async def request_link(client: httpx.AsyncClient, email: str) -> httpx.Response:
    page = await client.get("/signin")
    return await client.post("/signin", data={"email": email, "csrf_token": csrf_of(page)})


async def use_link(client: httpx.AsyncClient, path: str) -> httpx.Response:
    confirm = await client.get(path)
    assert confirm.status_code == 200, confirm.text
    return await client.post(path, data={"csrf_token": csrf_of(confirm)})


async def sign_in(client: httpx.AsyncClient, email: str) -> httpx.Response:
    sent = await request_link(client, email)
    assert sent.status_code == 200, sent.text
    return await use_link(client, await last_link(email))


async def create_workspace(client: httpx.AsyncClient, name: str) -> httpx.Response:
    page = await client.get("/onboarding/workspace")
    return await client.post(
        "/onboarding/workspace", data={"name": name, "csrf_token": csrf_of(page)}
    )


async def connect_stripe(workspace_id: int, stripe_id: str = "acct_test") -> StripeAccount:
    """A verified connection, made directly: the connection flow is tested elsewhere."""
    with workspace_scope(workspace_id):
        return await StripeAccount.create(
            workspace_id=workspace_id,
            stripe_account_id=stripe_id,
            display_name=f"Shop {stripe_id}",
            mode=ConnectionMode.RESTRICTED_KEY,
            status=ConnectionStatus.ACTIVE,
        )
