"""`send_email`: record the message once per idempotency key and enqueue its delivery."""

from __future__ import annotations

from tortoise.exceptions import IntegrityError

from core.email import message as mime
from core.email.delivery import TASK
from core.email.tokens import make_token, unsubscribe_url
from core.jobs import enqueue
from core.models.email import EmailStatus, OutboundEmail
from core.runtime import Runtime
from core.tenancy import TenancyError, current_workspace_id, unscoped


async def send_email(
    runtime: Runtime,
    *,
    workspace_id: int | None,
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    idempotency_key: str,
    customer_facing: bool = False,
    category: str = "transactional",
    reply_to: str | None = None,
    from_name: str | None = None,
    headers: dict[str, str] | None = None,
) -> OutboundEmail:
    """Record a message and enqueue its delivery; a repeated key returns the existing row.

    `workspace_id=None` is for mail sent before a workspace exists (sign-in links).
    Customer-facing mail carries one-click unsubscribe headers (RFC 8058) and needs a workspace,
    whose suppression list the unsubscribe adds to.
    """
    if not idempotency_key or len(idempotency_key) > 255:
        raise ValueError("idempotency_key must be 1-255 characters")
    if "@" not in to or any(c in to for c in "\r\n,;<>"):
        raise ValueError(f"not a single email address: {to!r}")
    scope = current_workspace_id()
    if scope is not None and workspace_id is not None and workspace_id != scope:
        raise TenancyError(f"mail for workspace {workspace_id} sent inside the scope of {scope}")
    if customer_facing and workspace_id is None:
        raise ValueError("customer-facing mail needs a workspace (for its suppression list)")
    mime.check_header("Subject", subject)
    key = f"{workspace_id if workspace_id is not None else '-'}:{idempotency_key}"
    with unscoped():
        existing = await OutboundEmail.get_or_none(key=key)
    if existing is None:
        sender = mime.from_address(runtime.settings, from_name)
        try:
            with unscoped():
                existing = await OutboundEmail.create(
                    workspace_id=workspace_id,
                    key=key,
                    idempotency_key=idempotency_key,
                    message_id=mime.new_message_id(sender),
                    to_address=to.strip(),
                    from_address=sender,
                    reply_to=reply_to,
                    subject=subject[:500],
                    text_body=text,
                    html_body=html if html is not None else mime.html_from_text(text),
                    headers=_headers(runtime, workspace_id, to, idempotency_key,
                                     customer_facing, headers),
                    category=category,
                    customer_facing=customer_facing,
                    created_at=runtime.now(),
                )
        except IntegrityError:  # the same key recorded concurrently: theirs wins
            with unscoped():
                existing = await OutboundEmail.get(key=key)
    if existing.status == EmailStatus.QUEUED:
        # Idempotent: the dedupe key makes a second enqueue for the same message a no-op.
        await enqueue(
            runtime, TASK, workspace_id=workspace_id, payload={"email_id": existing.id},
            dedupe_key=f"email:{existing.id}",
        )
    with unscoped():
        return await OutboundEmail.get(id=existing.id)


def _headers(
    runtime: Runtime,
    workspace_id: int | None,
    to: str,
    idempotency_key: str,
    customer_facing: bool,
    extra: dict[str, str] | None,
) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in (extra or {}).items():
        mime.check_header(name, value)
        if name.lower() in mime.RESERVED:
            raise ValueError(f"header {name!r} is set by the email service")
        headers[name] = value
    headers[mime.IDEMPOTENCY_HEADER] = idempotency_key
    # RFC 3834: tells vacation responders and auto-repliers not to answer machine mail.
    headers["Auto-Submitted"] = "auto-generated"
    if customer_facing and workspace_id is not None:
        token = make_token(runtime.settings, workspace_id, to)
        mailbox = mime.from_address(runtime.settings, None).rpartition("<")[2].rstrip(">")
        headers["List-Unsubscribe"] = (
            f"<{unsubscribe_url(runtime.settings, token)}>, "
            f"<mailto:{mailbox}?subject=unsubscribe%20{token}>"
        )
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return headers
