"""`secondloop config check`: the effective settings, secrets masked, validated."""

from __future__ import annotations

import argparse

from core.contributions import CliCommand
from core.settings import Settings, SettingsError


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["check"], help="what to do")


def _run(args: argparse.Namespace, settings: Settings) -> int:
    width = max(len(k) for k in settings.masked())
    for key, value in settings.masked().items():
        print(f"{key.ljust(width)}  {value}")
    try:
        settings.validate()
    except SettingsError as exc:
        print(f"\n{exc}")
        return 1
    print("\nconfiguration OK" + (" (production)" if settings.production else ""))
    return 0


COMMANDS = [CliCommand("config", "Check the configuration (secrets masked).", _configure, _run)]
