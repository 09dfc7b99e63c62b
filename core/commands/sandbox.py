"""`secondloop sandbox`: the local Stripe sandbox (see docs/sandbox.md)."""

from __future__ import annotations

import argparse

from core.contributions import CliCommand
from core.settings import Settings


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sandbox_args", nargs=argparse.REMAINDER, help="--port P [--seed NAME] …")


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from sandbox.cli import main as sandbox_main

    return sandbox_main(list(args.sandbox_args))


COMMANDS = [CliCommand("sandbox", "Run the local Stripe sandbox.", _configure, _run)]
