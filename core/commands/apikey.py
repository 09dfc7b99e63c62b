"""`secondloop apikey create|list|revoke WORKSPACE`: API keys for /api/v1 from the shell."""

from __future__ import annotations

import argparse
import sys

from core import db
from core.api.keys import create_key, revoke_key
from core.app import create_runtime
from core.contributions import CliCommand
from core.models.api_keys import ApiKey, ApiScope
from core.models.workspaces import Workspace
from core.settings import Settings, SettingsError
from core.tenancy import unscoped


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["create", "list", "revoke"], help="what to do")
    parser.add_argument("workspace", help="the workspace's slug or id")
    parser.add_argument(
        "--scope", choices=[s.value for s in ApiScope], default=None,
        help="read (GET only) or write (everything); required for create",
    )
    parser.add_argument("--name", default="", help="a label to recognise the key by")
    parser.add_argument("--id", type=int, default=None, help="the key to revoke (see list)")


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


async def _workspace(ref: str) -> Workspace | None:
    found = await Workspace.filter(slug=ref).first()
    if found is None and ref.isdigit():
        found = await Workspace.filter(id=int(ref)).first()
    return found


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "create" and args.scope is None:
        return _fail("apikey create needs --scope read or --scope write")
    if args.action == "revoke" and args.id is None:
        return _fail("apikey revoke needs --id (see `secondloop apikey list WORKSPACE`)")
    try:
        runtime = create_runtime(settings)
    except (SettingsError, ValueError) as exc:
        return _fail(str(exc))
    await db.init_db(settings, runtime.host)
    try:
        workspace = await _workspace(args.workspace)
        if workspace is None:
            return _fail(f"no workspace with slug or id {args.workspace!r}")
        if args.action == "create":
            new = await create_key(runtime, workspace.id, args.scope, args.name)
            print(f"created {new.key.scope} key {new.key.prefix}… (id {new.key.id}) "
                  f"for {workspace.slug}; it is shown only this once:")
            print(new.secret)
            return 0
        if args.action == "revoke":
            if not await revoke_key(runtime, workspace.id, args.id):
                return _fail(f"no live key {args.id} in workspace {workspace.slug}")
            print(f"revoked key {args.id}")
            return 0
        with unscoped():
            keys = await ApiKey.filter(workspace_id=workspace.id).order_by("id")
        for key in keys:
            state = "revoked" if key.revoked_at else "live"
            used = key.last_used_at.isoformat() if key.last_used_at else "never"
            print(f"{key.id}\t{key.prefix}…\t{key.scope}\t{state}\tlast used {used}\t{key.name}")
        return 0
    finally:
        await db.close_db()


COMMANDS = [
    CliCommand("apikey", "Create, list or revoke API keys for /api/v1.", _configure, _run),
]
