"""Writes on tenants, memberships and API tokens."""

from __future__ import annotations

import datetime as dt
import unicodedata
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import connection, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from common import limits
from common.errors import Conflict, InvalidInput, NotFound
from common.finance import MoneyError, normalize_currency

from .audit import Actor, AuditAction, audit_record
from .authentication import generate_raw_token, hash_token
from .context import require_tenant_id, tenant_context
from .models import ApiToken, Invitation, InvitationStatus, Membership, Role, Tenant, TenantSettings
from .selectors import invitations_addressed_to


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
    problem = limits.text_problem(name, limits.NAME)
    if problem is not None:
        raise InvalidInput("The tenant name cannot be used.", errors={"name": [problem]})
    with tenant_context(uuid.uuid4()) as tenant_id:
        tenant = Tenant.objects.create(id=tenant_id, name=name)
        membership = Membership.objects.create(tenant=tenant, user=owner, role=Role.OWNER)
        TenantSettings.objects.create(tenant=tenant, default_currency=default_currency)
        _membership_audit(
            AuditAction.MEMBERSHIP_CREATED,
            membership.pk,
            actor=owner,
            before=None,
            after=_membership_state(membership),
        )
    return tenant


SETTINGS_FIELDS = (
    "default_currency",
    "auto_confirm_threshold",
    "auto_confirm_shadow",
    "fee_tolerance_fixed",
    "fee_tolerance_percent",
    "date_window_days",
    "internal_transfer_days",
    "auto_reconcile",
    "write_off_max_amount",
    "write_off_max_percent",
    "write_off_reasons",
    "rejection_memory",
    "processor_fee_percent",
    "processor_fee_fixed",
)


@transaction.atomic
def tenant_settings_update(*, changes: Mapping[str, Any], actor: Actor) -> TenantSettings:
    """Change the active tenant's settings; used by the next reconciliation run.

    Every field is validated (all problems in one InvalidInput) and nothing is written unless all
    pass. The row is locked while it changes; one audit event records the fields that changed,
    before and after (none when nothing changed). ``auto_confirm_threshold=None`` switches
    auto-confirmation off; ``auto_confirm_shadow=True`` keeps it from confirming anything and
    has runs flag what the threshold would confirm instead. Shadow mode measures a threshold,
    so it needs one: shadow without a threshold is refused (it would flag nothing and look
    like a perfect record).
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
        if value is None and not TenantSettings._meta.get_field(name).null:
            errors[name] = ["This field may not be null."]  # GraphQL sends null for "no value"
            continue
        if name == "default_currency":
            try:
                value = normalize_currency(value)
            except MoneyError as error:
                errors[name] = [str(error)]
                continue
        if isinstance(value, Decimal) and value.is_zero():
            value = abs(value)  # "-0.0" is zero, and reads as zero
        if name == "write_off_reasons" and value is not None:
            if len(set(value)) != len(value):
                errors[name] = ["Each reason may be given once."]
                continue
            value = list(value)
        setattr(row, name, value)
    try:
        row.clean_fields(exclude=["tenant", *errors])
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if row.auto_confirm_shadow and row.auto_confirm_threshold is None and not errors:
        name = "auto_confirm_shadow" if "auto_confirm_shadow" in changes else "auto_confirm_threshold"
        errors[name] = [
            "Shadow mode measures the auto-confirm threshold: set a threshold, or switch shadow off."
        ]
    if errors:
        raise InvalidInput("The settings have invalid values.", errors=errors)
    after = {name: getattr(row, name) for name in SETTINGS_FIELDS}
    changed = [name for name in SETTINGS_FIELDS if after[name] != before[name]]
    if not changed and not row._state.adding:
        return row
    row.save()
    audit_record(
        actor=actor,
        action=AuditAction.TENANT_SETTINGS_UPDATED,
        object_id=row.pk,
        before={name: before[name] for name in changed},
        after={name: after[name] for name in changed},
    )
    return row


# --- memberships --------------------------------------------------------------------------------


def _membership_state(membership: Membership) -> dict[str, Any]:
    """A membership as its audit events hold it: who (id and username) and the role."""
    username = (
        get_user_model().objects.filter(pk=membership.user_id).values_list("username", flat=True).first()
        or ""
    )
    return {"user_id": membership.user_id, "username": username, "role": membership.role}


def _membership_audit(
    action: AuditAction,
    membership_id: uuid.UUID,
    *,
    actor: Actor,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """One event per membership change, in the membership's tenant (call inside its context);
    an update holds the fields that changed and the member's username."""
    if before is not None and after is not None:
        changed = [name for name in after if before.get(name) != after[name]]
        before = {"username": before["username"], **{name: before[name] for name in changed}}
        after = {"username": after["username"], **{name: after[name] for name in changed}}
    audit_record(actor=actor, action=action, object_id=membership_id, before=before, after=after)


