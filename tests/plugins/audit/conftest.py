"""A sandbox seeded once per module with the demo businesses, and a snapshot of its truth."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from core.settings import Settings
from sandbox.seed import seed_scenario
from sandbox.testing import RunningSandbox, running_sandbox
from tests.plugins.audit.seed import add_corner_cases, add_stray_clock


def pytest_configure(config: pytest.Config) -> None:
    # stripe's HTTPXClient passes bytes as data= to httpx, which warns; not our concern.
    config.addinivalue_line(
        "filterwarnings",
        "ignore:Use 'content=<...>' to upload raw bytes/text content.:DeprecationWarning",
    )


@pytest.fixture(scope="module")
def seeded() -> Iterator[tuple[RunningSandbox, Any]]:
    """The two demo businesses with the corner cases of tests/plugins/audit/seed.py added,
    the first in USD and EUR, the second in EUR and GBP; the first also has a stray clock."""
    with running_sandbox(seed="audit-tests") as sb:
        summary = sb.call(lambda: seed_scenario(sb.state, "demo", customers=60))
        for business, currency in zip(summary.businesses, ("eur", "gbp"), strict=True):
            add_corner_cases(sb, business, currency, tag=currency)
        add_stray_clock(sb, summary.businesses[0])
        yield sb, summary


def snapshot(sb: RunningSandbox, account_id: str) -> list[dict[str, Any]]:
    """Every object of the account, copied on the sandbox's loop (the only safe place)."""
    store = sb.state.accounts[account_id].store
    return sb.call(lambda: copy.deepcopy(list(store.objects.values())))


@pytest.fixture
def settings(settings: Settings, seeded: Any) -> Settings:
    """The app pointed at the seeded sandbox."""
    sb, _ = seeded
    return settings.replace(
        stripe_api_base=sb.url,
        stripe_connect_base=sb.url,
        stripe_secret_key=sb.platform_key,
        stripe_client_id=sb.client_id,
    )
