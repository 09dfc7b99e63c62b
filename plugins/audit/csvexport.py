"""The failed-invoice list of a run as CSV (the rows of results.failed_invoices.invoices)."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

COLUMNS = (
    "id",
    "created",
    "customer",
    "subscription",
    "currency",
    "amount_due",
    "amount_remaining",
    "status",
    "attempt_count",
    "decline_code",
    "category",
    "fate",
    "recovered_by",
    "retry_scheduled",
)


def failed_invoices_csv(results: Mapping[str, Any] | None) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for row in ((results or {}).get("failed_invoices") or {}).get("invoices") or []:
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in COLUMNS])
    return buffer.getvalue()