def membership_add(*, tenant_id: uuid.UUID, username: str, role: str, actor: Actor = None) -> Membership:
    """Add an existing user to the current tenant (call inside its ``tenant_context``).

    For operators and fixtures only: the API and the back office never add users directly, they
    invite them (``invitation_create``), because answering differently for unknown usernames
    would let any owner enumerate the platform's accounts.
    """
    if role not in Role.values:
        raise InvalidInput(f"Unknown role {role!r}.", errors={"role": [f"Choose one of {Role.values}."]})
    user = get_user_model().objects.only("id", "username").filter(username=username).first()
    if user is None:
        raise InvalidInput(f"No user named {username!r}.", errors={"username": ["No such user."]})
    if Membership.objects.filter(tenant_id=tenant_id, user_id=user.pk).exists():
        raise Conflict(f"{username} is already a member of this tenant.")
    membership = Membership.objects.create(tenant_id=tenant_id, user_id=user.pk, role=role)
    _membership_audit(
        AuditAction.MEMBERSHIP_CREATED,
        membership.pk,
        actor=actor,
        before=None,
        after=_membership_state(membership),
    )
    return membership


def _locked_membership(tenant_id: uuid.UUID, user_id: int) -> Membership:
    membership = Membership.objects.select_for_update().filter(tenant_id=tenant_id, user_id=user_id).first()
    if membership is None:
        raise NotFound("No such member.")
    return membership


def _ensure_not_last_owner(membership: Membership, change: str) -> None:
    """The last owner cannot leave or be demoted: the tenant would be orphaned."""
    if membership.role == Role.OWNER:
        owners = Membership.objects.select_for_update().filter(
            tenant_id=membership.tenant_id, role=Role.OWNER
        )
        if len(owners) <= 1:
            raise Conflict(f"The last owner of a tenant cannot be {change}.")


@transaction.atomic
def membership_role_change(*, tenant_id: uuid.UUID, user_id: int, role: str, actor: Actor) -> Membership:
    """Give a member another role (call inside the tenant's context); audited as
    ``membership.updated`` with the role before and after. The last owner keeps the role."""
    if role not in Role.values:
        raise InvalidInput(f"Unknown role {role!r}.", errors={"role": [f"Choose one of {Role.values}."]})
    membership = _locked_membership(tenant_id, user_id)
    if membership.role == role:
        return membership
    _ensure_not_last_owner(membership, "demoted")
    before = _membership_state(membership)
    membership.role = role
    membership.save(update_fields=["role", "updated_at"])
    _membership_audit(
        AuditAction.MEMBERSHIP_UPDATED,
        membership.pk,
        actor=actor,
        before=before,
        after={**before, "role": membership.role},
    )
    return membership


# --- invitations ------------------------------------------------------------------------------

INVITATION_TTL = dt.timedelta(days=14)
# Pending invitations a tenant may have at once: an owner cannot flood the platform's users.
MAX_PENDING_INVITATIONS = 100
_username_validator = UnicodeUsernameValidator()
_email_validator = EmailValidator()


def invitee_normalize(value: str) -> str:
    """The form an invitation stores: a username or an e-mail address, else ``ValidationError``.

    NFKC and surrounding spaces removed (as Django normalises usernames); an e-mail address
    also gets its domain lower-cased. Whether an account with that name exists is never looked
    up here: the answer must not depend on it.
    """
    text = unicodedata.normalize("NFKC", value).strip()
    if not text:
        raise ValidationError("Give a username or an e-mail address.")
    if len(text) > Invitation._meta.get_field("invitee").max_length:  # type: ignore[operator]
        raise ValidationError("Too long for a username or an e-mail address.")
    try:
        _email_validator(text)
    except ValidationError:
        try:
            _username_validator(text)
        except ValidationError:
            raise ValidationError("Not a username or an e-mail address.") from None
        if len(text) > get_user_model()._meta.get_field("username").max_length:  # type: ignore[operator]
            raise ValidationError("Too long for a username.") from None
        return text
    return get_user_model().objects.normalize_email(text)


def _invitation_audit(invitation: Invitation, action: AuditAction, actor: Actor) -> None:
    audit_record(
        actor=actor,
        action=action,
        object_id=invitation.pk,
        after={"invitee": invitation.invitee, "role": invitation.role, "status": invitation.status},
    )


