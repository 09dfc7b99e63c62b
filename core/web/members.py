"""Workspace members: the list, roles, ownership hand-over, removal, invitations by email
(owner/admin) and accepting an invitation. The rules live in `core.auth.members`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from core.auth import magic
from core.auth.members import (
    ASSIGNABLE,
    Actor,
    MemberError,
    change_role,
    remove_member,
    transfer_ownership,
)
from core.auth.workspaces import accept, find_invitation, invite
from core.email import send_email
from core.models.workspaces import Invitation, Membership, Role
from core.runtime import Runtime
from core.tenancy import workspace_scope
from core.web.auth import WORKSPACE_KEY, WorkspaceContext, require_workspace, sign_in
from core.web.shell import shell_context
from core.web.templating import render


async def _page(request: Request, status: int = 200, **extra: object) -> Response:
    ctx = await require_workspace(request)
    context = await shell_context(request, ctx)
    with workspace_scope(ctx.workspace.id):
        context["members"] = await Membership.all().prefetch_related("user").order_by("id")
        context["invitations"] = await Invitation.filter(
            accepted_at__isnull=True, expires_at__gt=request.app.state.runtime.now()
        ).order_by("-id")
    context["roles"] = [Role.MEMBER, Role.ADMIN]
    context["assignable"] = list(ASSIGNABLE)
    context["can_invite"] = ctx.can(Role.ADMIN)
    context["is_owner"] = ctx.role == Role.OWNER
    context.update(extra)
    return render(request, "app/members.html", context, block="main", status=status)


async def members_page(request: Request) -> Response:
    return await _page(request)


async def invite_submit(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    ctx = await require_workspace(request)
    ctx.require_role(Role.ADMIN)
    form = await request.form()
    email = magic.normalize_email(str(form.get("email", "")))
    role_raw = str(form.get("role", Role.MEMBER.value))
    if email is None or role_raw not in (Role.MEMBER.value, Role.ADMIN.value):
        return await _page(request, 400, error="Enter an email address and a role.")
    with workspace_scope(ctx.workspace.id):
        created = await invite(runtime, ctx.workspace, email, Role(role_raw), ctx.user)
        link = f"{runtime.settings.base_url.rstrip('/')}/invite/{created.token}"
        await send_email(
            runtime,
            workspace_id=ctx.workspace.id,
            to=email,
            subject=f"You are invited to {ctx.workspace.name} on SecondLoop",
            text=(
                f"{ctx.user.email} invited you to the workspace {ctx.workspace.name} as "
                f"{role_raw}.\n\nAccept the invitation:\n\n{link}\n\nThe link works once and "
                "expires in 7 days."
            ),
            idempotency_key=f"invitation:{created.invitation.id}",
        )
    return await _page(request, notice=f"Invitation sent to {email}.")


def _actor(ctx: WorkspaceContext) -> Actor:
    return Actor(user_id=ctx.user.id, role=ctx.role)


async def _refused(request: Request, error: MemberError) -> Response:
    if error.status == 404:
        return render(request, "error.html", {"message": error.message}, status=404)
    if error.status == 403:
        return render(request, "error.html", {"message": error.message}, status=403)
    return await _page(request, error.status, error=error.message)


async def member_role(request: Request) -> Response:
    """Owner/admin sets a member's role to admin or member."""
    ctx = await require_workspace(request)
    form = await request.form()
    with workspace_scope(ctx.workspace.id):
        try:
            changed = await change_role(
                _actor(ctx), request.path_params["id"], str(form.get("role", ""))
            )
        except MemberError as error:
            return await _refused(request, error)
    return await _page(request, notice=f"{changed.user.email} is now {changed.role.value}.")


async def transfer_confirm(request: Request) -> Response:
    """The owner confirms handing ownership to this member."""
    ctx = await require_workspace(request)
    if ctx.role != Role.OWNER:
        return render(
            request, "error.html", {"message": "Only the owner hands ownership over."}, status=403
        )
    with workspace_scope(ctx.workspace.id):
        target = (
            await Membership.filter(id=request.path_params["id"]).prefetch_related("user").first()
        )
    if target is None or target.user_id == ctx.user.id:
        return render(request, "error.html", {"message": "No such member here."}, status=404)
    context = await shell_context(request, ctx)
    context["target"] = target
    return render(request, "app/transfer.html", context, block="main")


async def transfer_submit(request: Request) -> Response:
    ctx = await require_workspace(request)
    with workspace_scope(ctx.workspace.id):
        try:
            target = await transfer_ownership(_actor(ctx), request.path_params["id"])
        except MemberError as error:
            return await _refused(request, error)
    return await _page(request, notice=f"{target.user.email} now owns {ctx.workspace.name}.")


async def member_remove(request: Request) -> Response:
    """Owner/admin removes a member, or a member leaves; the owner stays. Ids are scoped."""
    ctx = await require_workspace(request)
    with workspace_scope(ctx.workspace.id):
        try:
            removed = await remove_member(_actor(ctx), request.path_params["id"])
        except MemberError as error:
            return await _refused(request, error)
    if removed.user_id == ctx.user.id:  # left: the session must not stay in the workspace
        request.session.pop(WORKSPACE_KEY, None)
        return RedirectResponse("/app", status_code=303)
    return RedirectResponse("/app/settings/members", status_code=303)


async def invitation_confirm(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    invitation = await find_invitation(runtime, request.path_params["token"])
    if invitation is None:
        return render(
            request,
            "signin/problem.html",
            {"message": "This invitation is not valid, was used or has expired."},
            status=400,
        )
    return render(
        request,
        "invite/accept.html",
        {"invitation": invitation, "token": request.path_params["token"]},
    )


async def invitation_accept(request: Request) -> Response:
    """The link proves the invitee reads that mailbox, so accepting also signs them in."""
    runtime: Runtime = request.app.state.runtime
    invitation = await find_invitation(runtime, request.path_params["token"])
    if invitation is None:
        return render(
            request,
            "signin/problem.html",
            {"message": "This invitation is not valid, was used or has expired."},
            status=400,
        )
    try:
        user = await accept(runtime, invitation)
    except ValueError as exc:
        return render(request, "signin/problem.html", {"message": str(exc)}, status=400)
    await sign_in(request, user, workspace_id=invitation.workspace_id)
    return RedirectResponse("/app", status_code=303)


def routes(runtime: Runtime) -> list[BaseRoute]:
    return [
        Route("/app/settings/members", members_page, methods=["GET"]),
        Route("/app/settings/members", invite_submit, methods=["POST"]),
        Route("/app/settings/members/{id:int}/role", member_role, methods=["POST"]),
        Route("/app/settings/members/{id:int}/transfer", transfer_confirm, methods=["GET"]),
        Route("/app/settings/members/{id:int}/transfer", transfer_submit, methods=["POST"]),
        Route("/app/settings/members/{id:int}/remove", member_remove, methods=["POST"]),
        Route("/invite/{token}", invitation_confirm, methods=["GET"]),
        Route("/invite/{token}", invitation_accept, methods=["POST"]),
    ]
