from __future__ import annotations

import pytest

from core.models import Membership, StripeAccount, User, Workspace
from core.models.accounts import ConnectionMode
from core.tenancy import TenancyError, unscoped, workspace_scope


async def _two_workspaces() -> tuple[Workspace, Workspace]:
    a = await Workspace.create(name="A", slug="a")
    b = await Workspace.create(name="B", slug="b")
    for ws in (a, b):
        with workspace_scope(ws.id):
            await StripeAccount.create(
                stripe_account_id=f"acct_{ws.slug}", mode=ConnectionMode.RESTRICTED_KEY
            )
    return a, b


async def test_queries_outside_a_scope_are_refused(app: object) -> None:
    await _two_workspaces()
    with pytest.raises(TenancyError):
        await StripeAccount.all()
    with pytest.raises(TenancyError):
        await StripeAccount.filter(stripe_account_id="acct_a").first()


async def test_a_scope_sees_only_its_own_rows(app: object) -> None:
    a, _b = await _two_workspaces()
    with workspace_scope(a.id):
        ids = await StripeAccount.all().values_list("stripe_account_id", flat=True)
        assert ids == ["acct_a"]
        assert await StripeAccount.get_or_none(stripe_account_id="acct_b") is None
    with unscoped():
        assert await StripeAccount.all().count() == 2


async def test_writing_another_workspaces_row_is_refused(app: object) -> None:
    a, b = await _two_workspaces()
    user = await User.create(email="x@example.com")
    with workspace_scope(a.id):
        with pytest.raises(TenancyError):
            await Membership.create(workspace_id=b.id, user=user)
        created = await Membership.create(user=user)  # workspace filled from the scope
        assert created.workspace_id == a.id
    with pytest.raises(TenancyError):
        await Membership.create(workspace_id=a.id, user=user)
