"""Platform models (tenants, memberships, API tokens) and the base for tenant-owned tables."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any, ClassVar, cast

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.expressions import Col
from django.db.models.functions import Lower
from django.db.models.lookups import Exact

from common import limits

from .context import current_tenant_id, require_tenant_id


class TimeStampedModel(models.Model):
    """Abstract base with creation and last-change times."""

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Tenant(TimeStampedModel):
    """A company using the system. Platform table: no RLS, reached through memberships."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=limits.NAME)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ACCOUNTANT = "accountant", "Accountant"
    VIEWER = "viewer", "Viewer"


ROLE_RANK = {Role.VIEWER: 0, Role.ACCOUNTANT: 1, Role.OWNER: 2}


class Membership(TimeStampedModel):
    """A user's role in a tenant.

    RLS applies here too: inside a tenant context only that tenant's memberships are visible.
    Outside any tenant the owner login sees all rows (policy ``platform_access``) because
    authentication and routing must find the caller's memberships before a tenant is entered.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The database's key is tenants_membership_tenant_id_fk (tenants.rls.tenant_foreign_key), as
    # for every table with a tenant.
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="memberships", db_constraint=False
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.VIEWER)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="membership_tenant_user_uniq"),
            models.CheckConstraint(
                condition=models.Q(role__in=[r.value for r in Role]), name="membership_role_valid"
            ),
        ]
        indexes = [models.Index(fields=["user", "tenant"], name="membership_user_tenant_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.tenant_id} as {self.role}"

    def has_role(self, minimum: str) -> bool:
        """True when this membership's role is at least ``minimum`` (viewer < accountant < owner)."""
        return ROLE_RANK[Role(self.role)] >= ROLE_RANK[Role(minimum)]


class InvitationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    REVOKED = "revoked", "Revoked"
    EXPIRED = "expired", "Expired"


class Invitation(TimeStampedModel):
    """An owner's offer of a role in a tenant to a username or e-mail address.

    Owners invite instead of adding users directly, so that adding a member answers the same
    whether or not an account with that name exists (no username enumeration, no user ids).
    The invitee, once authenticated, sees the invitations addressed to their username or
    e-mail address and accepts or declines them; only then does a membership exist.

    Platform table with RLS like ``Membership``: inside a tenant only that tenant's invitations
    are visible; outside any tenant the owner login finds the ones addressed to a caller.
    ``status`` is stored when something happens; a pending invitation past ``expires_at`` reads
    as expired (see ``selectors``) and is stored as such when the tenant next invites.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The database's key is tenants_invitation_tenant_id_fk (tenants.rls.tenant_foreign_key), as
    # for every table with a tenant.
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="invitations", db_constraint=False
    )
    invitee = models.CharField(
        max_length=254, help_text="Username or e-mail address as the owner typed it (normalised)."
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.VIEWER)
    status = models.CharField(
        max_length=10, choices=InvitationStatus.choices, default=InvitationStatus.PENDING
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    expires_at = models.DateTimeField()
    decided_at = models.DateTimeField(
        null=True, blank=True, help_text="When it was accepted, declined or revoked."
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The invitee who accepted or declined, or the owner who revoked.",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One open invitation per address and tenant (e-mail addresses compare case-insensitively).
            models.UniqueConstraint(
                "tenant",
                Lower("invitee"),
                condition=models.Q(status="pending"),
                name="invitation_one_pending_per_invitee",
            ),
            models.CheckConstraint(
                condition=models.Q(role__in=[r.value for r in Role]), name="invitation_role_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in InvitationStatus]),
                name="invitation_status_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="invitation_tenant_created_idx"),
            # The invitee's inbox: by username (exact) or e-mail address (case-insensitive).
            models.Index(
                Lower("invitee"), name="invitation_pending_invitee_idx", condition=models.Q(status="pending")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.invitee} to {self.tenant_id} as {self.role} ({self.status})"


class ApiToken(models.Model):
    """A named bearer token. Only its SHA-256 is stored; the raw value is shown once."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, help_text="First characters, to recognise a token")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API token"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class ActiveTenantId(models.Expression):
    """The active tenant's id, read when the query is compiled (not when it is built).

    Querysets built at import time (form fields, admin choices) therefore filter by the
    tenant active when they run; compiling one outside ``tenant_context`` raises.
    """

    output_field = models.UUIDField()

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        return "%s", (require_tenant_id(),)


