"""Back office for webhooks (owners): endpoints, events with every delivery attempt, resends.

The same services as the API: registering or changing an endpoint goes through
``endpoint_create`` / ``endpoint_update`` (their refusals show on the form), deleting through
``endpoint_delete``, "Rotate secret" through ``endpoint_rotate_secret``, "Resend" through
``event_resend``. A new or rotated secret is shown on the page that answers the action, once,
never stored in a message or shown again.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.cache import add_never_cache_headers
from django.utils.html import format_html, format_html_join

from common import limits
from common.errors import DomainError
from tenants.admin_site import ReadOnlyTenantInline, TenantAdminMixin, adopt, has_tenant_role, site
from tenants.models import Role

from . import selectors, services
from .models import Event, EventType, WebhookAttempt, WebhookDelivery, WebhookEndpoint


def _add_domain_errors(form: forms.BaseForm, error: DomainError) -> None:
    """A service's per-field errors on the form's fields, the rest at the top."""
    if not error.errors:
        form.add_error(None, error.detail)
        return
    for field, problems in error.errors.items():
        target = field if field in form.fields else None
        for problem in problems if isinstance(problems, list) else [problems]:
            form.add_error(target, problem if target else f"{field}: {problem}")


def _secret_page(
    request: HttpRequest, endpoint: WebhookEndpoint, secret: str, *, rotated: bool
) -> HttpResponse:
    response = TemplateResponse(
        request,
        "admin/events/webhook_secret.html",
        {
            **site.each_context(request),
            "title": "Signing secret",
            "endpoint": endpoint,
            "secret": secret,
            "rotated": rotated,
            "grace_hours": int(services.PREVIOUS_SECRET_GRACE.total_seconds() // 3600),
        },
    )
    add_never_cache_headers(response)  # the secret must not stay in any cache
    return response


class WebhookEndpointForm(forms.ModelForm):
    """An endpoint's fields, saved through the service while the form is validated."""

    event_types = forms.MultipleChoiceField(
        choices=EventType.choices, widget=forms.CheckboxSelectMultiple, help_text="The events to deliver."
    )
    actor: Any = None  # the owner; set by WebhookEndpointAdmin.get_form

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "event_types", "active"]
        widgets = {"url": forms.URLInput(attrs={"size": 80})}

    def _post_clean(self) -> None:
        super()._post_clean()
        if self.errors:
            return
        data = {name: self.cleaned_data[name] for name in self.Meta.fields}
        try:
            if self.instance._state.adding:
                self.service_result, self.secret = services.endpoint_create(**data, actor=self.actor)
            else:
                self.service_result = services.endpoint_update(
                    endpoint_id=self.instance.pk, changes=data, actor=self.actor
                )
        except DomainError as error:
            _add_domain_errors(self, error)