@transaction.atomic
def invitation_create(*, invitee: str, role: str, invited_by: User) -> Invitation:
    """Invite ``invitee`` (username or e-mail address) into the active tenant with ``role``.

    Answers the same whether or not an account with that name exists: no account is looked
    up (only the tenant's own members are), so the same statements run and neither the body
    nor the time taken tells. Refused (409) only for what the owner can already see: a member
    with that username, an invitation still pending for the same address (compared
    case-insensitively), or the tenant's cap of pending invitations. Invitations
    are not e-mailed (the platform sends no mail): the invitee finds them with
    ``GET /v1/invitations``. A tenant's invitations are serialised by an advisory lock, so
    the cap holds under concurrent requests.
    """
    tenant_id = require_tenant_id()
    errors: dict[str, list[str]] = {}
    try:
        invitee = invitee_normalize(invitee)
    except ValidationError as error:
        errors["invitee"] = error.messages
    if role not in Role.values:
        errors["role"] = [f"Choose one of {Role.values}."]
    if errors:
        raise InvalidInput("The invitation has invalid fields.", errors=errors)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"invitations:{tenant_id}"])
    now = timezone.now()
    pending = Invitation.objects.filter(tenant_id=tenant_id, status=InvitationStatus.PENDING)
    pending.filter(expires_at__lte=now).update(status=InvitationStatus.EXPIRED, updated_at=now)
    if Membership.objects.filter(tenant_id=tenant_id, user__username=invitee).exists():
        raise Conflict(f"{invitee} is already a member of this tenant.")
    existing = pending.alias(address=Lower("invitee")).filter(address=invitee.lower()).first()
    if existing is not None:
        raise Conflict(f"An invitation for {invitee} is already pending (id {existing.pk}); revoke it first.")
    if pending.count() >= MAX_PENDING_INVITATIONS:
        raise Conflict(
            f"This tenant has {MAX_PENDING_INVITATIONS} pending invitations; revoke some or wait until "
            "they are accepted, declined or expired."
        )
    invitation = Invitation.objects.create(
        tenant_id=tenant_id,
        invitee=invitee,
        role=role,
        invited_by=invited_by,
        expires_at=now + INVITATION_TTL,
    )
    _invitation_audit(invitation, AuditAction.INVITATION_CREATED, invited_by)
    return invitation


@transaction.atomic
def invitation_revoke(*, invitation_id: uuid.UUID, actor: User) -> Invitation:
    """Withdraw a pending invitation of the active tenant (404 if none, 409 once decided)."""
    invitation = (
        Invitation.objects.select_for_update().filter(tenant_id=require_tenant_id(), pk=invitation_id).first()
    )
    if invitation is None:
        raise NotFound("No such invitation.")
    if invitation.status != InvitationStatus.PENDING or invitation.expires_at <= timezone.now():
        raise Conflict("Only a pending invitation can be revoked.")
    _invitation_decide(invitation, InvitationStatus.REVOKED, actor)
    _invitation_audit(invitation, AuditAction.INVITATION_REVOKED, actor)
    return invitation


def _invitation_decide(invitation: Invitation, status: str, user: User) -> None:
    invitation.status = status
    invitation.decided_at = timezone.now()
    invitation.decided_by = user
    invitation.save(update_fields=["status", "decided_at", "decided_by", "updated_at"])


def _invitation_for_invitee(invitation_id: uuid.UUID, user: User) -> Invitation:
    """The caller's open invitation; 404 for any other (no oracle for ids).

    Read outside any tenant (the owner login finds it by invitee), not locked: the decision
    locks it inside its tenant (:func:`_lock_open_invitation`). On Citus a row lock needs the
    distribution column, and one transaction must not touch a shard as the owner and then as
    the runtime role, so the read and the decision are separate transactions.
    """
    invitation = invitations_addressed_to(user=user).filter(pk=invitation_id).first()
    if invitation is None:
        raise NotFound("No such invitation.")
    return invitation


def _lock_open_invitation(invitation: Invitation) -> None:
    """Inside its tenant: lock the invitation and check it is still open (it may have been
    revoked or decided since it was read); 404 otherwise, like any closed invitation."""
    still_open = (
        Invitation.objects.select_for_update()
        .filter(
            tenant_id=invitation.tenant_id,
            pk=invitation.pk,
            status=InvitationStatus.PENDING,
            expires_at__gt=timezone.now(),
        )
        .values_list("pk", flat=True)
        .first()
    )
    if still_open is None:
        raise NotFound("No such invitation.")


