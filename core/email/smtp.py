"""SMTP delivery with aiosmtplib, and the line between transient and permanent failures."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parseaddr
from urllib.parse import unquote, urlsplit

import aiosmtplib

# Recipient refusals that mean the mailbox does not exist: a hard bounce.
HARD_BOUNCE_CODES = frozenset({550, 551, 553})


class DeliveryError(Exception):
    """A failed attempt: `permanent` ones are not retried, `hard_bounce` ones suppress."""

    def __init__(self, message: str, *, permanent: bool, hard_bounce: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.hard_bounce = hard_bounce


@dataclass(frozen=True)
class SmtpServer:
    hostname: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        """`smtp://user:pass@host:587` (STARTTLS when offered) or `smtps://…:465` (implicit TLS)."""
        parts = urlsplit(url)
        use_tls = parts.scheme == "smtps"
        return cls(
            hostname=parts.hostname or "localhost",
            port=parts.port or (465 if use_tls else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            use_tls=use_tls,
        )


async def send(server: SmtpServer, message: EmailMessage, *, seconds: float = 30.0) -> None:
    """Hand the message to the server; raises DeliveryError classified for retry or not."""
    sender = parseaddr(str(message["From"]))[1]
    recipient = parseaddr(str(message["To"]))[1]
    try:
        await aiosmtplib.send(
            # Flattened here: aiosmtplib would re-fold with its own 78-column policy.
            message.as_bytes(policy=message.policy),
            sender=sender,
            recipients=[recipient],
            hostname=server.hostname,
            port=server.port,
            username=server.username,
            password=server.password,
            use_tls=server.use_tls,
            timeout=seconds,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = [r.code for r in exc.recipients]
        permanent = bool(codes) and all(code >= 500 for code in codes)
        raise DeliveryError(
            f"recipient refused: {'; '.join(f'{r.code} {r.message}' for r in exc.recipients)}",
            permanent=permanent,
            hard_bounce=permanent and any(code in HARD_BOUNCE_CODES for code in codes),
        ) from exc
    except aiosmtplib.SMTPAuthenticationError as exc:
        # A configuration problem the operator can fix: keep the mail and retry.
        raise DeliveryError(f"SMTP authentication failed: {exc.code}", permanent=False) from exc
    except aiosmtplib.SMTPResponseException as exc:
        raise DeliveryError(
            f"SMTP {exc.code}: {exc.message}", permanent=exc.code >= 500
        ) from exc
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        # Connection refused, dropped or timed out: the server never accepted the message.
        raise DeliveryError(f"{type(exc).__name__}: {exc}", permanent=False) from exc