@admin.register(WebhookEndpoint, site=site)
class WebhookEndpointAdmin(TenantAdminMixin, admin.ModelAdmin):
    """Where the tenant's events are delivered (owners); the secret is shown once."""

    view_role = add_role = change_role = delete_role = Role.OWNER
    form = WebhookEndpointForm
    list_display = ["url", "description", "types_display", "active", "created_at"]
    list_filter = ["active"]
    search_fields = ["url", "description"]
    readonly_fields = ["created_at", "previous_secret_expires_at", "deliveries_link"]
    change_form_template = "admin/events/webhookendpoint/change_form.html"

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fields = ["url", "description", "event_types", "active"]
        return fields if obj is None else [*fields, *self.readonly_fields]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        return type("WebhookEndpointActorForm", (form,), {"actor": request.user})

    @admin.display(description="Event types")
    def types_display(self, obj: WebhookEndpoint) -> str:
        return ", ".join(obj.event_types)

    @admin.display(description="Deliveries")
    def deliveries_link(self, obj: WebhookEndpoint) -> str:
        url = reverse("admin:events_webhookdelivery_changelist") + f"?endpoint__id__exact={obj.pk}"
        return format_html('<a href="{}">Deliveries to this endpoint</a>', url)

    def save_model(self, request: HttpRequest, obj: WebhookEndpoint, form: Any, change: bool) -> None:
        adopt(obj, form.service_result)
        request._webhook_secret = getattr(form, "secret", None)  # type: ignore[attr-defined]

    def perform_delete(self, request: HttpRequest, obj: Any) -> None:
        services.endpoint_delete(endpoint_id=obj.pk, actor=request.user)  # type: ignore[arg-type]

    def response_add(self, request: HttpRequest, obj: Any, post_url_continue: Any = None) -> HttpResponse:
        secret = getattr(request, "_webhook_secret", None)
        if not secret:
            return super().response_add(request, obj, post_url_continue)
        return _secret_page(request, obj, secret, rotated=False)

    def get_urls(self) -> list[Any]:
        rotate = path(
            "<path:object_id>/rotate-secret/",
            self.admin_site.admin_view(self.rotate_secret_view),
            name="events_webhookendpoint_rotate_secret",
        )
        return [rotate, *super().get_urls()]

    def rotate_secret_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """POST: a new secret for the endpoint, shown on the answer; the old one signs 24 h more."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not has_tenant_role(request, Role.OWNER):
            raise PermissionDenied
        try:
            endpoint_id = uuid.UUID(object_id)
        except ValueError as error:
            raise Http404("No such webhook endpoint.") from error
        try:
            endpoint, secret = services.endpoint_rotate_secret(endpoint_id=endpoint_id, actor=request.user)  # type: ignore[arg-type]
        except DomainError as error:
            raise Http404(error.detail) from error
        return _secret_page(request, endpoint, secret, rotated=True)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> Any:
        context = {"can_rotate": has_tenant_role(request, Role.OWNER), **(extra_context or {})}
        return super().change_view(request, object_id, form_url, extra_context=context)


def _attempts_table(delivery: WebhookDelivery) -> str:
    rows = [
        (
            attempt.number,
            f"{attempt.created_at:%Y-%m-%d %H:%M:%S}",
            attempt.response_code if attempt.response_code is not None else "—",
            f"{attempt.latency_ms} ms",
            attempt.error or ("OK" if attempt.succeeded else ""),
        )
        for attempt in delivery.attempts.all()
    ]
    if not rows:
        return format_html("<em>{}</em>", "No attempt yet.")
    return format_html(
        "<table class='recon-breakdown'><tr><th>#</th><th>At</th><th>Response</th><th>Latency</th>"
        "<th>Error</th></tr>{}</table>",
        format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
    )


class WebhookAttemptInline(ReadOnlyTenantInline):
    model = WebhookAttempt
    fields = [
        "number",
        "created_at",
        "url",
        "response_code",
        "latency_ms",
        "succeeded",
        "error",
        "response_excerpt",
    ]
    readonly_fields = fields
    ordering = ["number"]


@admin.register(Event, site=site)
class EventAdmin(TenantAdminMixin, admin.ModelAdmin):
    """Events recorded for the tenant's webhooks, each with its deliveries and every attempt."""

    view_role = Role.OWNER
    allow_add = allow_change = allow_delete = False
    list_display = ["created_at", "type", "object_type", "object_short", "deliveries_summary"]
    list_filter = ["type", ("created_at", admin.DateFieldListFilter)]
    date_hierarchy = "created_at"
    fields = ["created_at", "type", "object_type", "object_id", "data_view", "deliveries_view"]
    readonly_fields = fields
    actions = ["resend"]
    list_per_page = 50

    def get_queryset(self, request: HttpRequest) -> QuerySet[Event]:
        events = selectors.event_list()
        ordering = self.get_ordering(request)
        return events.order_by(*ordering) if ordering else events

    def get_object(self, request: HttpRequest, object_id: str, from_field: Any = None) -> Any:
        try:
            return selectors.event_get(event_id=uuid.UUID(str(object_id)))
        except (ValueError, DomainError):
            return None

    @admin.display(description="Object")
    def object_short(self, obj: Event) -> str:
        return str(obj.object_id)[:8] if obj.object_id else "—"

    @admin.display(description="Deliveries")
    def deliveries_summary(self, obj: Event) -> str:
        counts = [
            (getattr(obj, f"deliveries_{status}", 0), status) for status in ("succeeded", "pending", "failed")
        ]
        shown = [(count, status) for count, status in counts if count]
        return ", ".join(f"{count} {status}" for count, status in shown) or "—"

    @admin.display(description="Data")
    def data_view(self, obj: Event) -> str:
        text = json.dumps(obj.data, indent=2, sort_keys=True, ensure_ascii=False)
        return format_html("<pre class='recon-json'>{}</pre>", text[:200_000])

    @admin.display(description="Deliveries and attempts")
    def deliveries_view(self, obj: Event) -> str:
        deliveries = list(obj.deliveries.all())
        if not deliveries:
            return format_html("<em>{}</em>", "No endpoint receives this event type.")
        return format_html_join(
            "",
            "<div class='recon-delivery'><p><strong>{}</strong> to {} — {} attempt(s){}</p>{}</div>",
            (
                (
                    delivery.get_status_display(),
                    delivery.endpoint.url,
                    delivery.attempt_count,
                    f", next at {delivery.next_attempt_at:%Y-%m-%d %H:%M:%S}"
                    if delivery.status == "pending" and delivery.next_attempt_at
                    else "",
                    _attempts_table(delivery),
                )
                for delivery in deliveries
            ),
        )

    def has_resend_permission(self, request: HttpRequest) -> bool:
        return has_tenant_role(request, Role.OWNER)

    @admin.action(description="Resend selected events to their endpoints", permissions=["resend"])
    def resend(self, request: HttpRequest, queryset: QuerySet[Event]) -> None:
        sent, refused = 0, []
        for event in queryset[: limits.WEBHOOK_ENDPOINTS_PER_TENANT * 5]:
            try:
                sent += len(services.event_resend(event_id=event.pk, actor=request.user))  # type: ignore[arg-type]
            except DomainError as error:
                refused.append(error.detail)
        if sent:
            messages.success(request, f"{sent} delivery(ies) queued.")
        for detail in refused[:5]:
            messages.warning(request, detail)


