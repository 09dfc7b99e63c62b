"""Showing an email's HTML inside the app without letting it act.

The app's Content-Security-Policy forbids inline styles, and an iframe's `srcdoc` inherits it,
so the HTML of an email as sent (inline styles, as email needs) is served from its own URL with
a policy of its own: styles allowed, nothing else. No scripts; no remote images (the
open-tracking pixel is not even requested, so viewing never counts as an open); sandboxed;
framable only by the app. Its links open a new window (`<base target="_blank">`), which the
sandbox refuses: they look as sent, but an operator's click never reaches `/r/{token}` and is
never counted as the customer's.

Previews of text not saved yet cannot have a URL; they are drawn from the same text with the
same structure, styled by the plugin's stylesheet (`mirror`).
"""

from __future__ import annotations

import html as html_lib
import re

from starlette.responses import HTMLResponse

FRAME_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'self'; form-action 'none'; sandbox"
)
PREVIEW_CSS = "/static/plugins/recovery/email-preview.css"
_DOCTYPE = re.compile(r"^\s*<!doctype[^>]*>", re.IGNORECASE)
_TARGET = re.compile(r"(<a\b[^>]*?)\starget\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+)", re.IGNORECASE)
_URL = re.compile(r"^https?://\S+$")
_REMOTE_IMG = re.compile(r"(<img\b[^>]*?)\ssrc\s*=\s*([\"']?)(?!data:)", re.IGNORECASE)


def email_document(html: str) -> HTMLResponse:
    """An email's HTML part as a framable, inert document."""
    html = _TARGET.sub(r"\1", html)  # every link follows the base target below
    # Remote images (the open-tracking pixel) are not fetched; the policy refuses them anyway.
    html = _REMOTE_IMG.sub(r"\1 data-src=\2", html)
    found = _DOCTYPE.match(html)
    at = found.end() if found else 0
    inert = f'{html[:at]}<base target="_blank">{html[at:]}'
    return HTMLResponse(
        inert,
        headers={
            "content-security-policy": FRAME_POLICY,
            "x-frame-options": "SAMEORIGIN",
            "cache-control": "no-store",
        },
    )


def mirror(text: str, button: str) -> str:
    """The HTML part `compose.to_html` makes from `text`, with classes instead of inline
    styles, for a sandboxed `srcdoc` preview under the app's policy. Links do not work."""
    parts = []
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        if _URL.match(paragraph.strip()):  # the customer's link on a line of its own
            parts.append(
                f'<p><span class="button">{html_lib.escape(button)}</span></p>'
                f'<p class="small">Or paste this link: {html_lib.escape(paragraph.strip())}</p>'
            )
            continue
        escaped = html_lib.escape(paragraph)
        parts.append("<p>" + escaped.replace("\n", "<br>\n") + "</p>")
    body = "\n".join(parts)
    return (
        f'<!doctype html>\n<html><head><link rel="stylesheet" href="{PREVIEW_CSS}"></head>'
        f"<body>\n{body}\n</body></html>\n"
    )
