from __future__ import annotations

import csv
import types
from pathlib import Path

import pytest

from core.plugins import build_plugin_host, hookimpl
from plugins.recovery.declines import TABLE, Category, classify, is_retryable, rules

SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "stripe" / "decline_codes.tsv"


def _rows() -> list[dict[str, str]]:
    with TABLE.open(newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


@pytest.mark.parametrize("row", _rows(), ids=lambda row: row["decline_code"])
def test_every_row_of_the_table_classifies_to_its_category(row: dict[str, str]) -> None:
    category = classify(row["decline_code"], "card_declined")
    if row["decline_code"] == "do_not_try_again":
        assert category is Category.REVOKED  # never-retry signal; the table agrees
    assert category == Category(row["category"])


def test_the_table_covers_the_shared_copy() -> None:
    if SHARED.exists():
        assert SHARED.read_text() == TABLE.read_text()
    assert len(rules()) == len(_rows()) > 40


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((None, "authentication_required", None, None), Category.AUTHENTICATION),
        (("authentication_required", "card_declined", None, None), Category.AUTHENTICATION),
        (("insufficient_funds", "card_declined", "do_not_try_again", None), Category.REVOKED),
        (("previously_declined_do_not_retry", "card_declined", None, None), Category.REVOKED),
        ((None, "previously_declined_do_not_retry", None, None), Category.REVOKED),
        ((None, "expired_card", None, None), Category.CARD_UPDATE),
        ((None, "processing_error", None, None), Category.TECHNICAL),
        (("something_new", "card_declined", "try_again_later", None), Category.TECHNICAL),
        (("something_new", "card_declined", "confirm_card_data", None), Category.CARD_UPDATE),
        ((None, "card_declined", None, "blocked"), Category.FRAUD),
        (("something_new", "card_declined", None, "issuer_declined"), Category.OTHER),
        ((None, None, None, None), Category.OTHER),
    ],
)
def test_codes_advice_and_outcome(args: tuple[str | None, ...], expected: Category) -> None:
    assert classify(*args) is expected


def test_retryable_only_for_funds_issuer_technical_and_not_stripe_never_retries() -> None:
    assert is_retryable(Category.FUNDS, "insufficient_funds")
    assert is_retryable(Category.ISSUER, "do_not_honor")
    assert is_retryable(Category.TECHNICAL, "processing_error")
    assert not is_retryable(Category.CARD_UPDATE, "expired_card")
    assert not is_retryable(Category.FRAUD, "lost_card")
    assert not is_retryable(Category.REVOKED, "stop_payment_order")


class _First:
    @hookimpl
    def classify_decline(self, decline_code: str | None) -> str | None:
        return "fraud" if decline_code == "insufficient_funds" else None


class _Second:
    @hookimpl
    def classify_decline(self, decline_code: str | None, code: str | None) -> str | None:
        if decline_code == "insufficient_funds":
            return "technical"
        return "not-a-category" if decline_code == "do_not_honor" else None


def test_classify_decline_hook_first_answer_wins_in_registration_order() -> None:
    host = build_plugin_host(["recovery"], [("first", _First()), ("second", _Second())])
    assert classify("insufficient_funds", "card_declined", host=host) is Category.FRAUD
    # An unknown category is ignored; the table decides.
    assert classify("do_not_honor", "card_declined", host=host) is Category.ISSUER
    assert classify("expired_card", "card_declined", host=host) is Category.CARD_UPDATE


def test_the_hook_is_published_by_the_plugin() -> None:
    host = build_plugin_host(["recovery"], [("noop", types.SimpleNamespace())])
    assert hasattr(host.hook, "classify_decline")
    assert hasattr(host.hook, "register_recovery_steps")
