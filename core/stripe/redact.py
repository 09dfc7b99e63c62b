"""Keep Stripe secrets out of the logs, whatever the log level.

The stripe SDK logs response bodies at DEBUG (a new webhook endpoint's body carries its
`whsec_…`), and HTTP client logs carry URLs (ours hold the webhook token). A filter on the
loggers that see such text scrubs keys, signing secrets, OAuth tokens and webhook tokens.
"""

from __future__ import annotations

import logging
import re

# A prefix starts a token after a non-alphanumeric character or a %XX escape (form bodies).
_START = r"(?:(?<![A-Za-z0-9])|(?<=%[0-9A-Fa-f]{2}))"
_SECRET = re.compile(
    _START + r"(sk_live_|sk_test_|rk_live_|rk_test_|whsec_|wh_|rt_|ac_)[A-Za-z0-9_-]{6,}"
)
LOGGERS = ("stripe", "httpx", "httpcore", "authlib", "uvicorn.access")


def redact(text: str) -> str:
    return _SECRET.sub(lambda m: m.group(1) + "[redacted]", text)


def _clean_arg(arg: object) -> object:
    if isinstance(arg, int | float) or arg is None:
        return arg  # keeps %d and friends working
    text = str(arg)
    cleaned = redact(text)
    return arg if cleaned == text else cleaned


class RedactSecrets(logging.Filter):
    """Scrubs the message and its arguments in place; the arguments keep their shape, since
    some formatters (uvicorn's access log) unpack them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_clean_arg(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _clean_arg(value) for key, value in record.args.items()}
        return True


def install() -> None:
    """Attach the filter once per logger (idempotent)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())
