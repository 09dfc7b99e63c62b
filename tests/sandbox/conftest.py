"""Fixtures for the sandbox foundation's tests: a running sandbox and a webhook receiver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.testing import RunningSandbox, WebhookReceiver, running_sandbox


def pytest_configure(config: pytest.Config) -> None:
    # stripe's HTTPXClient passes bytes as data= to httpx, which warns; not our concern.
    config.addinivalue_line(
        "filterwarnings",
        "ignore:Use 'content=<...>' to upload raw bytes/text content.:DeprecationWarning",
    )


@pytest.fixture
def sb() -> Iterator[RunningSandbox]:
    # extensions=() keeps these tests about the foundation alone.
    with running_sandbox(
        seed="tests", extensions=(), webhook_retry_schedule=(0.05, 0.05, 0.05)
    ) as s:
        yield s


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver()
    yield r
    r.close()
