"""`secondloop stripe connect WORKSPACE --api-key KEY [--webhook-secret SECRET]`."""

from __future__ import annotations

import argparse
import sys

import stripe

from core import db
from core.app import create_runtime
from core.contributions import CliCommand
from core.models.workspaces import Workspace
from core.settings import Settings, SettingsError
from core.stripe import permissions
from core.stripe.restricted_key import ConnectError, connect_with_key


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["connect"], help="what to do")
    parser.add_argument("workspace", help="the workspace's slug or id")
    parser.add_argument("--api-key", required=True, help="a restricted key (rk_…) for the account")
    parser.add_argument(
        "--webhook-secret",
        default=None,
        help="the signing secret (whsec_…) of an endpoint you created; omit to let SecondLoop "
        "create the endpoint when the key may",
    )


async def find_workspace(ref: str) -> Workspace | None:
    workspace = await Workspace.filter(slug=ref).first()
    if workspace is None and ref.isdigit():
        workspace = await Workspace.filter(id=int(ref)).first()
    return workspace


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        runtime = create_runtime(settings)
    except (SettingsError, ValueError) as exc:
        return _fail(str(exc))
    await db.init_db(settings, runtime.host)
    try:
        workspace = await find_workspace(args.workspace)
        if workspace is None:
            return _fail(f"no workspace with slug or id {args.workspace!r}")
        try:
            result = await connect_with_key(runtime, workspace, args.api_key, args.webhook_secret)
        except ConnectError as exc:
            return _fail(str(exc))
        except stripe.StripeError as exc:
            return _fail(f"Stripe answered an error while connecting: {exc.user_message or exc}")
    finally:
        await db.close_db()
    account = result.account
    print(f"connected {account.display_name} ({account.stripe_account_id}) to {workspace.slug}")
    for warning in result.warnings:
        print(f"warning: {warning}")
    if account.missing_permissions:
        print("missing permissions:")
        for line in permissions.describe(account.missing_permissions, permissions.needed(runtime)):
            print(f"  - {line}")
    print(f"webhook URL: {result.webhook_url}")
    if result.endpoint_created:
        print(f"created webhook endpoint {account.webhook_endpoint_id} on the account")
    elif args.webhook_secret:
        print("using the webhook signing secret you gave")
    for line in result.instructions:
        print(line)
    return 0


COMMANDS = [
    CliCommand(
        "stripe",
        "Connect a Stripe account to a workspace with a restricted key.",
        _configure,
        _run,
    )
]
