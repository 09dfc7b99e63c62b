"""Tenant isolation by construction.

Every tenant-owned model derives from `TenantModel`. Its manager refuses to build a query unless
a workspace scope is active (`workspace_scope`) and then filters on that workspace; reaching
across workspaces takes a deliberate `unscoped()` block. Saving checks the row belongs to the
active scope, and fills the workspace in when it is missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from tortoise import fields
from tortoise.manager import Manager
from tortoise.models import Model, ModelMeta
from tortoise.queryset import QuerySet

_workspace: ContextVar[int | None] = ContextVar("secondloop_workspace", default=None)
_escaped: ContextVar[bool] = ContextVar("secondloop_unscoped", default=False)


class TenancyError(RuntimeError):
    """A tenant-owned table was queried or written outside its workspace scope."""


def current_workspace_id() -> int | None:
    return _workspace.get()


@contextmanager
def workspace_scope(workspace_id: int) -> Iterator[int]:
    """Run the block as `workspace_id`: every TenantModel query sees only that workspace."""
    if not isinstance(workspace_id, int):
        raise TypeError("workspace_scope takes a workspace id (int)")
    token = _workspace.set(workspace_id)
    escape = _escaped.set(False)
    try:
        yield workspace_id
    finally:
        _escaped.reset(escape)
        _workspace.reset(token)


@contextmanager
def unscoped() -> Iterator[None]:
    """The deliberate escape: system code (intake, sweeper, admin CLI) that spans workspaces."""
    token = _escaped.set(True)
    try:
        yield
    finally:
        _escaped.reset(token)


class TenantManager(Manager):
    def get_queryset(self) -> QuerySet:
        queryset = QuerySet(self._model)
        if _escaped.get():
            return queryset
        workspace_id = _workspace.get()
        if workspace_id is None:
            raise TenancyError(
                f"{self._model.__name__} queried outside a workspace scope; "
                "use workspace_scope(id), or unscoped() for system code"
            )
        return queryset.filter(workspace_id=workspace_id)


class _TenantModelMeta(ModelMeta):
    """Gives every concrete subclass the scoped manager (Tortoise does not inherit Meta)."""

    def __new__(mcs, name: str, bases: tuple[type, ...], attrs: dict[str, Any]) -> Any:
        cls = super().__new__(mcs, name, bases, attrs)
        meta = getattr(cls, "_meta", None)
        if meta is not None and not meta.abstract:
            meta.manager = TenantManager(cls)
        return cls


class TenantModel(Model, metaclass=_TenantModelMeta):
    """Base for every tenant-owned row: carries its workspace and is reachable only in scope."""

    workspace: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "core.Workspace", related_name=False, on_delete=fields.CASCADE, db_index=True
    )
    workspace_id: int

    class Meta:
        abstract = True

    async def save(self, *args: Any, **kwargs: Any) -> None:
        scope = _workspace.get()
        if _escaped.get():
            pass  # system code: the caller sets the workspace itself
        elif scope is None:
            raise TenancyError(f"{type(self).__name__} written outside a workspace scope")
        elif getattr(self, "workspace_id", None) is None:
            self.workspace_id = scope
        elif self.workspace_id != scope:
            raise TenancyError(
                f"{type(self).__name__} of workspace {self.workspace_id} "
                f"written inside the scope of workspace {scope}"
            )
        await super().save(*args, **kwargs)
