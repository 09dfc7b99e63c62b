"""Building the MIME message: plain text and HTML alternatives, and the headers we promise."""

from __future__ import annotations

import html as html_lib
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid, parseaddr

from core.models.email import OutboundEmail
from core.settings import Settings

IDEMPOTENCY_HEADER = "X-SecondLoop-Idempotency-Key"
# Headers the service sets itself; a caller may not override them through `headers=`.
RESERVED = frozenset(
    name.lower()
    for name in (
        "From", "To", "Subject", "Message-ID", "Date", "Reply-To", "MIME-Version",
        "Content-Type", "Content-Transfer-Encoding", IDEMPOTENCY_HEADER,
        "List-Unsubscribe", "List-Unsubscribe-Post", "Auto-Submitted",
    )
)


def check_header(name: str, value: str) -> None:
    """Refuse header injection: no CR/LF anywhere, names are plain tokens."""
    if not name or any(c in name for c in "\r\n: ") or any(c in value for c in "\r\n"):
        raise ValueError(f"invalid email header {name!r}")


def from_address(settings: Settings, from_name: str | None) -> str:
    """SECONDLOOP_EMAIL_FROM, with its display name replaced by `from_name` when given."""
    name, address = parseaddr(settings.email_from)
    return formataddr((from_name or name, address or "no-reply@secondloop.local"))


def new_message_id(sender: str) -> str:
    domain = parseaddr(sender)[1].rpartition("@")[2] or "secondloop.local"
    return make_msgid(domain=domain)


def html_from_text(text: str) -> str:
    """An HTML part for a caller that gave only text: paragraphs, escaped, line breaks kept."""
    paragraphs = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    body = "".join(
        "<p>" + html_lib.escape(p).replace("\n", "<br>\n") + "</p>\n" for p in paragraphs
    )
    return f'<!doctype html>\n<html><body style="font-family:sans-serif">\n{body}</body></html>\n'


# RFC 5322 allows 998-character lines; the default (78) would RFC 2047-encode the long
# unsubscribe URL in List-Unsubscribe, which mail clients then fail to parse.
POLICY = policy.SMTP.clone(max_line_length=998)


def build_message(email: OutboundEmail) -> EmailMessage:
    message = EmailMessage(policy=POLICY)
    message["From"] = email.from_address
    message["To"] = email.to_address
    message["Subject"] = email.subject
    message["Message-ID"] = email.message_id
    message["Date"] = format_datetime(email.created_at)
    if email.reply_to:
        message["Reply-To"] = email.reply_to
    for name, value in (email.headers or {}).items():
        message[name] = value
    message.set_content(email.text_body)
    message.add_alternative(email.html_body, subtype="html")
    return message
