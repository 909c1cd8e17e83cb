"""Reads on tenants and memberships."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Case, CharField, F, Q, QuerySet, Value, When
from django.db.models.functions import Lower
from django.utils import timezone

from .context import require_tenant_id
from .models import Invitation, InvitationStatus, Membership, Tenant, TenantSettings


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


def _with_effective_status(invitations: QuerySet[Invitation]) -> QuerySet[Invitation]:
    """``effective_status``: the stored status, except a pending one past its expiry reads expired."""
    return invitations.annotate(
        effective_status=Case(
            When(
                status=InvitationStatus.PENDING,
                expires_at__lte=timezone.now(),
                then=Value(InvitationStatus.EXPIRED.value),
            ),
            default=F("status"),
            output_field=CharField(),
        )
    )


def invitations_of_tenant(*, status: str | None = None) -> QuerySet[Invitation]:
    """The active tenant's invitations (owners' view), optionally only those in ``status``."""
    # The inviter's username only: the runtime role may not read the other user columns.
    invitations = Invitation.objects.filter(tenant_id=require_tenant_id()).annotate(
        invited_by_username=F("invited_by__username")
    )
    if status:
        invitations = invitations.filter(_status_is(status))
    return _with_effective_status(invitations)


def _status_is(status: str) -> Q:
    """Invitations whose effective status (see ``_with_effective_status``) is ``status``."""
    now = timezone.now()
    if status == InvitationStatus.PENDING:
        return Q(status=status, expires_at__gt=now)
    if status == InvitationStatus.EXPIRED:
        return Q(status=status) | Q(status=InvitationStatus.PENDING, expires_at__lte=now)
    return Q(status=status)


def invitations_addressed_to(*, user: User) -> QuerySet[Invitation]:
    """Open invitations the user may accept: pending, unexpired, for their username or e-mail.

    Runs outside any tenant (the owner login sees every tenant's invitations, policy
    ``platform_access``). Usernames compare exactly, as Django's login does; e-mail addresses
    case-insensitively. An empty e-mail address matches nothing.
    """
    # Both arms lead with lower(invitee), which the pending invitations' index covers.
    address = Q(invitee_lower=user.username.lower(), invitee=user.username)
    if user.email:
        address |= Q(invitee_lower=user.email.lower())
    return _with_effective_status(
        Invitation.objects.alias(invitee_lower=Lower("invitee"))
        .filter(address, status=InvitationStatus.PENDING, expires_at__gt=timezone.now())
        .select_related("tenant")
        .annotate(invited_by_username=F("invited_by__username"))
    )
