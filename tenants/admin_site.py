"""The back office: an AdminSite whose tenant data is reached only through ``tenant_context``.

* **Which tenant.** A staff user's memberships decide the tenants they may open; the active one
  is kept in the session (``ADMIN_TENANT_SESSION_KEY``) and chosen on the switcher page
  (``/admin/tenant/``). ``tenants.admin_middleware.AdminTenantMiddleware`` checks the membership
  outside any tenant and runs the view inside ``tenant_context`` of the active tenant, so RLS
  applies to every admin query exactly as it does to the API.
* **Who may do what.** ``TenantAdminMixin`` takes permissions from the membership role, not
  from Django model permissions: viewers look, accountants change ledgers and decide matches,
  owners also manage members and tenant settings. Platform pages (tenants, users, tokens) are
  superuser pages and run outside any tenant.
* **History.** Every change the back office makes goes through a service, and the service
  records it in the tenant's ``AuditEvent`` rows, exactly as for the API (one event per change,
  source ``admin``). The admin itself writes no history: ``django_admin_log`` has no tenant
  column, and a second, differently worded event for the same change would be a second
  dialect. The index shows no "recent actions"; an object's history page is its audit trail.
* **Login and links.** django-axes guards the login (settings; its refusal page is
  ``login_lockout_response``). Every ModelAdmin derives from
  ``tenants.admin_params.BackOfficeAdminMixin`` (``register`` refuses others), which answers a
  list URL it cannot honour with 400; there is no "View site" or view-on-site route.

This module is the ground floor: apps above it plug their dashboard cards and extra pages in
with ``register_dashboard`` and ``register_view`` (floors point down).
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.admin.options import messages
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.core.validators import MaxLengthValidator
from django.db import IntegrityError, connection, models, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.template.response import TemplateResponse
from django.urls import Resolver404, URLPattern, path, resolve, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme

from common.errors import DomainError, is_foreign_key_violation

from .admin_params import BackOfficeAdminMixin, InvalidListParameters
from .citus import use_one_connection_per_node
from .context import current_tenant_id
from .models import Membership, Role

ADMIN_TENANT_SESSION_KEY = "admin_tenant_id"

DashboardProvider = Callable[[HttpRequest], dict[str, Any]]


def admin_membership(request: HttpRequest) -> Membership | None:
    """The membership of the active tenant, only while its ``tenant_context`` is entered."""
    membership: Membership | None = getattr(request, "admin_membership", None)
    if membership is None or current_tenant_id() != membership.tenant_id:
        return None
    return membership


def has_tenant_role(request: HttpRequest, role: str) -> bool:
    """True when the user's role in the active tenant is at least ``role``."""
    membership = admin_membership(request)
    return membership is not None and membership.has_role(role)


def safe_next_url(request: HttpRequest, fallback: str) -> str:
    """The ``next`` parameter when it points into this site, else ``fallback``."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return fallback


def _is_tenant_view(view: Any) -> bool:
    owner = getattr(view, "__self__", None)
    return bool(getattr(view, "tenant_scoped", False) or getattr(owner, "tenant_scoped", False))


# Longest password the login form takes: far beyond any passphrase, and a bound on the work
# the password hasher is given by an anonymous request.
MAX_PASSWORD_LENGTH = 1024


class BackOfficeLoginForm(AdminAuthenticationForm):
    """The admin login form with bounds that are enforced, not only advertised.

    Django's form sets the username field's ``max_length`` after the field is built, so only
    the HTML ``maxlength`` carries it: a longer username reached ``authenticate`` and axes'
    varchar(255) column (a 500). Refused here, the attempt reaches neither.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        username = self.fields["username"]
        username.validators.append(MaxLengthValidator(username.max_length or 150))
        self.fields["password"].validators.append(MaxLengthValidator(MAX_PASSWORD_LENGTH))


