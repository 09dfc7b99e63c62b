"""Every CLI command answers an unreachable database (or broker) with one line and exit 2."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tortoise.backends.base import executor as base_executor

from core.cli import main, unreachable
from core.settings import Settings
from tests.core.logging_support import saved_logging

DOWN = "postgres://ops:hunter2@127.0.0.1:1/secondloop"


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("SECONDLOOP_ENV", "test")
    monkeypatch.setenv("SECONDLOOP_DATABASE_URL", DOWN)
    monkeypatch.setenv("SECONDLOOP_STRIPE_API_BASE", "http://127.0.0.1:1")
    with saved_logging():  # serve and scheduler configure logging before they fail
        yield
    # A PostgreSQL executor must not outlive this test in a SQLite run (STACK_NOTES).
    base_executor.EXECUTOR_CACHE.clear()


@pytest.mark.parametrize(
    "argv",
    [
        ["migrate"],
        ["workspace", "create", "Shop", "--owner", "ops@example.com"],
        ["apikey", "create", "shop", "--scope", "read"],
        ["apikey", "list", "shop"],
        ["stripe", "connect", "shop", "--api-key", "rk_test_abcdefgh12345678"],
        ["keys", "rotate"],
        ["serve", "--no-migrate"],
        ["serve"],
        ["scheduler"],
    ],
    ids=lambda argv: " ".join(argv[:2]),
)
def test_an_unreachable_database_is_one_clear_line(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    message = [line for line in err if line.startswith("secondloop:")]
    assert message == [
        "secondloop: cannot reach the database at postgres://ops:******@127.0.0.1:1/secondloop: "
        "[Errno 111] Connect call failed ('127.0.0.1', 1)"
    ]
    assert "Traceback" not in "\n".join(err) and "hunter2" not in "\n".join(err)


def test_an_unreachable_broker_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SECONDLOOP_DATABASE_URL", f"sqlite://{tmp_path}/db.sqlite3")
    monkeypatch.setenv("SECONDLOOP_BROKER_URL", "redis://:pw-secret@127.0.0.1:1/0")
    assert main(["worker"]) == 2
    err = capsys.readouterr().err
    assert "secondloop: cannot reach the broker at redis://:******@127.0.0.1:1/0" in err
    assert "Traceback" not in err and "pw-secret" not in err


def test_a_database_without_tables_says_to_migrate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite://{tmp_path}/empty.sqlite3"
    monkeypatch.setenv("SECONDLOOP_DATABASE_URL", url)
    assert main(["workspace", "create", "Shop", "--owner", "ops@example.com"]) == 2
    err = capsys.readouterr().err
    assert f"secondloop: the database at {url} is not migrated" in err
    assert "run `secondloop migrate`" in err and "Traceback" not in err


def test_other_errors_are_not_mistaken_for_an_unreachable_database() -> None:
    try:
        raise ConnectionRefusedError(111, "refused by something else")
    except ConnectionRefusedError as exc:
        assert unreachable(exc, Settings(database_url=DOWN)) is None
