"""Back office for the platform (tenants, users, tokens) and the tenant's own records.

Platform pages run outside any tenant and are for superusers (API tokens: everyone manages
their own). Tenant pages (members, invitations, settings, audit log) run inside the active tenant's
``tenant_context`` with permissions from the membership role.
"""

from __future__ import annotations

import json
from typing import Any

from axes import admin as axes_admin
from axes.models import AccessAttempt
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db.models import F, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from common.errors import DomainError
from common.finance import MoneyError, normalize_currency

from . import selectors
from .admin_params import BackOfficeAdminMixin
from .admin_site import PlatformAdminMixin, TenantAdminMixin, adopt, has_tenant_role, site
from .context import require_tenant_id, tenant_context
from .models import (
    ApiToken,
    AuditEvent,
    Invitation,
    InvitationStatus,
    Membership,
    Role,
    Tenant,
    TenantSettings,
    WriteOffReason,
)
from .services import (
    SETTINGS_FIELDS,
    api_token_create,
    api_token_revoke,
    invitation_create,
    invitation_revoke,
    membership_add,
    membership_remove,
    membership_role_change,
    tenant_create,
    tenant_settings_update,
)

# --- platform: tenants, users, groups ------------------------------------------------------------


class MembershipInlineFormSet(BaseInlineFormSet):
    """A tenant's members on its platform page; saved through the membership services
    (``TenantAdmin.save_formset``), so every change is audited in the tenant."""

    def clean(self) -> None:
        super().clean()
        owners = [
            form
            for form in self.forms
            if form.cleaned_data
            and not form.cleaned_data.get("DELETE")
            and form.cleaned_data.get("role") == Role.OWNER
        ]
        if self.instance.pk and not owners:
            raise forms.ValidationError("A tenant needs at least one owner.")


class MembershipInline(admin.TabularInline):
    model = Membership
    formset = MembershipInlineFormSet
    extra = 0
    autocomplete_fields = ["user"]

    # Superusers only (the parent page is a platform page, outside any tenant).
    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)

    has_add_permission = has_change_permission = has_delete_permission = has_view_permission


class TenantCreateForm(forms.ModelForm):
    owner = forms.ModelChoiceField(
        queryset=get_user_model().objects.order_by("username"),
        help_text="Becomes the first owner of the tenant.",
    )

    class Meta:
        model = Tenant
        fields = ["name"]


