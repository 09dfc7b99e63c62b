"""Structured logs: one JSON object per line, with request id and workspace id when known.

Every line passes `core.redact` on the way out: tokens, keys and token-bearing paths (magic
links, invitations, unsubscribe and recovery links, webhook URLs) never reach the output.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar

from core import redact
from core.settings import LOG_LEVELS, Settings, SettingsError
from core.tenancy import current_workspace_id

UVICORN_LOGGERS = ("uvicorn", "uvicorn.access", "uvicorn.error")

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
            # A traceback's messages may quote a URL or a request body.
            entry["exc"] = redact.redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


def configure_logging(settings: Settings) -> None:
    """One JSON handler on the root logger, for every logger including uvicorn's access log
    (served with `log_config=None`, so it propagates here), with secrets redacted."""
    if settings.log_level not in LOG_LEVELS:
        raise SettingsError(
            f"SECONDLOOP_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, "
            f"got {settings.log_level!r}"
        )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    redact.install(handler)
    redact.install()
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    # uvicorn's own logging config (if something in the process applied it) gives its loggers
    # handlers and levels of their own: they would bypass this handler, and the redaction.
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
        logger.setLevel(logging.NOTSET)
        logger.disabled = False