class TenantScopedManager(models.Manager):
    """Defence in depth under RLS: querysets filter by the active tenant in code too.

    Running one outside ``tenant_context`` raises instead of silently returning nothing, so a
    missing context is a loud bug. Crossing tenants must be spelled out with ``Model.unscoped``.
    """

    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().filter(tenant_id=ActiveTenantId())

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> list:
        """``bulk_create`` skips ``save()``: stamp the active tenant here (RLS checks it)."""
        tenant_id = require_tenant_id()
        objs = list(objs)
        for obj in objs:
            if obj.tenant_id is None:
                obj.tenant_id = tenant_id
        return super().bulk_create(objs, *args, **kwargs)


class TenantRoutedManager(models.Manager):
    """The base manager of tenant models: Django's own look-ups name the active tenant too.

    ``save()``'s UPDATE, ``refresh_from_db()``, ``instance.<reference>`` and the deletion
    collector go through a model's base manager, not ``objects``. Inside a tenant context this
    one adds ``tenant_id = <active tenant>``, so those statements carry the distribution key and
    Citus routes each to one shard. Outside any context it filters nothing (RLS shows no row of
    a tenant table there anyway), so Django's platform-side machinery (deleting a user, whose
    tenant rows only the database's foreign keys can see) keeps working.
    """

    def get_queryset(self) -> models.QuerySet:
        queryset = super().get_queryset()
        tenant_id = current_tenant_id()
        return queryset if tenant_id is None else queryset.filter(tenant_id=tenant_id)


class TenantForeignKey(models.ForeignKey):
    """A reference from one tenant table to another, enforced by the database's composite key.

    The database holds ``FOREIGN KEY (tenant_id, <column>) REFERENCES parent (tenant_id, id)``
    (``tenants.rls.tenant_reference``, added by each app's migration), so a row can never point
    at another tenant's row; Django's own single-column constraint is off (``db_constraint``).
    Every join the ORM writes over this field also says ``child.tenant_id = parent.tenant_id``:
    with the query's tenant filter on one side, Citus then knows both sides live in the same
    shard group and routes the statement to one shard (a join on the id alone would be a
    multi-shard join it refuses). ``instance.<field>`` looks the parent up within the row's
    tenant for the same reason.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("db_constraint", False)
        kwargs.setdefault("db_index", False)  # every index of a tenant table leads with tenant_id
        super().__init__(*args, **kwargs)

    def get_extra_restriction(self, alias: str | None, related_alias: str | None) -> Any:
        """``parent.tenant_id = child.tenant_id`` in every JOIN ... ON over this field.

        ``alias`` names the parent's table, ``related_alias`` this model's. In a subquery that
        Django trimmed to one side, only one alias is known: that side is pinned to the active
        tenant instead (nothing is added outside a tenant context).
        """
        parent_tenant = cast(models.Field, self.remote_field.model._meta.get_field("tenant"))
        child_tenant = cast(models.Field, self.model._meta.get_field("tenant"))
        if alias is not None and related_alias is not None:
            return Exact(Col(alias, parent_tenant), Col(related_alias, child_tenant))
        tenant_id = current_tenant_id()
        if tenant_id is None:
            return None
        if alias is not None:
            return Exact(Col(alias, parent_tenant), tenant_id)
        if related_alias is not None:
            return Exact(Col(related_alias, child_tenant), tenant_id)
        return None

    def get_extra_descriptor_filter(self, instance: Any) -> dict[str, Any]:
        """``instance.<field>`` looks the parent up in the instance's own tenant."""
        return {"tenant_id": instance.tenant_id}


