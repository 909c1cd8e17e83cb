"""Writes on tenants, memberships and API tokens."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .audit import Actor, audit_record
from .authentication import generate_raw_token, hash_token
from .context import require_tenant_id, tenant_context
from .errors import Conflict, InvalidInput, NotFound
from .models import ApiToken, Membership, Role, Tenant, TenantSettings
from .money import MoneyError, normalize_currency


def tenant_create(*, name: str, owner: User, default_currency: str = "USD") -> Tenant:
    """Create a tenant with its settings row; ``owner`` becomes its first owner.

    The tenant is born inside its own ``tenant_context``: the tenant row, the membership and the
    settings are written in one transaction by the runtime role (which may insert only the
    tenant its context names, migration 0016). One database user for the whole transaction is
    what Citus needs: it reaches the workers over one connection per user, and a connection
    does not see another's uncommitted rows (the foreign keys to the new tenant would not).
    """
    name = name.strip()
    if not name:
        raise InvalidInput("A tenant needs a name.", errors={"name": ["This field may not be blank."]})
    with tenant_context(uuid.uuid4()) as tenant_id:
        tenant = Tenant.objects.create(id=tenant_id, name=name)
        Membership.objects.create(tenant=tenant, user=owner, role=Role.OWNER)
        TenantSettings.objects.create(tenant=tenant, default_currency=default_currency)
    return tenant


SETTINGS_FIELDS = (
    "default_currency",
    "auto_confirm_threshold",
    "fee_tolerance_fixed",
    "fee_tolerance_percent",
    "date_window_days",
)


@transaction.atomic
def tenant_settings_update(
    *, changes: Mapping[str, Any], actor: Actor, source: str = "api"
) -> TenantSettings:
    """Change the active tenant's settings; used by the next reconciliation run.

    Every field is validated (all problems in one InvalidInput) and nothing is written unless all
    pass. The row is locked while it changes; one audit event records the fields that changed,
    before and after (none when nothing changed). ``auto_confirm_threshold=None`` switches
    auto-confirmation off.
    """
    unknown = sorted(set(changes) - set(SETTINGS_FIELDS))
    if unknown:
        raise InvalidInput(
            "Unknown settings.",
            errors={name: [f"Not a setting; settings are {list(SETTINGS_FIELDS)}."] for name in unknown},
        )
    row = TenantSettings.objects.select_for_update().first() or TenantSettings(tenant_id=require_tenant_id())
    before = {name: getattr(row, name) for name in SETTINGS_FIELDS}
    errors: dict[str, list[str]] = {}
    for name, value in changes.items():
        if name == "default_currency":
            try:
                value = normalize_currency(value)
            except MoneyError as error:
                errors[name] = [str(error)]
                continue
        if isinstance(value, Decimal) and value.is_zero():
            value = abs(value)  # "-0.0" is zero, and reads as zero
        setattr(row, name, value)
    try:
        row.clean_fields(exclude=["tenant", *errors])
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise InvalidInput("The settings have invalid values.", errors=errors)
    after = {name: getattr(row, name) for name in SETTINGS_FIELDS}
    changed = [name for name in SETTINGS_FIELDS if after[name] != before[name]]
    if not changed and not row._state.adding:
        return row
    row.save()
    audit_record(
        actor=actor,
        action="tenantsettings.changed",
        object_type="tenantsettings",
        object_id=row.pk,
        before={name: before[name] for name in changed},
        after={**{name: after[name] for name in changed}, "source": source},
    )
    return row


def membership_add(*, tenant_id: uuid.UUID, username: str, role: str) -> Membership:
    """Add an existing user to the current tenant (call inside its ``tenant_context``)."""
    if role not in Role.values:
        raise InvalidInput(f"Unknown role {role!r}.", errors={"role": [f"Choose one of {Role.values}."]})
    user = get_user_model().objects.only("id", "username").filter(username=username).first()
    if user is None:
        raise InvalidInput(f"No user named {username!r}.", errors={"username": ["No such user."]})
    if Membership.objects.filter(tenant_id=tenant_id, user_id=user.pk).exists():
        raise Conflict(f"{username} is already a member of this tenant.")
    return Membership.objects.create(tenant_id=tenant_id, user_id=user.pk, role=role)


def membership_remove(*, tenant_id: uuid.UUID, user_id: int) -> None:
    """Remove a member; the last owner cannot be removed (the tenant would be orphaned)."""
    membership = Membership.objects.select_for_update().filter(tenant_id=tenant_id, user_id=user_id).first()
    if membership is None:
        raise NotFound("No such member.")
    if membership.role == Role.OWNER:
        owners = Membership.objects.select_for_update().filter(tenant_id=tenant_id, role=Role.OWNER)
        if len(owners) <= 1:
            raise Conflict("The last owner of a tenant cannot be removed.")
    membership.delete()


def api_token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """Create a token; returns it with the raw value, which is never stored or shown again."""
    raw = generate_raw_token()
    token = ApiToken.objects.create(
        user=user, name=name.strip() or "token", prefix=raw[:10], token_hash=hash_token(raw)
    )
    return token, raw


def api_token_revoke(*, token: ApiToken) -> ApiToken:
    """Revoke a token; it stops authenticating at once."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token
