"""Public URLs of the sandbox's hosted pages (invoice page, billing portal).

Timers run outside any request, so the last base URL a request came in on is remembered;
``SandboxConfig.public_url`` wins when set.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from sandbox.context import Ctx

_FALLBACK = "http://127.0.0.1:12111"


def base_url(ctx: Ctx) -> str:
    configured = ctx.state.config.public_url
    if configured:
        return configured.rstrip("/")
    if ctx.url:
        parts = urlsplit(ctx.url)
        if parts.scheme and parts.netloc:
            base = f"{parts.scheme}://{parts.netloc}"
            ctx.state.config.extra["billing_base_url"] = base
            return base
    remembered = ctx.state.config.extra.get("billing_base_url")
    return str(remembered) if remembered else _FALLBACK


def hosted_invoice_url(ctx: Ctx, invoice_id: str) -> str:
    return f"{base_url(ctx)}/_sandbox/pay/{ctx.account.id}/{invoice_id}"


def portal_url(ctx: Ctx, session_id: str) -> str:
    return f"{base_url(ctx)}/_sandbox/portal/{ctx.account.id}/{session_id}"
