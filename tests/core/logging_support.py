"""For tests that run `configure_logging` (directly or through a CLI command)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from core.logs import UVICORN_LOGGERS


@contextlib.contextmanager
def saved_logging() -> Iterator[None]:
    """configure_logging rewires the root and uvicorn loggers (a handler on this test's
    stderr): put them back afterwards, or later tests log to a closed stream."""
    loggers = [logging.getLogger(), *(logging.getLogger(n) for n in UVICORN_LOGGERS)]
    saved = [(lg, lg.handlers[:], lg.level, lg.propagate, lg.disabled) for lg in loggers]
    try:
        yield
    finally:
        for logger, handlers, level, propagate, disabled in saved:
            logger.handlers[:] = handlers
            logger.setLevel(level)
            logger.propagate = propagate
            logger.disabled = disabled