def invitation_accept(*, invitation_id: uuid.UUID, user: User) -> Invitation:
    """The invitee joins the tenant with the invited role (runs outside any tenant, then enters it).

    Only a pending, unexpired invitation addressed to the caller's username or e-mail address
    can be accepted; anything else is 404, whether it exists or not. A caller who is already a
    member gets 409 and the invitation stays open (they may decline it).
    """
    invitation = _invitation_for_invitee(invitation_id, user)
    with tenant_context(invitation.tenant_id):
        _lock_open_invitation(invitation)
        if Membership.objects.filter(tenant_id=invitation.tenant_id, user=user).exists():
            raise Conflict("You are already a member of this tenant.")
        membership = Membership.objects.create(
            tenant_id=invitation.tenant_id, user=user, role=invitation.role
        )
        _invitation_decide(invitation, InvitationStatus.ACCEPTED, user)
        _invitation_audit(invitation, AuditAction.INVITATION_ACCEPTED, user)
        _membership_audit(
            AuditAction.MEMBERSHIP_CREATED,
            membership.pk,
            actor=user,
            before=None,
            after=_membership_state(membership),
        )
    return invitation


def invitation_decline(*, invitation_id: uuid.UUID, user: User) -> Invitation:
    """The invitee turns the invitation down; it cannot be accepted afterwards."""
    invitation = _invitation_for_invitee(invitation_id, user)
    with tenant_context(invitation.tenant_id):
        _lock_open_invitation(invitation)
        _invitation_decide(invitation, InvitationStatus.DECLINED, user)
        _invitation_audit(invitation, AuditAction.INVITATION_DECLINED, user)
    return invitation


@transaction.atomic
def membership_remove(*, tenant_id: uuid.UUID, user_id: int, actor: Actor = None) -> None:
    """Remove a member (call inside the tenant's context); the last owner cannot be removed (the
    tenant would be orphaned). Audited as ``membership.deleted`` with what the membership was."""
    membership = _locked_membership(tenant_id, user_id)
    _ensure_not_last_owner(membership, "removed")
    membership_id, before = membership.pk, _membership_state(membership)
    membership.delete()
    _membership_audit(AuditAction.MEMBERSHIP_DELETED, membership_id, actor=actor, before=before, after=None)


# --- API tokens -----------------------------------------------------------------------------------


def _api_token_audit(
    action: AuditAction, token: ApiToken, *, actor: Actor, before: dict[str, Any] | None
) -> None:
    """Record a token's creation or revocation in every tenant its user is a member of.

    A token belongs to a user, not to a tenant: it acts for every tenant the user is (or later
    becomes) a member of. Each of those tenants' owners should see in their own trail that a
    credential able to act on their data appeared or stopped working, so the event is written
    in each of them (a tenant table; there is no platform-wide trail to put it in instead).
    The raw token and its prefix (the secret's first characters) are never recorded: only the
    token's id (the event's object), its name and its user. Runs outside any tenant: it enters
    each tenant in turn.
    """
    username = get_user_model().objects.filter(pk=token.user_id).values_list("username", flat=True).first()
    after = {"name": token.name, "username": username or "", "revoked_at": token.revoked_at}
    tenant_ids = (
        Membership.objects.filter(user_id=token.user_id)
        .order_by("tenant_id")
        .values_list("tenant_id", flat=True)
    )
    for tenant_id in list(tenant_ids):
        with tenant_context(tenant_id):
            audit_record(actor=actor, action=action, object_id=token.pk, before=before, after=after)


@transaction.atomic
def api_token_create(*, user: User, name: str, actor: Actor = None) -> tuple[ApiToken, str]:
    """Create a token; returns it with the raw value, which is never stored or shown again.

    ``actor`` is who creates it (the user themself in the back office; None for an operator's
    command); audited as ``api_token.created`` (``_api_token_audit``)."""
    raw = generate_raw_token()
    token = ApiToken.objects.create(
        user=user, name=name.strip() or "token", prefix=raw[:10], token_hash=hash_token(raw)
    )
    _api_token_audit(AuditAction.API_TOKEN_CREATED, token, actor=actor, before=None)
    return token, raw


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor: Actor = None) -> ApiToken:
    """Revoke a token; it stops authenticating at once. Audited as ``api_token.revoked``."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        _api_token_audit(AuditAction.API_TOKEN_REVOKED, token, actor=actor, before={"revoked_at": None})
    return token
