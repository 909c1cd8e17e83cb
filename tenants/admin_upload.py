"""The back office's file uploads (bank statements, remittance advices): one page, one cycle.

A list with an upload gets a button above it, and its add page becomes the upload form
(``admin/upload.html``; the app's template extends it with its own introduction). A post runs
the app's import through the same idempotency as the API (a key per form, so a double submit
is recognised and answered with what the first one did); a refused file comes back on the
page with every reason and nothing imported, and the form gets a fresh key for the corrected
file, keeping the other choices.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse

from api.idempotency import (
    IdempotentResponse,
    canonical_json,
    request_fingerprint,
    run_idempotent,
    validate_key,
)
from common.errors import DomainError

from .admin_site import TenantAdminMixin


def rejection_lines(errors: Mapping[str, Any] | None) -> list[str]:
    """A refusal's field errors as lines for the page (``field: reason``)."""
    return [
        f"{location}: {problem}"
        for location, problems in (errors or {}).items()
        for problem in (problems if isinstance(problems, list) else [problems])
    ]


class UploadAdminMixin(TenantAdminMixin):
    """A tenant admin whose list has an upload button and whose add page is the upload (see the
    module); it extends the named mixins' hooks (``get_object_tools``, ``add_view``) in one place.

    Set ``upload_form_class`` (a form with a ``file`` and a hidden ``idempotency_key``),
    ``upload_template`` (extending ``admin/upload.html``), the words (``upload_button``,
    ``upload_title``, ``upload_crumb``, ``upload_submit``) and implement ``upload`` (the
    import, through ``upload_outcome``).
    """

    upload_form_class: type[forms.Form]
    upload_template = "admin/upload.html"
    upload_button = ""
    upload_title = ""
    upload_crumb = ""
    upload_submit = ""

    def get_object_tools(self, request: HttpRequest) -> list[dict[str, str]]:
        tools = super().get_object_tools(request)
        if self.has_add_permission(request):
            opts = self.opts  # type: ignore[attr-defined]
            url = reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
            tools.append({"url": url, "label": self.upload_button, "method": "get", "primary": "1"})
        return tools

    def upload_context(self, request: HttpRequest) -> dict[str, Any]:
        """What the app's introduction shows besides the form (e.g. the formats it reads)."""
        return {}

    def upload(self, request: HttpRequest, form: Any) -> HttpResponse | list[str]:
        """Import the valid ``form``: the page to go to, or the reasons the file was refused."""
        raise NotImplementedError

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> HttpResponse:
        """The upload: the same service, idempotency and duplicate rules as the API."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        rejected: list[str] = []
        if request.method == "POST":
            form = self.upload_form_class(request.POST, request.FILES)
            if form.is_valid():
                outcome = self.upload(request, form)
                if isinstance(outcome, HttpResponse):
                    return outcome
                rejected = outcome
                # A fresh key: the corrected file is a new request.
                form = self.upload_form_class(
                    initial={**form.cleaned_data, "idempotency_key": uuid.uuid4().hex, "file": None}
                )
        else:
            form = self.upload_form_class(initial={"idempotency_key": uuid.uuid4().hex})
        context = {
            **self.admin_site.each_context(request),  # type: ignore[attr-defined]
            "title": self.upload_title,
            "subtitle": None,
            "opts": self.opts,  # type: ignore[attr-defined]
            "form": form,
            "rejected": rejected,
            "upload_crumb": self.upload_crumb,
            "upload_submit": self.upload_submit,
            "has_view_permission": self.has_view_permission(request),
            **self.upload_context(request),
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name  # type: ignore[attr-defined]
        return TemplateResponse(request, self.upload_template, context)

    def upload_outcome(
        self,
        request: HttpRequest,
        form: forms.Form,
        *,
        name: str,
        request_fields: dict[str, Any],
        action: Callable[[], tuple[int, Any]],
    ) -> IdempotentResponse | list[str]:
        """Run ``action`` once per idempotency key (``request_fields`` say what was sent): its
        outcome, or the reasons the file was refused (nothing imported; the message says so)."""
        fingerprint = request_fingerprint("POST", request.path, canonical_json(request_fields))
        try:
            return run_idempotent(
                key=validate_key(form.cleaned_data["idempotency_key"]), fingerprint=fingerprint, action=action
            )
        except DomainError as error:
            messages.error(request, f"Nothing was imported from {name}. {error.detail}")
            return rejection_lines(error.errors) or [error.detail]