@admin.register(Tenant, site=site)
class TenantAdmin(PlatformAdminMixin, admin.ModelAdmin):
    delete_refused_hint = "the tenant still has data (settings, ledgers, matches or audit events)."
    list_display = ["name", "member_count", "id", "created_at"]
    search_fields = ["name", "id"]
    readonly_fields = ["id", "created_at", "updated_at"]
    inlines = [MembershipInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tenant]:
        from django.db.models import Count

        return super().get_queryset(request).annotate(members=Count("memberships"))

    @admin.display(description="Members", ordering="members")
    def member_count(self, obj: Tenant) -> int:
        return getattr(obj, "members", 0)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = TenantCreateForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_inlines(self, request: HttpRequest, obj: Any) -> list[Any]:
        return self.inlines if obj is not None else []

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        """Members change through the services inside the tenant, each change audited there.

        Order keeps an owner at every step (the formset's ``clean`` checked the end state):
        additions, then role changes (promotions before demotions), then removals. A member
        whose user is replaced on the same row is removed and the new user added.
        """
        if formset.model is not Membership:
            super().save_formset(request, form, formset, change)
            return
        actor, tenant_id = request.user, form.instance.pk
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        deleted = set(formset.deleted_forms)
        additions: list[tuple[Any, str]] = []
        role_changes: list[tuple[int, str]] = []
        removals: list[int] = []
        for row in formset.forms:
            if row in deleted:
                if row.instance.pk is not None and not row.instance._state.adding:
                    removals.append(row.initial.get("user", row.instance.user_id))
                continue
            if not row.has_changed() or not row.cleaned_data:
                continue
            user, role = row.cleaned_data["user"], row.cleaned_data["role"]
            if row.instance._state.adding:
                additions.append((user, role))
            elif "user" in row.changed_data:
                removals.append(row.initial["user"])
                additions.append((user, role))
            else:
                role_changes.append((user.pk, role))
        role_changes.sort(key=lambda change: change[1] != Role.OWNER)
        with tenant_context(tenant_id):
            for user, role in additions:
                membership_add(tenant_id=tenant_id, username=user.get_username(), role=role, actor=actor)  # type: ignore[arg-type]
            for user_id, role in role_changes:
                membership_role_change(tenant_id=tenant_id, user_id=user_id, role=role, actor=actor)  # type: ignore[arg-type]
            for user_id in removals:
                membership_remove(tenant_id=tenant_id, user_id=user_id, actor=actor)  # type: ignore[arg-type]

    def save_model(self, request: HttpRequest, obj: Tenant, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        # The service creates the settings row and the owner membership with it.
        adopt(obj, tenant_create(name=form.cleaned_data["name"], owner=form.cleaned_data["owner"]))


class PlatformUserAdmin(PlatformAdminMixin, UserAdmin):
    delete_refused_hint = (
        "this user acted in a tenant (decisions, audit events, runs or imports refer to them). "
        "Untick “Active” instead: the account stops working and the audit trail keeps its name."
    )


class PlatformGroupAdmin(PlatformAdminMixin, GroupAdmin):
    pass


site.register(get_user_model(), PlatformUserAdmin)
site.register(Group, PlatformGroupAdmin)


# --- platform: failed back-office logins (django-axes) -------------------------------------------


class AccessAttemptAdmin(PlatformAdminMixin, axes_admin.AccessAttemptAdmin):
    """Failed logins per (username, address, browser): a pair at the failure limit is locked out.

    Deleting a row (or "Unlock selected") unlocks that pair at once, like ``manage.py
    axes_reset_username``. Rows are written by axes only: nobody adds or edits them here.
    """

    actions = ["unlock", "cleanup_expired_attempts"]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Unlock selected (forget their failed logins)", permissions=["delete"])
    def unlock(self, request: HttpRequest, queryset: QuerySet[AccessAttempt]) -> None:
        count, _ = queryset.delete()
        self.message_user(request, f"Unlocked: {count} failed-login record(s) removed.")


site.register(AccessAttempt, AccessAttemptAdmin)


# --- platform: API tokens (superusers: all; everyone else: their own) ----------------------------


class ApiTokenCreateForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["name"]


@admin.register(ApiToken, site=site)
class ApiTokenAdmin(BackOfficeAdminMixin, admin.ModelAdmin):
    tenant_scoped = False
    list_display = ["name", "owner", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "user__username", "prefix"]
    readonly_fields = ["owner", "prefix", "created_at", "last_used_at", "revoked_at"]
    fields = ["owner", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApiToken]:
        tokens = super().get_queryset(request).select_related("user")
        return tokens if request.user.is_superuser else tokens.filter(user_id=request.user.pk)

    @admin.display(description="User", ordering="user__username")
    def owner(self, obj: ApiToken) -> str:
        return obj.user.get_username() if obj.user_id else ""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request) and (
            obj is None or request.user.is_superuser or obj.user_id == request.user.pk
        )

    has_change_permission = has_view_permission

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self.has_module_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoke instead: the row documents what the token did

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = ApiTokenCreateForm
            kwargs["fields"] = ["name"]
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["name"] if obj is None else self.fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [] if obj is None else self.readonly_fields

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        token, raw = api_token_create(
            user=request.user,  # type: ignore[arg-type]
            name=form.cleaned_data["name"],
            actor=request.user,  # type: ignore[arg-type]
        )
        adopt(obj, token)
        messages.warning(request, f"New token (shown only now, copy it): {raw}")

    @admin.action(description="Revoke selected tokens", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        count = 0
        for token in queryset.filter(revoked_at__isnull=True):
            api_token_revoke(token=token, actor=request.user)  # type: ignore[arg-type]
            count += 1
        self.message_user(request, f"Revoked {count} token(s).")


# --- tenant: members, settings, audit log ------------------------------------------------------


class InvitationAddForm(forms.ModelForm):
    """Invite a username or an e-mail address with a role, through ``invitation_create``.

    The service runs while the form is validated so that its refusals (not a username or an
    address, already a member, already invited, too many pending) show on the form. It answers
    the same whether or not an account with that name exists: the back office, like the API,
    must not tell an owner who has an account (issue 13.5).
    """

    invitee = forms.CharField(
        label="Username or e-mail address",
        max_length=Invitation._meta.get_field("invitee").max_length,
        help_text="The invitee sees the invitation once signed in and accepts it there; "
        "whether such an account exists is not checked.",
    )
    invited_by: Any = None  # the owner sending it; set by InvitationAdmin.get_form

    class Meta:
        model = Invitation
        fields = ["role"]

    def _post_clean(self) -> None:
        super()._post_clean()
        if self.errors:
            return
        try:
            self.service_result = invitation_create(
                invitee=self.cleaned_data["invitee"],
                role=self.cleaned_data["role"],
                invited_by=self.invited_by,
            )
        except DomainError as error:
            _add_domain_errors(self, error)


def _add_domain_errors(form: forms.BaseForm, error: DomainError) -> None:
    """Show a service's per-field errors on the form's fields, the rest at the top."""
    if not error.errors:
        form.add_error(None, error.detail)
        return
    for field, problems in error.errors.items():
        target = field if field in form.fields else None
        for problem in problems if isinstance(problems, list) else [problems]:
            form.add_error(target, problem if target else f"{field}: {problem}")


@admin.register(Membership, site=site)
class MemberAdmin(TenantAdminMixin, admin.ModelAdmin):
    """Members of the active tenant; owners remove them here and invite new ones.

    Nobody is added directly: the add page leads to the invitation form (``InvitationAdmin``),
    which answers the same for existing and unknown accounts; a membership exists once the
    invitee accepts.
    """

    add_role = Role.OWNER
    delete_role = Role.OWNER
    allow_change = False  # no role-change service yet: remove and invite again
    show_add_button = False  # "Invite a member" instead (get_object_tools)
    list_display = ["username", "email", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__email"]
    fields = ["username", "email", "role", "created_at"]
    readonly_fields = ["username", "email", "role", "created_at"]
    ordering = ["user__username"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Membership]:
        # Membership has no scoped manager: filter in code too (RLS filters underneath).
        return (
            Membership.objects.filter(tenant_id=require_tenant_id())
            .annotate(member_username=F("user__username"), member_email=F("user__email"))
            .order_by("member_username")
        )

    @admin.display(description="User", ordering="member_username")
    def username(self, obj: Membership) -> str:
        return getattr(obj, "member_username", "")

    @admin.display(description="Email", ordering="member_email")
    def email(self, obj: Membership) -> str:
        return getattr(obj, "member_email", "")

    def get_object_tools(self, request: HttpRequest) -> list[dict[str, str]]:
        tools = super().get_object_tools(request)
        if self.has_add_permission(request):
            tools.append({"url": reverse("admin:tenants_invitation_add"), "label": "Invite a member"})
        return tools

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> HttpResponse:
        """Members join by invitation: the old add page (GET or POST) leads to that form."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        return HttpResponseRedirect(reverse("admin:tenants_invitation_add"))

    def perform_delete(self, request: HttpRequest, obj: Membership) -> None:
        membership_remove(tenant_id=obj.tenant_id, user_id=obj.user_id, actor=request.user)  # type: ignore[arg-type]

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> tuple[list, dict, set, list]:
        names = [f"{getattr(o, 'member_username', o.user_id)} ({o.get_role_display()})" for o in objs]
        return names, {"members": len(names)}, set(), []


class InvitationStatusFilter(admin.SimpleListFilter):
    """By the status a person means: a pending invitation past its expiry is expired."""

    title = "status"
    parameter_name = "effective_status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(InvitationStatus.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Invitation]) -> QuerySet[Invitation]:
        value = self.value()
        if value is None:
            return queryset
        if value not in InvitationStatus.values:
            raise IncorrectLookupParameters(f"Unknown status {value[:40]!r}.")
        return queryset.filter(effective_status=value)  # annotated by the selector


@admin.register(Invitation, site=site)
class InvitationAdmin(TenantAdminMixin, admin.ModelAdmin):
    """The tenant's invitations (owners): invite, list, revoke; the same services as the API."""

    view_role = add_role = Role.OWNER
    allow_change = allow_delete = False  # revoke instead: the row documents who was invited
    list_display = ["invitee", "role", "status_display", "invited_by_name", "created_at", "expires_at"]
    list_filter = [InvitationStatusFilter, "role"]
    search_fields = ["invitee"]
    fields = [
        "invitee",
        "role",
        "status_display",
        "invited_by_name",
        "created_at",
        "expires_at",
        "decided_at",
        "decided_by_name",
    ]
    readonly_fields = fields
    actions = ["revoke"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Invitation]:
        # Usernames only: the runtime role may not read the other columns of auth_user.
        return selectors.invitations_of_tenant().annotate(decided_by_username=F("decided_by__username"))

    @admin.display(description="Status", ordering="effective_status")
    def status_display(self, obj: Invitation) -> str:
        return InvitationStatus(getattr(obj, "effective_status", obj.status)).label

    @admin.display(description="Invited by", ordering="invited_by_username")
    def invited_by_name(self, obj: Invitation) -> str:
        return getattr(obj, "invited_by_username", None) or ""

    @admin.display(description="Decided by")
    def decided_by_name(self, obj: Invitation) -> str:
        return getattr(obj, "decided_by_username", None) or ""

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = type("InvitationAddForm", (InvitationAddForm,), {"invited_by": request.user})
            kwargs["fields"] = ["role"]
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["invitee", "role"] if obj is None else self.fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [] if obj is None else self.readonly_fields

    def save_model(self, request: HttpRequest, obj: Invitation, form: Any, change: bool) -> None:
        adopt(obj, form.service_result)

    def response_add(
        self, request: HttpRequest, obj: Invitation, post_url_continue: Any = None
    ) -> HttpResponse:
        """The same words whether or not such an account exists (nothing here may tell)."""
        messages.success(
            request,
            f"Invitation for {obj.invitee} as {obj.get_role_display()} created. It is pending until the "
            "invitee, signed in with that username or e-mail address, accepts it "
            f"(it expires on {obj.expires_at:%Y-%m-%d}).",
        )
        return HttpResponseRedirect(reverse("admin:tenants_invitation_changelist"))

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return has_tenant_role(request, Role.OWNER)

    @admin.action(description="Revoke selected pending invitations", permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[Invitation]) -> None:
        revoked = 0
        for invitation in queryset.filter(effective_status=InvitationStatus.PENDING):
            try:
                invitation_revoke(invitation_id=invitation.pk, actor=request.user)  # type: ignore[arg-type]
            except DomainError:
                continue  # decided or expired meanwhile
            revoked += 1
        skipped = queryset.count() - revoked
        note = f" ({skipped} not pending: left as they are)" if skipped else ""
        self.message_user(request, f"Revoked {revoked} invitation{'' if revoked == 1 else 's'}{note}.")


class TenantSettingsForm(forms.ModelForm):
    write_off_reasons = forms.MultipleChoiceField(
        choices=WriteOffReason.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The reasons a write-off may be given.",
    )

    class Meta:
        model = TenantSettings
        fields = list(SETTINGS_FIELDS)

    def clean_default_currency(self) -> str:
        try:
            return normalize_currency(self.cleaned_data["default_currency"])
        except MoneyError as error:
            raise forms.ValidationError(str(error)) from error


@admin.register(TenantSettings, site=site)
class TenantSettingsAdmin(TenantAdminMixin, admin.ModelAdmin):
    """The tenant's reconciliation policy and default currency; owners change it."""

    change_role = Role.OWNER
    allow_add = False
    allow_delete = False
    form = TenantSettingsForm
    fieldsets = [
        ("Money", {"fields": ["default_currency"]}),
        (
            "Reconciliation",
            {
                "fields": [
                    "auto_confirm_threshold",
                    "auto_confirm_shadow",
                    "fee_tolerance_fixed",
                    "fee_tolerance_percent",
                    "date_window_days",
                    "auto_reconcile",
                    "rejection_memory",
                    "processor_fee_percent",
                    "processor_fee_fixed",
                ],
                "description": "Used by the next reconciliation run.",
            },
        ),
        (
            "Write-offs",
            {
                "fields": ["write_off_max_amount", "write_off_max_percent", "write_off_reasons"],
                "description": "A person confirming a short payment may write off the shortfall within "
                "both limits, giving one of these reasons; beyond them the invoice stays partly paid.",
            },
        ),
        (
            "Imports",
            {
                "fields": ["internal_transfer_days"],
                "description": "Used when statements are imported.",
            },
        ),
    ]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        """There is one settings row per tenant: open it directly."""
        row = TenantSettings.objects.first()
        if row is not None:
            return HttpResponseRedirect(reverse("admin:tenants_tenantsettings_change", args=[row.pk]))
        return super().changelist_view(request, extra_context)

    def save_model(self, request: HttpRequest, obj: TenantSettings, form: Any, change: bool) -> None:
        # The same service as the API: validation, row lock, one audit event with what changed.
        tenant_settings_update(
            changes={name: form.cleaned_data[name] for name in SETTINGS_FIELDS if name in form.cleaned_data},
            actor=request.user,  # type: ignore[arg-type]
        )


def _pretty_json(value: Any) -> str:
    if value in (None, "", [], {}):
        return "—"
    return format_html("<pre class='recon-json'>{}</pre>", json.dumps(value, indent=2, sort_keys=True))


@admin.register(AuditEvent, site=site)
class AuditEventAdmin(TenantAdminMixin, admin.ModelAdmin):
    """Who changed what, when and through which interface (append-only; every member may read it)."""

    allow_add = allow_change = allow_delete = False
    list_display = ["created_at", "action", "object_type", "object_link", "actor_name", "source"]
    list_filter = ["action", "object_type", "source", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["action", "object_type"]
    date_hierarchy = "created_at"
    fields = [
        "created_at",
        "action",
        "object_type",
        "object_link",
        "actor_name",
        "source",
        "before_view",
        "after_view",
    ]
    readonly_fields = fields
    list_per_page = 50

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEvent]:
        # Only the username column of auth_user (the runtime role may not read the rest).
        return super().get_queryset(request).annotate(actor_username=F("actor__username"))

    @admin.display(description="By", ordering="actor_username")
    def actor_name(self, obj: AuditEvent) -> str:
        return getattr(obj, "actor_username", None) or ("system" if obj.actor_id is None else "")

    @admin.display(description="Object")
    def object_link(self, obj: AuditEvent) -> str:
        # The vocabulary's objects are snake_case model names ("tenant_settings"), older
        # events hold Django's ("tenantsettings"): both name the same admin page.
        for model in site._registry:
            if model._meta.model_name == obj.object_type.replace("_", ""):
                try:
                    url = reverse(
                        f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj.object_id]
                    )
                except NoReverseMatch:
                    break
                return format_html('<a href="{}">{}</a>', url, str(obj.object_id)[:8])
        return str(obj.object_id)[:8]

    @admin.display(description="Before")
    def before_view(self, obj: AuditEvent) -> str:
        return _pretty_json(obj.before)

    @admin.display(description="After")
    def after_view(self, obj: AuditEvent) -> str:
        return _pretty_json(obj.after)

    def history_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        return HttpResponseRedirect(reverse("admin:tenants_auditevent_change", args=[object_id]))