class TenantAdminSite(admin.AdminSite):
    """Admin site with a tenant switcher, role-based permissions and a dashboard index."""

    site_header = "Reconcile back office"
    site_title = "Reconcile"
    index_title = "Dashboard"
    index_template = "admin/index.html"
    enable_nav_sidebar = True
    # No "View site" link: the back office is the site for finance staff; there is no public
    # page to go to ("/" answers 404), and the API has its own documentation at /v1/docs.
    site_url = None
    login_form = BackOfficeLoginForm

    def __init__(self, name: str = "admin") -> None:
        super().__init__(name=name)
        self._dashboard_providers: list[DashboardProvider] = []
        self._extra_views: list[tuple[str, Callable[..., HttpResponse], str]] = []

    # --- extension points for the apps above -------------------------------------------------

    def register_dashboard(self, provider: DashboardProvider) -> None:
        """Add cards to the tenant dashboard: ``provider(request)`` returns template context."""
        if provider not in self._dashboard_providers:
            self._dashboard_providers.append(provider)

    def register_view(self, route: str, view: Callable[..., HttpResponse], name: str) -> None:
        """Mount a page at ``/admin/<route>`` (login required; tenant-scoped when the view is)."""
        if all(existing != name for _, _, existing in self._extra_views):
            self._extra_views.append((route, view, name))

    # --- permissions and routing ---------------------------------------------------------------

    def admin_view(self, view: Callable[..., HttpResponse], cacheable: bool = False) -> Any:
        """Like Django's, plus: tenant-scoped views refuse to run without an active tenant."""
        if _is_tenant_view(view):
            original = view

            @wraps(original)
            def tenant_required(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
                if admin_membership(request) is None:
                    switch = reverse(f"{self.name}:switch_tenant", current_app=self.name)
                    return HttpResponseRedirect(f"{switch}?next={request.get_full_path()}")
                return original(request, *args, **kwargs)

            view = tenant_required
        return super().admin_view(view, cacheable)

    def register(self, model_or_iterable: Any, admin_class: Any = None, **options: Any) -> None:
        """Like Django's, but only for ModelAdmins with the back office's shared behaviour."""
        if admin_class is None or not issubclass(admin_class, BackOfficeAdminMixin):
            raise ImproperlyConfigured(
                f"{admin_class!r}: ModelAdmins of the back office derive from BackOfficeAdminMixin "
                "(TenantAdminMixin or PlatformAdminMixin): list parameters are checked there."
            )
        super().register(model_or_iterable, admin_class, **options)

    def get_urls(self) -> list[Any]:
        urls: list[URLPattern | Any] = [
            path("tenant/", self.admin_view(self.switch_tenant_view), name="switch_tenant"),
        ]
        for route, view, name in self._extra_views:
            urls.append(path(route, self.admin_view(view), name=name))
        # Without "view on site": no model here has a page outside the back office, so
        # /admin/r/<content type>/<id>/ could only read a row of any model named in the URL
        # (platform tables under the tenant role, another tenant's ids) to answer 404 anyway.
        # /admin/r/... now falls to the catch-all: 404, and nothing is read.
        inherited = [url for url in super().get_urls() if getattr(url, "name", None) != "view_on_site"]
        return urls + inherited

    def get_log_entries(self, request: HttpRequest) -> list[Any]:
        """No "recent actions": ``django_admin_log`` has no tenant column (history is AuditEvent)."""
        return []

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        context = super().each_context(request)
        membership = admin_membership(request)
        context.update(
            {
                "admin_memberships": getattr(request, "admin_memberships", []),
                "admin_membership": membership,
                "admin_tenant": membership.tenant if membership else None,
                "admin_role": membership.get_role_display() if membership else "",
                "can_write": has_tenant_role(request, Role.ACCOUNTANT),
                "is_owner": has_tenant_role(request, Role.OWNER),
                "switch_tenant_url": reverse(f"{self.name}:switch_tenant", current_app=self.name),
            }
        )
        return context

    # --- pages -----------------------------------------------------------------------------------

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        """The dashboard of the active tenant; the switcher when a tenant must be chosen first."""
        memberships = getattr(request, "admin_memberships", [])
        membership = admin_membership(request)
        if membership is None and memberships:
            return redirect(f"{self.name}:switch_tenant")
        cards: dict[str, Any] = {}
        if membership is not None:
            for provider in self._dashboard_providers:
                cards.update(provider(request))
        context = {"dashboard": cards, "has_dashboard": bool(cards), **(extra_context or {})}
        return super().index(request, extra_context=context)

    def switch_tenant_view(self, request: HttpRequest) -> HttpResponse:
        """Choose the active tenant among the user's memberships (runs outside any tenant)."""
        memberships: list[Membership] = getattr(request, "admin_memberships", [])
        index_url = reverse(f"{self.name}:index", current_app=self.name)
        if request.method == "POST":
            chosen = _membership_for(memberships, request.POST.get("tenant_id"))
            if chosen is None:
                messages.error(request, "You are not a member of that tenant.")
                return redirect(f"{self.name}:switch_tenant")
            request.session[ADMIN_TENANT_SESSION_KEY] = str(chosen.tenant_id)
            messages.success(
                request, f"You are now working in {chosen.tenant.name} as {chosen.get_role_display()}."
            )
            return HttpResponseRedirect(_next_page_in_new_tenant(request, index_url))
        active = request.session.get(ADMIN_TENANT_SESSION_KEY)
        context = {
            **self.each_context(request),
            "title": "Choose a tenant",
            "subtitle": None,
            "memberships": memberships,
            "active_tenant_id": active,
            "next": request.GET.get("next", ""),
        }
        request.current_app = self.name
        return TemplateResponse(request, "admin/tenant_switch.html", context)


def login_lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """What a refused back-office login gets (django-axes' ``AXES_LOCKOUT_CALLABLE``).

    429 with ``Retry-After`` and a page in the admin's frame that says what happened and what
    to do, instead of axes' one-line text; the password is not checked while the lock holds.
    """
    from axes.helpers import get_client_username, get_cool_off

    cool_off = get_cool_off(request)
    seconds = int(cool_off.total_seconds()) if cool_off else 0
    context = {
        **site.each_context(request),
        "title": "Too many failed logins",
        "subtitle": None,
        "username": get_client_username(request, credentials) or "",
        "minutes": max(1, -(-seconds // 60)) if seconds else None,
    }
    response = render(request, "admin/login_locked_out.html", context, status=429)
    if seconds:
        response["Retry-After"] = str(seconds)
    return response


def _next_page_in_new_tenant(request: HttpRequest, fallback: str) -> str:
    """``next`` unless it names an object: that id belongs to the previous tenant."""
    next_url = safe_next_url(request, fallback)
    try:
        match = resolve(urlsplit(next_url).path)
    except Resolver404:
        return fallback
    if "object_id" in match.kwargs or "match_id" in match.kwargs:
        return fallback
    return next_url


def _membership_for(memberships: Iterable[Membership], raw_id: Any) -> Membership | None:
    try:
        tenant_id = uuid.UUID(str(raw_id))
    except ValueError:
        return None
    return next((m for m in memberships if m.tenant_id == tenant_id), None)


site = TenantAdminSite(name="admin")


# --- the shared ModelAdmin behaviour for tenant tables ---------------------------------------------


def refused_delete_response(
    request: HttpRequest, model: Any, obj_display: str, page: str, *args: Any
) -> HttpResponse | None:
    """After a ``delete_model`` that refused (``request._admin_delete_error``): say why and go
    back to the model's ``page`` ("changelist" or "change"); None when the delete happened."""
    error = getattr(request, "_admin_delete_error", None)
    if not error:
        return None
    messages.error(request, f"{obj_display} was not deleted: {error}")
    opts = model._meta
    return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_{page}", args=args))


class TenantRoleAdminMixin:
    """Permissions from the membership role in the active tenant, not Django model permissions.

    Set ``view_role``/``add_role``/``change_role``/``delete_role`` and the ``allow_*`` flags on
    the admin. Without an active tenant every permission is False.
    """

    view_role: str = Role.VIEWER
    add_role: str = Role.ACCOUNTANT
    change_role: str = Role.ACCOUNTANT
    delete_role: str = Role.ACCOUNTANT
    allow_add = True
    allow_change = True
    allow_delete = True

    def has_module_permission(self, request: HttpRequest) -> bool:
        return has_tenant_role(request, self.view_role)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return has_tenant_role(request, self.view_role)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self.allow_add and has_tenant_role(request, self.add_role)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.allow_change and has_tenant_role(request, self.change_role)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.allow_delete and has_tenant_role(request, self.delete_role)

    def has_write_permission(self, request: HttpRequest) -> bool:
        """For actions declared with ``permissions=["write"]``: accountants and owners."""
        return has_tenant_role(request, Role.ACCOUNTANT)


def username_column(user_field: str, description: str) -> Callable[[Any, Any], str]:
    """A column with the username of the row's ``user_field`` ("—" for none), sortable.

    It reads the ``<user_field>_username`` annotation that ``username_fields`` asks for: the
    runtime role may read users' usernames only (tenants migrations), so a column annotates
    the name and never joins the user's row.
    """

    @admin.display(description=description, ordering=f"{user_field}_username")
    def column(model_admin: Any, obj: Any) -> str:
        return getattr(obj, f"{user_field}_username", None) or "—"

    return column


def related_link(field: str, description: str) -> Callable[[Any, Any], str]:
    """A column linking to the change page of the row's ``field`` (a foreign key); "—" for none."""

    @admin.display(description=description)
    def column(model_admin: Any, obj: Any) -> str:
        target_id = getattr(obj, f"{field}_id")
        if target_id is None:
            return "—"
        opts = obj._meta.get_field(field).related_model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[target_id])
        return format_html('<a href="{}">{}</a>', url, getattr(obj, field))

    return column


class TenantQuerysetAdminMixin:
    """Rows from the model's tenant-scoped manager, under RLS; no bulk delete.

    ``username_fields``: user foreign keys whose username each row carries as
    ``<field>_username`` (for ``username_column``).
    """

    model: type[models.Model]
    username_fields: tuple[str, ...] = ()

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        """The tenant-scoped manager (raises outside a tenant), under RLS."""
        manager = getattr(self.model, "objects")  # noqa: B009 - the scoped manager, by name
        queryset = manager.all()
        if self.username_fields:
            queryset = queryset.annotate(
                **{f"{field}_username": models.F(f"{field}__username") for field in self.username_fields}
            )
        ordering = self.get_ordering(request)  # type: ignore[attr-defined]
        if ordering:
            queryset = queryset.order_by(*ordering)
        return queryset

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        """No bulk delete: deletions go one by one through the services and their rules."""
        actions = super().get_actions(request)  # type: ignore[misc]
        actions.pop("delete_selected", None)
        return actions

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> tuple[list, dict, set, list]:
        """The objects themselves: the services decide what may be deleted (no model perms)."""
        objs = list(objs)
        names = {self.model._meta.verbose_name_plural: len(objs)}
        return [str(obj) for obj in objs], names, set(), []


class AuditHistoryAdminMixin:
    """The admin writes no history of its own: the services it calls record every change in
    the tenant's audit trail (see the module docstring), and an object's history page is that
    trail. Django's ``log_*`` hooks are therefore silent, for every admin of the site."""

    model: type[models.Model]

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> None:
        """Recorded by the service that created ``obj``."""

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> None:
        """Recorded by the service that changed ``obj``."""

    def log_deletions(self, request: HttpRequest, queryset: Any) -> None:
        """Recorded by the service that deleted each object."""

    def history_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        """The object's history is its audit trail."""
        url = reverse("admin:tenants_auditevent_changelist")
        return HttpResponseRedirect(f"{url}?object_id={object_id}")


class ServiceDeleteAdminMixin:
    """Deleting one object through ``perform_delete`` (the ledgers call their service there, which
    audits the deletion): a ``DomainError`` becomes a message and the page stays."""

    model: type[models.Model]

    def perform_delete(self, request: HttpRequest, obj: Any) -> None:
        """Delete one object through its service (which audits it): an admin that allows
        deleting must say which; a plain ``obj.delete()`` would leave no trace."""
        raise ImproperlyConfigured(f"{type(self).__name__} allows deleting but names no service")

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        try:
            self.perform_delete(request, obj)
        except DomainError as error:
            request._admin_delete_error = error.detail  # type: ignore[attr-defined]

    def response_delete(self, request: HttpRequest, obj_display: str, obj_id: Any) -> HttpResponse:
        refused = refused_delete_response(request, self.model, obj_display, "changelist")
        return refused or super().response_delete(request, obj_display, obj_id)  # type: ignore[misc]


class ListToolsAdminMixin:
    """The list page's extra buttons (``get_object_tools``) and its CSV export, filtered like the
    page (set ``export_filename`` and ``export_rows``)."""

    model: type[models.Model]

    change_list_template = "admin/recon_change_list.html"
    show_add_button = True
    export_filename = ""

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        context = {
            "object_tools": self.get_object_tools(request),
            "show_add_button": self.show_add_button,
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context=context)  # type: ignore[misc]

    def get_object_tools(self, request: HttpRequest) -> list[dict[str, str]]:
        """Extra buttons above the list: ``[{"url":…, "label":…, "method": "get"|"post"}]``."""
        tools = []
        if self.export_filename:
            opts = self.model._meta
            url = reverse(f"admin:{opts.app_label}_{opts.model_name}_export")
            query = request.GET.urlencode()
            tools.append(
                {"url": f"{url}?{query}" if query else url, "label": self.export_label, "method": "get"}
            )
        return tools

    export_label = "Export list (CSV)"

    def get_urls(self) -> list[Any]:
        urls = super().get_urls()  # type: ignore[misc]
        if not self.export_filename:
            return urls
        opts = self.model._meta
        export = path(
            "export/",
            self.admin_site.admin_view(self.export_view),  # type: ignore[attr-defined]
            name=f"{opts.app_label}_{opts.model_name}_export",
        )
        return [export, *urls]

    def export_queryset(self, request: HttpRequest, queryset: models.QuerySet) -> models.QuerySet:
        """Narrow what the list export contains (e.g. open items only)."""
        return queryset

    def export_rows(self, queryset: models.QuerySet) -> tuple[list[str], Iterable[list[Any]]]:
        raise NotImplementedError

    def export_view(self, request: HttpRequest) -> HttpResponse:
        """The filtered list (same filters and search as the page) as CSV."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)  # type: ignore[attr-defined]
        except InvalidListParameters as error:
            # The same refusal as the list page (tenants.admin_params).
            return self.invalid_list_response(request, error)
        queryset = self.export_queryset(request, changelist.get_queryset(request))
        return self._csv(queryset)

    @admin.action(description="Export selected rows to CSV", permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: models.QuerySet) -> HttpResponse:
        return self._csv(queryset)

    def _csv(self, queryset: models.QuerySet) -> HttpResponse:
        header, rows = self.export_rows(queryset)
        stamp = timezone.localdate().isoformat()
        return csv_response(f"{self.export_filename}-{stamp}.csv", header, rows)


class TenantAdminMixin(
    TenantRoleAdminMixin,
    TenantQuerysetAdminMixin,
    AuditHistoryAdminMixin,
    ServiceDeleteAdminMixin,
    ListToolsAdminMixin,
    BackOfficeAdminMixin,
):
    """The admin of a tenant table: the named mixins above, composed in one base.

    Roles decide permissions, rows come from the scoped manager, history is the audit trail,
    deletions go through the services, and lists get their buttons and CSV export. Without an
    active tenant every permission is False, and the site redirects tenant-scoped pages to the
    switcher. Each mixin defines its own hooks (none overrides another's), so their order only
    places them all before ``BackOfficeAdminMixin`` and ``ModelAdmin``, whose hooks they extend.
    """

    tenant_scoped = True


_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula gets a leading quote (CSV injection)."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_response(filename: str, header: list[str], rows: Iterable[list[Any]]) -> HttpResponse:
    """A complete CSV download, built inside the request (and so inside its tenant context)."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")  # lets spreadsheet programs detect UTF-8
    writer = csv.writer(response)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_csv_cell(value) for value in row])
    return response


