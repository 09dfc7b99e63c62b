"""Keep secrets out of the logs, whatever the log level and whichever logger writes them.

Two kinds of text carry secrets:
- Stripe's: the SDK logs response bodies at DEBUG (a new webhook endpoint's body carries its
  `whsec_…`), HTTP client logs carry URLs and form bodies (keys, OAuth codes and tokens).
- SecondLoop's own bearer URLs: uvicorn's access log writes every request path, and a path is
  the whole credential for a magic link (`/signin/sl_…`), an invitation (`/invite/inv_…`), an
  unsubscribe link (`/u/…`) and a workspace's webhook URL (`/webhooks/stripe/wh_…`); plugins
  add theirs through `register_token_paths` (recovery's customer links, `/r/…`, `/r/o/…`),
  which `use_token_paths` puts in effect when the runtime is built. API keys (`sl_…`) travel
  in headers.

`RedactSecrets` scrubs both. `core.logs.configure_logging` puts it on the process's handler
(so every logger is covered) and `install()` on the loggers known to see such text (so a host
with its own handlers, or pytest's capture, is covered too).
"""

from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"

# A prefix starts a token after a non-alphanumeric character or a %XX escape (form bodies).
_START = r"(?:(?<![A-Za-z0-9])|(?<=%[0-9A-Fa-f]{2}))"
_STRIPE = re.compile(
    _START + r"(sk_live_|sk_test_|rk_live_|rk_test_|whsec_|wh_|rt_|ac_)[A-Za-z0-9_-]{6,}"
)
# SecondLoop's tokens (core/crypto.new_token): magic links and API keys `sl_`, invitations
# `inv_`, 32 random bytes each. The length floor keeps names such as `sl_session` readable.
_OURS = re.compile(_START + r"(sl_|inv_)[A-Za-z0-9_-]{16,}")

# The core's paths whose next segment is a bearer token (plugins add theirs).
CORE_TOKEN_PATHS = ("signin", "invite", "u", "webhooks/stripe")
# Fixed segments under those paths that are not tokens.
_NOT_TOKENS = ("connect",)
_SEP = r"(?:/|%2[Ff])"
_END = r"""[/?#&\s"'%]"""  # what ends a path segment


def _path_pattern(paths: tuple[str, ...]) -> re.Pattern[str]:
    # Longest first, so the alternation tries `r/o` before `r`. A `/` may be %-encoded when
    # the path sits in a query string or a form.
    ordered = sorted(set(paths), key=len, reverse=True)
    return re.compile(
        rf"({_SEP}(?:{'|'.join(re.escape(p).replace('/', _SEP) for p in ordered)}){_SEP})"
        rf"(?!(?:{'|'.join(_NOT_TOKENS)})(?:{_END}|$))"
        rf"(sl_|inv_|wh_)?(?:(?!{_END}).)+"
    )


TOKEN_PATHS: tuple[str, ...] = CORE_TOKEN_PATHS
_PATH = _path_pattern(TOKEN_PATHS)


def use_token_paths(paths: list[str] | tuple[str, ...]) -> None:
    """Redact, besides the core's, the token after each of `paths` (the plugins'
    `register_token_paths`). Process-wide, like logging itself."""
    global TOKEN_PATHS, _PATH
    cleaned = tuple(p.strip("/") for p in paths if isinstance(p, str) and p.strip("/"))
    TOKEN_PATHS = tuple(dict.fromkeys((*CORE_TOKEN_PATHS, *cleaned)))
    _PATH = _path_pattern(TOKEN_PATHS)


# Query parameters that carry a credential (`?token=…`, OAuth's `?code=…`).
_QUERY = re.compile(r"([?&](?:token|code|key|secret|password)=)[^&#\s\"']+", re.IGNORECASE)

LOGGERS = ("stripe", "httpx", "httpcore", "authlib", "uvicorn.access", "uvicorn.error")


def redact(text: str) -> str:
    """`text` with every token, key and token-bearing path segment replaced by `[redacted]`."""
    # A known prefix stays, so a line still says which kind of token it was.
    text = _PATH.sub(lambda m: m.group(1) + (m.group(2) or "") + REDACTED, text)
    text = _QUERY.sub(lambda m: m.group(1) + REDACTED, text)
    text = _STRIPE.sub(lambda m: m.group(1) + REDACTED, text)
    return _OURS.sub(lambda m: m.group(1) + REDACTED, text)


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


def install(target: logging.Filterer | None = None) -> None:
    """Attach the filter once to `target`, or to each logger in LOGGERS (idempotent)."""
    targets = [target] if target is not None else [logging.getLogger(n) for n in LOGGERS]
    for each in targets:
        if not any(isinstance(f, RedactSecrets) for f in each.filters):
            each.addFilter(RedactSecrets())
