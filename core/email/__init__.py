"""The one outbound email service every plugin uses: SMTP when configured, else the outbox.

    from core.email import send_email
    await send_email(runtime, workspace_id=ws.id, to="a@example.com", subject="…", text="…",
                     idempotency_key=f"dunning:{invoice_id}:1", customer_facing=True)
"""

from __future__ import annotations

from core.email.delivery import TASK as DELIVER_TASK
from core.email.service import send_email
from core.email.suppression import is_suppressed, suppress
from core.models.email import EmailStatus, OutboundEmail, Suppression

__all__ = [
    "DELIVER_TASK",
    "EmailStatus",
    "OutboundEmail",
    "Suppression",
    "is_suppressed",
    "send_email",
    "suppress",
]
