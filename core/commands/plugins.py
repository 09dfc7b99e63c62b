"""`secondloop plugins`: which plugins load, and the hooks each implements."""

from __future__ import annotations

import argparse

from core.contributions import CliCommand
from core.plugins import build_plugin_host
from core.settings import Settings


def _configure(parser: argparse.ArgumentParser) -> None:
    pass


def _run(args: argparse.Namespace, settings: Settings) -> int:
    host = build_plugin_host(settings.plugins)
    for plugin in host.plugins():
        print(f"{plugin.name}  ({plugin.module})")
        for hook in plugin.hooks:
            print(f"    {hook}")
    return 0


COMMANDS = [CliCommand("plugins", "List loaded plugins and their hooks.", _configure, _run)]
