"""Structured logs: one JSON object per line, with request id and workspace id when known."""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar

from core.settings import Settings
from core.tenancy import current_workspace_id

request_id_var: ContextVar[str | None] = ContextVar("secondloop_request_id", default=None)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        workspace_id = current_workspace_id()
        if workspace_id is not None:
            entry["workspace_id"] = workspace_id
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
