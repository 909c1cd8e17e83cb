"""What the back office does with the parameters a client puts in a list URL.

Lists take filters, search, ordering, paging and a date drill-down from the query string; a
hand-made URL can carry anything. Django's own answers are not good enough here:

* a NUL byte reaches PostgreSQL, which refuses it in text (``DataError``: a 500, and inside a
  tenant transaction every later query of the request fails too);
* a drill-down to year 9999 (or 9999-12, 9999-12-31) overflows Python's dates while Django
  computes the end of the period, a year too large for C overflows before that, and a year
  lookup outside 1..9999 (``?due_date__year=0``) fails while the query is compiled: 500s;
* malformed or unknown filters make Django redirect to the unfiltered list (``?e=1``),
  silently dropping every filter, so a list that looks filtered may not be.

Every ModelAdmin of the back office therefore refuses such a list with **400** and a page in
the admin frame that says which parameter is wrong and links to the unfiltered list; nothing is
queried and nothing is written; the same goes for a bulk action on ids that are not ids of the
list's model. A search for text containing NUL finds nothing (no stored text
can contain one), which is also what autocomplete answers.

``BackOfficeAdminMixin`` is the one home of this rule; ``TenantAdminSite.register`` refuses a
ModelAdmin without it. It also switches "view on site" off: nothing the back office shows has a
page outside it (see ``TenantAdminSite.get_urls``), and makes every decimal on its forms exact
(``tenants.forms.ExactDecimalFormField``).
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import FieldDoesNotExist, FieldError, ValidationError
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.template.response import TemplateResponse

from .forms import ExactDecimalFormField

# Longest parameter value a list accepts (searches included): far above any real filter or
# search, small enough that nothing unbounded reaches the database.
MAX_LIST_PARAMETER_LENGTH = 1000


class InvalidListParameters(Exception):
    """A list URL the back office cannot honour; answered with 400 (not Django's ``?e=1``)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def list_parameter_problem(params: QueryDict) -> str | None:
    """Why these query parameters cannot reach the database, or None when they can."""
    for key, values in params.lists():
        if "\x00" in key:
            return "A parameter name contains a NUL byte."
        for value in values:
            if "\x00" in value:
                return f"The value of “{key[:80]}” contains a NUL byte."
            if len(value) > MAX_LIST_PARAMETER_LENGTH:
                return f"The value of “{key[:80]}” is longer than {MAX_LIST_PARAMETER_LENGTH} characters."
    return None


class CheckedChangeList(ChangeList):
    """Django's change list, refusing parameters that would otherwise end in a server error."""

    def __init__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        problem = list_parameter_problem(request.GET)
        if problem:
            raise InvalidListParameters(problem)
        try:
            super().__init__(request, *args, **kwargs)
        except IncorrectLookupParameters as error:
            raise InvalidListParameters(_describe(error)) from error
        except (ValueError, OverflowError) as error:
            # A date beyond what Python's dates hold: the drill-down's period end after
            # 9999-12-31, or a year lookup (?due_date__year=0) whose bounds Django computes
            # while compiling the query. Raised before any SQL is sent, so nothing is spoilt.
            raise InvalidListParameters(
                f"A date in the link is outside the years 1 to 9999 ({error})."
            ) from error


def _describe(error: IncorrectLookupParameters) -> str:
    """Django's reason (a field's validation message, or the lookup it could not resolve)."""
    cause = error.__cause__ or (error.args[0] if error.args else None)
    if isinstance(cause, FieldError | FieldDoesNotExist):
        return "The link filters by something this list has no filter for."
    reasons = getattr(cause, "messages", None) or ([str(cause)] if cause else [])
    detail = "; ".join(str(reason) for reason in reasons)
    return "A filter, page or date in the link is not valid" + (f": {detail}" if detail else ".")


class BackOfficeAdminMixin:
    """The base of every ModelAdmin of the back office (platform and tenant pages alike).

    Its forms read every decimal (amounts, tolerances, thresholds) exactly, by the financial
    kernel's rule (``ExactDecimalFormField``): ``1e2`` is refused on the form, not saved as 100.
    """

    view_on_site = False
    formfield_overrides: dict[Any, dict[str, Any]] = {
        models.DecimalField: {"form_class": ExactDecimalFormField}
    }

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return CheckedChangeList

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        try:
            return super().changelist_view(request, extra_context=extra_context)  # type: ignore[misc]
        except InvalidListParameters as error:
            return self.invalid_list_response(request, error)

    def invalid_list_response(self, request: HttpRequest, error: InvalidListParameters) -> HttpResponse:
        """400 in the admin frame: what is wrong, and a link to the unfiltered list."""
        opts = self.model._meta  # type: ignore[attr-defined]
        context = {
            **self.admin_site.each_context(request),  # type: ignore[attr-defined]
            "title": "This list cannot be shown",
            "subtitle": None,
            "opts": opts,
            "detail": error.detail,
            "list_url": request.path,
        }
        return TemplateResponse(request, "admin/recon_invalid_list.html", context, status=400)

    def response_action(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """Selected rows whose ids are not ids of this model: 400 (Django would fail on them)."""
        primary_key = self.model._meta.pk  # type: ignore[attr-defined]
        for value in request.POST.getlist(ACTION_CHECKBOX_NAME):
            try:
                if "\x00" in value:
                    raise ValidationError("NUL")
                primary_key.to_python(value)
            except ValidationError as error:
                raise InvalidListParameters("The selected rows are not rows of this list.") from error
        return super().response_action(request, queryset)  # type: ignore[misc]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        """No stored text contains NUL (PostgreSQL refuses it), so such a search finds nothing."""
        if "\x00" in search_term:
            return queryset.none(), False
        return super().get_search_results(request, queryset, search_term)  # type: ignore[misc]
