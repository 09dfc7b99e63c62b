"""`secondloop workspace create NAME --owner EMAIL`: a workspace and its owner, from the shell."""

from __future__ import annotations

import argparse
import sys

from core.app import Roles, create_runtime, running
from core.auth.magic import normalize_email
from core.auth.workspaces import create_workspace
from core.contributions import CliCommand
from core.models.workspaces import User
from core.settings import Settings


def _configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True
    create = sub.add_parser("create", help="create a workspace owned by EMAIL")
    create.add_argument("name", help="the workspace's display name")
    create.add_argument("--owner", required=True, help="owner's email (the user is created if new)")


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    email = normalize_email(args.owner)
    if email is None:
        print(f"error: --owner {args.owner!r} is not an email address", file=sys.stderr)
        return 2
    name = args.name.strip()
    if not name or len(name) > 120:
        print("error: the workspace name needs 1 to 120 characters", file=sys.stderr)
        return 2
    runtime = create_runtime(settings)
    async with running(runtime, Roles(web=False, worker=False, scheduler=False)):
        owner, created = await User.get_or_create(
            email=email, defaults={"created_at": runtime.now()}
        )
        workspace = await create_workspace(runtime, name, owner)
    who = "new user" if created else "existing user"
    print(
        f"workspace {workspace.id} {workspace.name!r} (slug {workspace.slug}) owned by "
        f"{email} ({who})"
    )
    print(f"sign in at {settings.base_url.rstrip('/')}/signin")
    return 0


COMMANDS = [CliCommand("workspace", "Create workspaces from the command line.", _configure, _run)]
