"""Role checks for tenant routes: viewers read, accountants write, owners administer."""

from __future__ import annotations

from typing import Any

from rest_framework import permissions

from .models import Role

SAFE_METHODS = permissions.SAFE_METHODS


class TenantRolePermission(permissions.BasePermission):
    """Reads need membership (checked by the middleware); writes need ``write_role``.

    Views may set ``read_role`` / ``write_role`` to tighten (e.g. owner-only member management).
    """

    message = "Your role in this tenant does not allow this action."

    def has_permission(self, request: Any, view: Any) -> bool:
        membership = getattr(request._request, "membership", None)
        if membership is None:
            return False
        if request.method in SAFE_METHODS:
            return membership.has_role(getattr(view, "read_role", Role.VIEWER))
        return membership.has_role(getattr(view, "write_role", Role.ACCOUNTANT))
