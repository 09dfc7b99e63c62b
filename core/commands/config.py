"""`secondloop config check`: the effective settings, secrets masked, validated."""

from __future__ import annotations

import argparse

from core.contributions import CliCommand
from core.plugins import build_plugin_host
from core.settings import Settings, SettingsError


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["check"], help="what to do")


def _run(args: argparse.Namespace, settings: Settings) -> int:
    shown = settings.masked()
    width = max(len(k) for k in shown)
    for key, value in shown.items():
        print(f"{key.ljust(width)}  {value}")
    problems: list[str] = []
    try:
        settings.validate()
    except SettingsError as exc:
        problems.append(str(exc))
    try:
        # Loading the plugins checks SECONDLOOP_PLUGINS names and every hook implementation.
        build_plugin_host(settings.plugins)
    except Exception as exc:
        problems.append(f"Plugins do not load: {exc}")
    for warning in settings.warnings():
        print(f"\nwarning: {warning}")
    if problems:
        print("\n" + "\n".join(problems))
        return 1
    print("\nconfiguration OK" + (" (production)" if settings.production else ""))
    return 0


COMMANDS = [CliCommand("config", "Check the configuration (secrets masked).", _configure, _run)]