@admin.register(WebhookDelivery, site=site)
class WebhookDeliveryAdmin(TenantAdminMixin, admin.ModelAdmin):
    """Every delivery of every event to every endpoint, with its attempts (read only)."""

    view_role = Role.OWNER
    allow_add = allow_change = allow_delete = False
    list_display = [
        "created_at",
        "event_type",
        "endpoint_url",
        "status",
        "attempt_count",
        "last_response_code",
        "next_attempt_at",
    ]
    list_filter = ["status", "endpoint", ("created_at", admin.DateFieldListFilter)]
    fields = [
        "event_link",
        "endpoint_url",
        "status",
        "attempt_count",
        "last_attempt_at",
        "last_response_code",
        "next_attempt_at",
        "finished_at",
        "created_at",
    ]
    readonly_fields = fields
    inlines = [WebhookAttemptInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookDelivery]:
        return super().get_queryset(request).select_related("event", "endpoint").defer("event__data")

    @admin.display(description="Event", ordering="event__type")
    def event_type(self, obj: WebhookDelivery) -> str:
        return obj.event.type

    @admin.display(description="Event")
    def event_link(self, obj: WebhookDelivery) -> str:
        url = reverse("admin:events_event_change", args=[obj.event_id])
        return format_html(
            '<a href="{}">{} ({:%Y-%m-%d %H:%M:%S})</a>', url, obj.event.type, obj.event.created_at
        )

    @admin.display(description="Endpoint", ordering="endpoint__url")
    def endpoint_url(self, obj: WebhookDelivery) -> str:
        return obj.endpoint.url
