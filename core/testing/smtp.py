"""A real SMTP server for tests (aiosmtpd on 127.0.0.1): what email tests deliver to.

inbox = Inbox()
with smtp_server(inbox, port):   # port from free_port(), in SECONDLOOP_SMTP_URL
    ...                          # inbox.messages: what arrived, parsed
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.original_content or envelope.content))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def smtp_server(handler: Inbox, port: int) -> Iterator[Controller]:
    """Serve SMTP on 127.0.0.1:`port` with `handler` until the block ends."""
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()
