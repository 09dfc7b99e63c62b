"""The `secondloop` command line: sub-commands come from core.commands and from plugins."""

from __future__ import annotations

import argparse
import asyncio
import inspect
import re
import sys
import traceback
from collections.abc import Iterator, Sequence

from core.commands import builtin_commands
from core.contributions import CliCommand
from core.plugins import build_plugin_host
from core.settings import Settings, SettingsError, mask_url_password

# Where a connection is opened: an error raised under one of these is "cannot reach", whatever
# its type (refused, unknown host, bad password, no such database, unwritable SQLite path).
_CONNECTING = {
    "database": (
        ("tortoise.backends", ("create_connection", "ensure_connection", "create_pool")),
        ("core.db", ("_ensure_sqlite_dir",)),
    ),
    "broker": (("redis", ("connect", "_connect", "on_connect")),),
}
# A query for a table that does not exist (SQLite's and PostgreSQL's words for it).
_NOT_MIGRATED = re.compile(r"no such table|relation \S+ does not exist")
_QUERYING: tuple[tuple[str, tuple[str, ...]], ...] = (("tortoise.backends", ()),)  # any function


def build_parser(commands: Sequence[CliCommand]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="secondloop", description="Recover subscription revenue on Stripe."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for command in commands:
        child = sub.add_parser(command.name, help=command.help, description=command.help)
        command.configure(child)
        child.set_defaults(_command=command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    settings: Settings | None = None
    try:
        settings = Settings.from_env()
        commands = list(builtin_commands())
        # Plugins may add commands; a broken plugin set still leaves `config check` usable.
        try:
            host = build_plugin_host(settings.plugins)
            commands.extend(host.collect("register_cli_commands"))
        except Exception as exc:
            print(f"warning: plugins not loaded: {exc}", file=sys.stderr)
        args = build_parser(commands).parse_args(argv)
        command: CliCommand = args._command
        result = command.run(args, settings)
        if inspect.isawaitable(result):
            result = asyncio.run(_as_coroutine(result))
        return int(result or 0)
    except SettingsError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        message = unreachable(exc, settings) if settings is not None else None
        if message is None:
            raise
        print(message, file=sys.stderr)
        return 2


def unreachable(exc: BaseException, settings: Settings) -> str | None:
    """A one-line message when `exc` means the database or the broker cannot be reached, or
    the database has not been migrated; None for anything else."""
    for error in _chain(exc):
        reason = str(error).strip() or type(error).__name__
        for what, places in _CONNECTING.items():
            if _raised_under(error, places):
                url = settings.database_url if what == "database" else settings.broker_url
                return f"secondloop: cannot reach the {what} at {mask_url_password(url)}: {reason}"
        if _NOT_MIGRATED.search(reason) and _raised_under(error, _QUERYING):
            return (
                f"secondloop: the database at {mask_url_password(settings.database_url)} is "
                f"not migrated ({reason}): run `secondloop migrate`"
            )
    return None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc`, what it was raised from, and the members of exception groups, each once."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        error = todo.pop()
        if id(error) in seen:
            continue
        seen.add(id(error))
        yield error
        if isinstance(error, BaseExceptionGroup):
            todo.extend(error.exceptions)
        todo.extend(e for e in (error.__cause__, error.__context__) if e is not None)


def _raised_under(error: BaseException, places: tuple[tuple[str, tuple[str, ...]], ...]) -> bool:
    for frame, _line in traceback.walk_tb(error.__traceback__):
        module = str(frame.f_globals.get("__name__", ""))
        for prefix, functions in places:
            if module.startswith(prefix) and (not functions or frame.f_code.co_name in functions):
                return True
    return False


async def _as_coroutine(awaitable: object) -> object:
    return await awaitable  # type: ignore[misc]


if __name__ == "__main__":
    raise SystemExit(main())
