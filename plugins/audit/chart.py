"""The expiring-cards timeline as SVG bar geometry, computed server-side (no JavaScript)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

WIDTH, HEIGHT, PAD, LABEL = 480, 160, 8, 28


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    count: int
    peak: bool


def month_label(key: str) -> str:
    year, month = (int(part) for part in key.split("-"))
    return date(year, month, 1).strftime("%b %y")


def bars(expiring: Mapping[str, Any]) -> list[Bar]:
    months = list(expiring.get("months") or [])
    if not months:
        return []
    top = max((m["count"] for m in months), default=0) or 1
    slot = (WIDTH - 2 * PAD) / len(months)
    usable = HEIGHT - LABEL - PAD
    out = []
    for index, month in enumerate(months):
        height = usable * month["count"] / top
        out.append(
            Bar(
                x=round(PAD + index * slot + slot * 0.15, 1),
                y=round(PAD + usable - height, 1),
                width=round(slot * 0.7, 1),
                height=round(height, 1),
                label=month_label(month["month"]),
                count=int(month["count"]),
                peak=month["month"] == expiring.get("peak_month"),
            )
        )
    return out
