"""`secondloop migrate` and `secondloop makemigrations`."""

from __future__ import annotations

import argparse

from tortoise.migrations.autodetector import MigrationAutodetector

from core import db
from core.contributions import CliCommand
from core.plugins import build_plugin_host
from core.settings import Settings


def _configure_migrate(parser: argparse.ArgumentParser) -> None:
    pass


async def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    settings.validate()
    host = build_plugin_host(settings.plugins)
    try:
        await db.migrate(settings, host)
    finally:
        await db.close_db()
    print("migrations applied")
    return 0


async def pending_changes(settings: Settings) -> list[object]:
    """Migration writers for model changes no migration covers yet (empty when in sync)."""
    from tortoise.cli.cli import tortoise_cli_context

    host = build_plugin_host(settings.plugins)
    config = db.tortoise_config(settings, host)
    async with tortoise_cli_context(config) as ctx:
        assert ctx.apps is not None
        return list(await MigrationAutodetector(ctx.apps, config["apps"]).changes())


def _configure_make(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check", action="store_true", help="exit 1 if models need a migration")


async def _makemigrations(args: argparse.Namespace, settings: Settings) -> int:
    writers = await pending_changes(settings)
    if args.check:
        for writer in writers:
            print(f"missing migration for app {writer.app_label}")  # type: ignore[attr-defined]
        return 1 if writers else 0
    for writer in writers:
        path = writer.write()  # type: ignore[attr-defined]
        print(f"created {path}")
    if not writers:
        print("no changes")
    return 0


COMMANDS = [
    CliCommand("migrate", "Apply every app's migrations.", _configure_migrate, _migrate),
    CliCommand(
        "makemigrations", "Write migrations for model changes.", _configure_make, _makemigrations
    ),
]
