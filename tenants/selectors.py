"""Reads on tenants and memberships."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import User
from django.db.models import QuerySet

from .context import require_tenant_id
from .models import Membership, Tenant, TenantSettings


def tenants_of_user(*, user: User) -> QuerySet[Tenant]:
    """Tenants the user is a member of (outside any tenant context)."""
    return Tenant.objects.filter(memberships__user=user).order_by("name", "id")


def members_of_tenant(*, tenant_id: uuid.UUID) -> list[Mapping[str, Any]]:
    """Members of the tenant with the few user columns the runtime role may read."""
    return list(
        Membership.objects.filter(tenant_id=tenant_id)
        .order_by("user__username")
        .values("user_id", "user__username", "role", "created_at")
    )


def tenant_settings_get() -> TenantSettings:
    """The active tenant's settings (the defaults, unsaved, for a tenant that has none yet)."""
    return TenantSettings.objects.first() or TenantSettings(tenant_id=require_tenant_id())


def tenant_default_currency() -> str:
    """The active tenant's default currency (``TenantSettings``), USD when it has none."""
    code = TenantSettings.objects.values_list("default_currency", flat=True).first()
    return code or "USD"
