"""`secondloop events orphans`: events no workspace claims, for the platform's operator.

A Connect event for an account nobody connected (or whose connection was revoked) is recorded
and counted, never processed, and no workspace sees it. This lists those accounts.
"""

from __future__ import annotations

import argparse
import json

from core.app import Roles, create_runtime, running
from core.contributions import CliCommand
from core.events.health import orphan_counts, orphaned_accounts
from core.settings import Settings


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["orphans"], help="what to show")
    parser.add_argument("--limit", type=int, default=50, help="accounts to list (newest first)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    runtime = create_runtime(settings)
    async with running(runtime, Roles(web=False, worker=False, scheduler=False)):
        counts = await orphan_counts()
        accounts = await orphaned_accounts(max(args.limit, 1))
    if args.json:
        data = {"counts": counts, "accounts": [a.to_json() for a in accounts]}
        print(json.dumps(data, default=str, indent=2))
        return 0
    print(
        f"orphaned events: {counts['unknown']} for accounts nobody connected, "
        f"{counts['revoked']} for revoked connections"
    )
    for account in accounts:
        state = "revoked" if account.known else "unknown"
        when = account.last_received_at.strftime("%Y-%m-%d %H:%M:%S")
        print(f"  {account.stripe_account_id}  {state}  {account.events} events, last {when} UTC")
    return 0


COMMANDS = [
    CliCommand("events", "Events no workspace claims (orphans), platform-wide.", _configure, _run)
]
