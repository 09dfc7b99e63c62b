"""The audit's decline table is the shared one (../shared/stripe/decline_codes.tsv)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from plugins.audit.declines import TABLE, categories

SHARED = Path(__file__).resolve().parents[4] / "shared" / "stripe" / "decline_codes.tsv"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def test_the_table_holds_the_shared_data() -> None:
    if not SHARED.exists():
        pytest.skip(f"no shared copy at {SHARED}")
    assert _rows(TABLE) == _rows(SHARED)
    assert len(categories()) == len(_rows(TABLE)) > 40
