"""The `secondloop` command line: sub-commands come from core.commands and from plugins."""

from __future__ import annotations

import argparse
import asyncio
import inspect
import sys
from collections.abc import Sequence

from core.commands import builtin_commands
from core.contributions import CliCommand
from core.plugins import build_plugin_host
from core.settings import Settings, SettingsError


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


async def _as_coroutine(awaitable: object) -> object:
    return await awaitable  # type: ignore[misc]


if __name__ == "__main__":
    raise SystemExit(main())
