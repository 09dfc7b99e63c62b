"""Looking up a workspace's connected Stripe accounts, and the one the operator has chosen."""

from __future__ import annotations

from starlette.requests import Request

from core.models.accounts import ConnectionStatus, StripeAccount
from core.models.workspaces import Workspace
from core.tenancy import unscoped, workspace_scope

SESSION_KEY = "account_id"


async def list_accounts(workspace: Workspace) -> list[StripeAccount]:
    with workspace_scope(workspace.id):
        return await StripeAccount.all().order_by("created_at", "id")


async def get_account(workspace: Workspace, account_id: int) -> StripeAccount | None:
    """The workspace's account with this id; another workspace's id finds nothing."""
    with workspace_scope(workspace.id):
        return await StripeAccount.filter(id=account_id).first()


async def active_account(request: Request, workspace: Workspace) -> StripeAccount | None:
    """The account chosen in the session when it is this workspace's and active, else the
    workspace's first active account."""
    session = request.scope.get("session")
    chosen = session.get(SESSION_KEY) if isinstance(session, dict) else None
    with workspace_scope(workspace.id):
        active = StripeAccount.filter(status=ConnectionStatus.ACTIVE)
        if isinstance(chosen, int):
            account = await active.filter(id=chosen).first()
            if account is not None:
                return account
        return await active.order_by("created_at", "id").first()


def choose_account(request: Request, account: StripeAccount) -> None:
    request.session[SESSION_KEY] = account.id


async def accounts_for_stripe_id(stripe_account_id: str) -> list[StripeAccount]:
    """Every workspace's connection to this Stripe account (system code: webhook intake)."""
    with unscoped():
        return await StripeAccount.filter(stripe_account_id=stripe_account_id).order_by("id")