def adopt(target: models.Model, source: models.Model) -> None:
    """Copy a row returned by a service into the object the admin is holding."""
    for field in source._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))
    target._state.adding = False
    target._state.db = source._state.db


class ReadOnlyTenantInline(admin.TabularInline):
    """A read-only inline for tenant rows (permissions from the role, never model perms)."""

    extra = 0
    can_delete = False
    show_change_link = False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return has_tenant_role(request, Role.VIEWER)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        return getattr(self.model, "objects").all()  # noqa: B009 - the scoped manager


class PlatformAdminMixin(BackOfficeAdminMixin):
    """Platform pages (tenants, users, groups): superusers only, outside any tenant."""

    tenant_scoped = False

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return bool(request.user.is_superuser)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)

    # What to do instead, when rows in tenants still refer to the object.
    delete_refused_hint = "records in tenants still refer to it."

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        """No bulk delete: one at a time, so a refusal can be explained."""
        actions = super().get_actions(request)  # type: ignore[misc]
        actions.pop("delete_selected", None)
        return actions

    @contextmanager
    def page_transaction(self) -> Iterator[None]:
        """The transaction of a platform page that may write: one connection per Citus node.

        A platform page writes a reference table (``tenants_tenant``, ``auth_user``) after
        statements that span the tenant tables' shards: the tenant page validates its member
        rows by id alone (Django's inline formset), a delete reads and clears references in
        tenant tables. Citus allows the write in that transaction only when every statement
        before it used one connection per node, so the mode is set before the page's first
        query; a no-op on plain PostgreSQL (``tenants.citus.use_one_connection_per_node``).
        Django opens the page's transaction itself (nested here: one transaction).
        """
        with transaction.atomic():
            use_one_connection_per_node(connection)
            yield

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: Any = None,
    ) -> HttpResponse:
        """Django's add and change pages (the user admin's add page ends here too)."""
        with self.page_transaction():
            return super().changeform_view(request, object_id, form_url, extra_context)  # type: ignore[misc]

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        with self.page_transaction():
            return super().delete_view(request, object_id, extra_context)  # type: ignore[misc]

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        """Delete, or explain why not: the tenant tables' references (and Django's deferred
        foreign keys, checked here rather than at commit) refuse it while rows refer to it."""
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                obj.delete()
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        except IntegrityError as error:
            if not is_foreign_key_violation(error):
                raise
            request._admin_delete_error = self.delete_refused_hint  # type: ignore[attr-defined]

    def response_delete(self, request: HttpRequest, obj_display: str, obj_id: Any) -> HttpResponse:
        refused = refused_delete_response(
            request,
            self.model,  # type: ignore[attr-defined]
            obj_display,
            "change",
            obj_id,
        )
        return refused or super().response_delete(request, obj_display, obj_id)  # type: ignore[misc]
