"""The log filter that keeps Stripe secrets out of log lines."""

from __future__ import annotations

import logging

import pytest

from core.stripe.redact import RedactSecrets, redact


def test_redacts_keys_secrets_tokens_also_inside_form_bodies() -> None:
    line = (
        "key=rk_test_51AbCdEf secret whsec_Zx9_yy-12 url=%2Fwebhooks%2Fstripe%2Fwh_Ab-cD_ef12345 "
        "code=ac_9f8e7d6c refresh:rt_00112233 platform sk_live_abcdef12"
    )
    cleaned = redact(line)
    for secret in ("51AbCdEf", "Zx9_yy-12", "Ab-cD_ef12345", "9f8e7d6c", "00112233", "abcdef12"):
        assert secret not in cleaned
    assert "rk_test_[redacted]" in cleaned and "whsec_[redacted]" in cleaned


def test_leaves_ordinary_text_alone() -> None:
    line = "invoice in_123 paid; start_date=2026 smart_retry /webhooks/stripe/connect"
    assert redact(line) == line


def test_the_filter_rewrites_the_record(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.redact")
    logger.addFilter(RedactSecrets())
    with caplog.at_level(logging.INFO, logger="test.redact"):
        logger.info("using %s", "rk_live_supersecret1")
    assert caplog.records[0].getMessage() == "using rk_live_[redacted]"


def test_arguments_keep_their_shape_for_formatters_that_unpack_them() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "POST", "/webhooks/stripe/wh_AbCdEf123456", "1.1", 200),
        None,
    )
    RedactSecrets().filter(record)
    assert isinstance(record.args, tuple) and len(record.args) == 5 and record.args[4] == 200
    assert (
        record.getMessage() == '127.0.0.1:5000 - "POST /webhooks/stripe/wh_[redacted] HTTP/1.1" 200'
    )
