"""Entering the active tenant for back-office (``/admin/``) requests.

The same way in as the API (``tenants.middleware.TenantContextMiddleware``): the user and the
membership are resolved **outside** any tenant, then the view (and its template rendering) runs
inside ``tenant_context`` of the active tenant, so RLS applies to every admin query. A response
of 400 or more rolls the transaction back.

Order matters: the session and ``request.user`` are evaluated *before* the context is entered,
because the runtime role cannot read ``django_session`` or the password column of ``auth_user``.
The session is saved by ``SessionMiddleware`` after this middleware returns, so after the tenant
transaction has ended.

Pages that are not tenant data run outside any tenant: login, logout, password change, the
tenant switcher, and every page of the platform models (tenants, users, groups, API tokens),
including the pages their ModelAdmin adds itself, such as a user's password page: the runtime
role may not read ``auth_user``'s password column, so such a page inside a tenant would fail.
Which model a page belongs to is decided once, in ``owning_model_admin``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from django.contrib.admin.options import BaseModelAdmin
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, Resolver404, resolve, reverse

from .admin_site import ADMIN_TENANT_SESSION_KEY
from .audit import AuditSource, audit_source
from .context import tenant_context
from .models import Membership

# Site views that never touch tenant data (and must not run as the runtime role).
PLATFORM_VIEWS = frozenset(
    {"login", "logout", "password_change", "password_change_done", "switch_tenant", "jsi18n"}
)


def owning_model_admin(view: Any) -> BaseModelAdmin | None:
    """The ModelAdmin a resolved admin view belongs to, looked up through the admin's wrappers.

    ``ModelAdmin.get_urls`` marks its own views with ``model_admin``; pages a ModelAdmin adds
    itself (``UserAdmin``'s password page, the CSV exports) are its bound methods behind
    ``admin_view``'s ``functools.wraps``. Unwrapping finds both, so such a page is a platform
    or a tenant page exactly when its ModelAdmin is, without a list of URL names to keep.
    """
    while view is not None:
        owner = getattr(view, "model_admin", None) or getattr(view, "__self__", None)
        if isinstance(owner, BaseModelAdmin):
            return owner
        view = getattr(view, "__wrapped__", None)
    return None


def _model_is_tenant_scoped(model_admin: Any) -> bool:
    scoped = getattr(model_admin, "tenant_scoped", None)
    if scoped is not None:
        return bool(scoped)
    return any(field.name == "tenant" for field in model_admin.model._meta.get_fields())


def _autocomplete_is_tenant_scoped(request: HttpRequest, site: Any) -> bool:
    """Autocomplete searches the *remote* model of the field it serves."""
    from django.apps import apps

    try:
        source = apps.get_model(request.GET["app_label"], request.GET["model_name"])
        remote = source._meta.get_field(request.GET["field_name"]).remote_field.model
    except Exception:  # noqa: BLE001 - malformed query: the view itself answers 403
        return True
    model_admin = site._registry.get(remote)
    return True if model_admin is None else _model_is_tenant_scoped(model_admin)


def view_needs_tenant(request: HttpRequest) -> bool:
    """Whether the admin view for this request reads tenant data (fail closed: yes)."""
    try:
        match = resolve(request.path_info, urlconf=getattr(request, "urlconf", None))
    except Resolver404:
        return True
    model_admin = owning_model_admin(match.func)
    if model_admin is not None:
        return _model_is_tenant_scoped(model_admin)
    if match.url_name in PLATFORM_VIEWS:
        return False
    if match.url_name == "autocomplete":
        return _autocomplete_is_tenant_scoped(request, getattr(match.func, "admin_site", None))
    return True


def choose_membership(request: HttpRequest, memberships: list[Membership]) -> Membership | None:
    """The session's tenant when the user is (still) a member; the only one when there is one."""
    session = request.session
    raw = session.get(ADMIN_TENANT_SESSION_KEY)
    chosen = None
    if raw is not None:
        try:
            wanted = uuid.UUID(str(raw))
        except ValueError:
            wanted = None
        chosen = next((m for m in memberships if m.tenant_id == wanted), None)
        if chosen is None:  # membership removed, or tenant gone: forget it at once
            session.pop(ADMIN_TENANT_SESSION_KEY, None)
    if chosen is None and len(memberships) == 1:
        chosen = memberships[0]
        session[ADMIN_TENANT_SESSION_KEY] = str(chosen.tenant_id)
    return chosen


class AdminTenantMiddleware:
    """Resolve the staff user's active tenant and run admin views inside its ``tenant_context``.

    Place it after ``AuthenticationMiddleware`` and ``MessageMiddleware``.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._prefix: str | None = None

    def _admin_prefix(self) -> str | None:
        if self._prefix is None:
            try:
                self._prefix = reverse("admin:index")
            except NoReverseMatch:
                return None
        return self._prefix

    def __call__(self, request: HttpRequest) -> HttpResponse:
        prefix = self._admin_prefix()
        if prefix is None or not request.path_info.startswith(prefix):
            return self.get_response(request)
        with audit_source(AuditSource.ADMIN):
            return self._in_admin(request)

    def _in_admin(self, request: HttpRequest) -> HttpResponse:
        user = request.user  # evaluated here, outside any tenant (reads session and auth_user)
        if not (user.is_authenticated and user.is_active and user.is_staff):
            return self.get_response(request)
        memberships = list(
            Membership.objects.select_related("tenant")
            .filter(user_id=user.pk)
            .order_by("tenant__name", "tenant_id")
        )
        membership = choose_membership(request, memberships)
        request.admin_memberships = memberships  # type: ignore[attr-defined]
        request.admin_membership = membership  # type: ignore[attr-defined]
        if membership is None or not view_needs_tenant(request):
            return self.get_response(request)
        request.tenant = membership.tenant  # type: ignore[attr-defined]
        with tenant_context(membership.tenant_id):
            response = self.get_response(request)
            if response.status_code >= 400:
                transaction.set_rollback(True)
        return response
