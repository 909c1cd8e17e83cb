"""Declared role checks for GraphQL fields (the REST twin is ``tenants.permissions``).

The middleware has already authenticated the caller and checked membership (404 otherwise);
these classes read ``request.membership`` from the context. A refusal raises the same
``PermissionDenied`` domain error REST answers 403 with, so it is formatted like every other
domain error (``extensions.code = "forbidden"``, ``extensions.status = 403``).
"""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission
from strawberry.types import Info

from common.errors import PermissionDenied
from tenants.models import Role


def _membership(info: Info) -> Any:
    return getattr(info.context, "membership", None)


class _RolePermission(BasePermission):
    minimum_role: str = Role.VIEWER
    message = "Your role in this tenant does not allow this action."

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        membership = _membership(info)
        return membership is not None and bool(membership.has_role(self.minimum_role))

    def on_unauthorized(self) -> None:
        raise PermissionDenied(self.message or "Forbidden.")


class IsTenantMember(_RolePermission):
    """Reads: any member of the tenant (viewer, accountant, owner)."""

    minimum_role = Role.VIEWER


class CanWrite(_RolePermission):
    """Writes: accountants and owners; viewers get ``forbidden``."""

    minimum_role = Role.ACCOUNTANT


class IsOwner(_RolePermission):
    """Tenant settings: owners only."""

    minimum_role = Role.OWNER