class TenantModel(TimeStampedModel):
    """Base of every tenant-owned table (RLS + FORCE + policy added by its migration).

    In the database the primary key is ``(tenant_id, id)`` and every unique constraint
    includes ``tenant_id`` (``tenants.rls.tenant_primary_key``): the schema Citus needs to
    distribute the table by ``tenant_id``, the same on one PostgreSQL. Django keeps ``id`` as
    the model's primary key: it is unique on its own (a UUID), and the admin and most of the
    ecosystem do not support composite primary keys.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No single-column index: every index of a tenant table leads with tenant_id explicitly.
    # The database's foreign key ``<table>_tenant_id_fk`` (tenants.rls.tenant_foreign_key)
    # checks it; Django's own constraint is off so the key keeps a readable name.
    tenant = models.ForeignKey(
        Tenant,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        editable=False,
        db_constraint=False,
    )

    objects: ClassVar[TenantScopedManager] = TenantScopedManager()
    unscoped: ClassVar[models.Manager] = models.Manager()
    tenant_routed: ClassVar[TenantRoutedManager] = TenantRoutedManager()

    class Meta:
        abstract = True
        base_manager_name = "tenant_routed"
        constraints: ClassVar[list[models.BaseConstraint]] = []

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.tenant_id is None:
            self.tenant_id = require_tenant_id()
        super().save(*args, **kwargs)


MAX_DATE_WINDOW_DAYS = 3650
MAX_REJECTION_MEMORY = 100


class WriteOffReason(models.TextChoices):
    """Why a small shortfall of a payment is written off when its match is confirmed.

    Here, with the settings that allow them, because tenants is the floor both the settings and
    the matches (reconciliation) stand on."""

    BANK_FEE = "bank_fee", "Bank fee"
    DISCOUNT = "discount", "Discount taken"
    ROUNDING = "rounding", "Rounding"
    PROCESSOR_FEE = "processor_fee", "Payment processor fee"
    OTHER = "other", "Other"


def all_write_off_reasons() -> list[str]:
    """The default of ``TenantSettings.write_off_reasons``: every reason (a callable, as
    ArrayField defaults must be)."""
    return list(WriteOffReason.values)


# Two legs of a transfer between own accounts further apart than a month are not one transfer.
MAX_INTERNAL_TRANSFER_DAYS = 31
DEFAULT_INTERNAL_TRANSFER_DAYS = 4


class TenantSettings(TenantModel):
    """Per-tenant preferences: default currency and reconciliation policy."""

    default_currency = models.CharField(max_length=3, default="USD")
    auto_confirm_threshold = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        null=True,
        blank=True,
        default=Decimal("0.95"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text="Confidence at or above which matches are confirmed automatically; "
        "empty switches auto-confirmation off.",
    )
    auto_confirm_shadow = models.BooleanField(
        default=False,
        db_default=False,  # rows written by SQL (runs, benches) need not name it
        help_text="Shadow mode: runs confirm nothing automatically but flag the matches the threshold "
        "would have confirmed, so its precision can be measured before it is trusted.",
    )
    fee_tolerance_fixed = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Underpayment up to this amount is booked as a bank fee.",
    )
    fee_tolerance_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text="Underpayment up to this percentage of the amount is booked as a bank fee.",
    )
    date_window_days = models.PositiveIntegerField(
        default=120,
        validators=[MaxValueValidator(MAX_DATE_WINDOW_DAYS)],
        help_text="How many days after the due date (or before the issue date) a payment may fall.",
    )
    # 4 by default: a transfer sent on a Friday before a bank holiday arrives at another bank on
    # the Tuesday; a wider window pairs more unrelated payments of equal amounts.
    # Not a PositiveSmallIntegerField: Citus refuses a new column with an unnamed CHECK; the
    # bound is the named constraint below.
    internal_transfer_days = models.SmallIntegerField(
        default=DEFAULT_INTERNAL_TRANSFER_DAYS,
        db_default=DEFAULT_INTERNAL_TRANSFER_DAYS,
        validators=[MinValueValidator(0), MaxValueValidator(MAX_INTERNAL_TRANSFER_DAYS)],
        help_text="How many days apart the two legs of a transfer between the tenant's own accounts may "
        "be booked to be paired as an internal transfer (0: the same day).",
    )
    auto_reconcile = models.BooleanField(
        default=True,
        help_text="Run reconciliation by itself after each import that adds bank transactions.",
    )
    # Write-offs are off until a tenant sets a maximum: writing money off is a policy decision.
    # db_default: the run's set-based SQL and the bulk loaders insert rows without these columns.
    write_off_max_amount = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        default=Decimal("0"),
        db_default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Largest shortfall a confirmation may write off, in the invoice's currency (0: none).",
    )
    write_off_max_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        db_default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text="Largest shortfall a confirmation may write off, in percent of the invoice's amount "
        "(both limits apply).",
    )
    write_off_reasons = ArrayField(
        models.CharField(max_length=16, choices=WriteOffReason.choices),
        default=all_write_off_reasons,
        db_default=list(WriteOffReason.values),
        blank=True,
        size=len(WriteOffReason.values),
        help_text="The reasons a write-off may be given.",
    )
    # Not a Positive... field: Citus refuses ADD COLUMN with an unnamed CHECK; the range is the
    # named constraint below.
    rejection_memory = models.SmallIntegerField(
        default=3,
        db_default=3,
        validators=[MinValueValidator(0), MaxValueValidator(MAX_REJECTION_MEMORY)],
        help_text="After this many rejections of a customer for one payer (name or account), the customer "
        "is no longer proposed for that payer (0: never).",
    )
    # Defaults: reconciliation.engine.EngineSettings (why these values: see there).
    processor_fee_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("3.5"),
        db_default=Decimal("3.5"),  # raw inserts of settings rows (benches, fixtures) get it too
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text="A payment through PayPal, Stripe, Square, ... short by up to this percentage of the "
        "amount plus the fixed part below is booked as the processor's fee.",
    )
    processor_fee_fixed = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        default=Decimal("0.35"),
        db_default=Decimal("0.35"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Fixed part of a processor's fee per payment.",
    )

    class Meta(TenantModel.Meta):
        verbose_name_plural = "tenant settings"
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant"], name="tenantsettings_one_per_tenant"),
            models.CheckConstraint(
                condition=models.Q(fee_tolerance_fixed__gte=0) & models.Q(fee_tolerance_percent__gte=0),
                name="tenantsettings_tolerances_non_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(write_off_max_amount__gte=0)
                & models.Q(write_off_max_percent__gte=0)
                & models.Q(write_off_max_percent__lte=100)
                & models.Q(write_off_reasons__contained_by=WriteOffReason.values),
                name="tenantsettings_write_off_policy_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(internal_transfer_days__gte=0)
                & models.Q(internal_transfer_days__lte=MAX_INTERNAL_TRANSFER_DAYS),
                name="tenantsettings_internal_transfer_days_range",
            ),
            models.CheckConstraint(
                condition=models.Q(processor_fee_fixed__gte=0)
                & models.Q(processor_fee_percent__gte=0)
                & models.Q(processor_fee_percent__lte=100),
                name="tenantsettings_processor_fee_bounded",
            ),
            models.CheckConstraint(
                condition=models.Q(rejection_memory__gte=0)
                & models.Q(rejection_memory__lte=MAX_REJECTION_MEMORY),
                name="tenantsettings_rejection_memory_range",
            ),
        ]

    def __str__(self) -> str:
        return f"Settings of {self.tenant_id}"


class IdempotencyKey(TenantModel):
    """A stored response for an ``Idempotency-Key`` of a tenant (IETF draft + Stripe semantics).

    The row is written in the same transaction as the work it guards, so a crash leaves neither;
    concurrent requests with the same key are serialised by a transaction-scoped advisory lock.
    """

    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and canonical body")
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    expires_at = models.DateTimeField()

    class Meta(TenantModel.Meta):
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "key"], name="idempotencykey_unique_per_tenant"),
        ]
        indexes = [models.Index(fields=["tenant", "expires_at"], name="idempotency_tenant_expiry_idx")]

    def __str__(self) -> str:
        return self.key


class AuditSource(models.TextChoices):
    """Through which interface a change came (``tenants.audit.audit_source`` sets it per entry point)."""

    API = "api", "REST API"
    GRAPHQL = "graphql", "GraphQL"
    ADMIN = "admin", "Back office"
    COMMAND = "command", "Management command"
    JOB = "job", "Background job"
    SYSTEM = "system", "System (periodic task, shell)"
    UNKNOWN = "unknown", "Unknown (recorded before sources were kept)"


class AuditEvent(TenantModel):
    """Who changed what, when, through which interface, with the state before and after
    (append-only). Actions are ``tenants.audit.AuditAction`` members."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # partial index below: a run's auto-confirmations have no actor
    )
    action = models.CharField(max_length=64, help_text="e.g. match.confirmed")
    object_type = models.CharField(max_length=64)
    object_id = models.UUIDField()
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    # Rows written before sources were kept read "unknown" (the column's default for them); every
    # new row names its source explicitly.
    source = models.CharField(max_length=16, choices=AuditSource.choices, db_default=AuditSource.UNKNOWN)

    class Meta(TenantModel.Meta):
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(source__in=AuditSource.values), name="audit_event_source_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="audit_tenant_created_idx"),
            models.Index(fields=["tenant", "object_type", "object_id"], name="audit_tenant_object_idx"),
            models.Index(fields=["actor"], condition=models.Q(actor__isnull=False), name="audit_actor_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type} {self.object_id}"


class ApiRateWindow(models.Model):
    """Write requests of one API token in one minute (platform table; no tenant data)."""

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="+")
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["token", "window_start"], name="apiratewindow_token_window_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.token_id} {self.window_start:%H:%M} {self.count}"
