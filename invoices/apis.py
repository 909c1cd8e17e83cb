"""Invoices and vendors API under ``/v1/tenants/{tenant_id}/``: thin views over services/selectors.

Serializers only check shapes and types; amounts are parsed exactly, per currency, by the
services. The tenant is the one the middleware entered from the URL: the scoped managers and RLS
make other tenants' ids indistinguishable from unknown ones (404).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django.db.models import Case, F, Func, Q, TextField, Value, When
from django.db.models.functions import Cast, Concat
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from api.parsers import json_object_body
from api.problems import PROBLEM_400, PROBLEM_403, PROBLEM_404
from api.serializers import (
    AMOUNT_INPUT_SCHEMA,
    AmountFilterField,
    MoneyField,
    RowRenderer,
    StrictInputSerializer,
)
from api.views import TenantAPIView, TenantDetailAPIView, TenantListAPIView
from common import limits
from common.finance import AmountError, MoneyError, exact_decimal, normalize_currency
from common.finance.terms import MAX_TERM_DAYS, PAYMENT_TERMS_MAX_CHARS

from . import selectors, services
from .models import EvidenceKind, InvoiceKind, InvoiceStatus

CURSOR_NOTE = (
    "Cursor-based pagination, newest first: follow the opaque `next`/`previous` links (or pass "
    "`cursor`); `page_size` up to 500. Pages stay stable while rows are added."
)


@extend_schema_field(AMOUNT_INPUT_SCHEMA)
class AmountInputField(serializers.Field):
    """A JSON number (parsed as Decimal) or a numeric string, read exactly (``exact_decimal``).

    Exponents, floats and values beyond the storage precision are refused here, with the
    field's name; the decimal places the currency allows are checked by the service, since the
    currency may come from another field or the tenant settings.
    """

    default_error_messages = {"invalid": "Send the amount as a JSON number or a numeric string."}

    def to_internal_value(self, data: Any) -> Decimal:
        if isinstance(data, bool) or not isinstance(data, str | int | Decimal):
            self.fail("invalid")
        try:
            return exact_decimal(data)
        except AmountError as error:
            raise serializers.ValidationError(f"Not an exact amount: {error}.") from None

    def to_representation(self, value: Any) -> str:
        return str(value)


class PercentInputField(AmountInputField):
    """A percent read exactly like an amount (JSON number or numeric string, no float, no
    exponent); its bounds and scale are the payment-terms rules (``common.finance.terms``)."""

    default_error_messages = {"invalid": "Send the percent as a JSON number or a numeric string."}

    def to_internal_value(self, data: Any) -> Decimal:
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError:
            raise serializers.ValidationError("Not an exact percent: send a number like 2 or 2.5.") from None


class PaymentTermsInput(serializers.Serializer):
    """Payment-terms input fields, shared by invoice create and update (inherited)."""

    discount_percent = PercentInputField(
        required=False, allow_null=True, help_text="Early-payment discount in percent (0 < p < 100)."
    )
    discount_days = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_TERM_DAYS,
        help_text="Days from the issue date within which the discount may be taken.",
    )
    net_days = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_TERM_DAYS,
        help_text="Days from the issue date within which the full amount is due.",
    )
    payment_terms = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, max_length=PAYMENT_TERMS_MAX_CHARS,
        help_text="The terms as printed, instead of the three fields: '2/10 net 30', '2 % Skonto "
        "within 14 days, net 30', 'net 30'; anything else is refused (400). Empty or null removes them.",
    )  # fmt: skip


# --- vendors -----------------------------------------------------------------------------------


class VendorOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    iban = serializers.CharField()
    account_reference = serializers.CharField()
    aliases = serializers.ListField(child=serializers.CharField())
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


VENDOR_ROWS = RowRenderer(VendorOutputSerializer)


class VendorListCreateApi(TenantListAPIView):
    """``GET/POST /v1/tenants/{tenant_id}/vendors``."""


    class FilterSerializer(serializers.Serializer):
        class Meta:
            ref_name = "VendorFilter"

        q = serializers.CharField(
            required=False,
            max_length=limits.SEARCH,
            help_text="Case-insensitive part of the name or an alias.",
        )

    class InputSerializer(StrictInputSerializer):
        class Meta:
            ref_name = "VendorCreate"

        name = serializers.CharField(max_length=limits.NAME)
        iban = serializers.CharField(
            required=False,
            allow_blank=True,
            max_length=limits.ACCOUNT,
            help_text="Spaces allowed; stored compact.",
        )
        account_reference = serializers.CharField(required=False, allow_blank=True, max_length=limits.ACCOUNT)
        aliases = serializers.ListField(
            child=serializers.CharField(max_length=limits.NAME, allow_blank=True),
            required=False,
            max_length=limits.ALIASES_PER_VENDOR,
        )

    filter_serializer_class = FilterSerializer
    output_serializer_class = VendorOutputSerializer
    rows = VENDOR_ROWS
    list_schema = {
        "tags": ["vendors"],
        "summary": "List vendors",
        "description": CURSOR_NOTE,
        "responses": {400: PROBLEM_400},
    }
    selector = staticmethod(selectors.vendor_list)

    @extend_schema(
        tags=["vendors"],
        summary="Create a vendor",
        request=InputSerializer,
        responses={
            201: VendorOutputSerializer,
            400: PROBLEM_400,
            403: PROBLEM_403,
            409: OpenApiResponse(description="A vendor with this name exists."),
        },
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=json_object_body(request))
        data.is_valid(raise_exception=True)
        vendor = services.vendor_create(**data.validated_data, actor=request.user)
        return Response(VendorOutputSerializer(vendor).data, status=status.HTTP_201_CREATED)


class VendorDetailApi(TenantDetailAPIView):
    """``GET/PATCH/DELETE /v1/tenants/{tenant_id}/vendors/{vendor_id}``."""

    class InputSerializer(StrictInputSerializer):
        class Meta:
            ref_name = "VendorUpdate"

        name = serializers.CharField(required=False, max_length=limits.NAME)
        iban = serializers.CharField(required=False, allow_blank=True, max_length=limits.ACCOUNT)
        account_reference = serializers.CharField(required=False, allow_blank=True, max_length=limits.ACCOUNT)
        aliases = serializers.ListField(
            child=serializers.CharField(max_length=limits.NAME, allow_blank=True),
            required=False,
            max_length=limits.ALIASES_PER_VENDOR,
        )

    output_serializer_class = VendorOutputSerializer
    detail_schema = {"tags": ["vendors"], "summary": "Get a vendor", "responses": {404: PROBLEM_404}}
    selector = staticmethod(selectors.vendor_get)

    @extend_schema(
        tags=["vendors"],
        summary="Change a vendor",
        request=InputSerializer,
        responses={
            200: VendorOutputSerializer,
            400: PROBLEM_400,
            403: PROBLEM_403,
            404: PROBLEM_404,
            409: OpenApiResponse(description="Another vendor has this name."),
        },
    )
    def patch(self, request: Request, vendor_id: uuid.UUID) -> Response:
        data = self.InputSerializer(data=json_object_body(request))
        data.is_valid(raise_exception=True)
        vendor = services.vendor_update(vendor_id=vendor_id, data=data.validated_data, actor=request.user)
        return Response(VendorOutputSerializer(vendor).data)

    @extend_schema(
        tags=["vendors"],
        summary="Delete a vendor without invoices",
        responses={
            204: None,
            403: PROBLEM_403,
            404: PROBLEM_404,
            409: OpenApiResponse(description="The vendor still has invoices."),
        },
    )
    def delete(self, request: Request, vendor_id: uuid.UUID) -> Response:
        services.vendor_delete(vendor_id=vendor_id, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LearnedEvidenceOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    vendor_id = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=EvidenceKind.choices, help_text="alias (payer name) or account")
    value = serializers.CharField(help_text="As the bank statement showed it")
    normalized_value = serializers.CharField(help_text="What the engine compares")
    taught_by = serializers.ListField(
        child=serializers.UUIDField(),
        help_text="The confirmed matches that taught it (it goes when all are undone)",
    )
    created_by_id = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()


class VendorLearnedEvidenceListApi(TenantListAPIView):
    """``GET /v1/tenants/{tenant_id}/vendors/{vendor_id}/learned-evidence``: the payer names and
    accounts the team taught the engine for this vendor by confirming matches."""

    output_serializer_class = LearnedEvidenceOutputSerializer
    list_schema = {
        "tags": ["vendors"],
        "summary": "Learned payer names and accounts of a vendor",
        "description": CURSOR_NOTE,
        "responses": {404: PROBLEM_404},
    }
    selector = staticmethod(selectors.vendor_evidence_list)


class VendorLearnedEvidenceDetailApi(TenantAPIView):
    """``DELETE /v1/tenants/{tenant_id}/vendors/{vendor_id}/learned-evidence/{evidence_id}``."""

    @extend_schema(
        tags=["vendors"],
        summary="Remove a learned payer name or account (the next run no longer counts it)",
        responses={204: None, 403: PROBLEM_403, 404: PROBLEM_404},
    )
    def delete(self, request: Request, vendor_id: uuid.UUID, evidence_id: uuid.UUID) -> Response:
        services.vendor_evidence_delete(vendor_id=vendor_id, evidence_id=evidence_id, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- invoices ----------------------------------------------------------------------------------


class InvoiceOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    number = serializers.CharField()
    vendor_id = serializers.UUIDField(allow_null=True)
    vendor_name = serializers.CharField(source="vendor.name", allow_null=True)
    kind = serializers.ChoiceField(choices=InvoiceKind.choices)
    amount = MoneyField("amount")
    currency = serializers.CharField()
    description = serializers.CharField()
    issue_date = serializers.DateField(allow_null=True)
    due_date = serializers.DateField(allow_null=True)
    status = serializers.ChoiceField(choices=InvoiceStatus.choices)
    amount_paid = MoneyField(
        "amount_paid", help_text="Settled by confirmed matches: payments, absorbed fees and write-offs"
    )
    outstanding_amount = MoneyField("outstanding", help_text="amount - amount_paid")
    structured_reference = serializers.CharField()
    amount_written_off = MoneyField(
        "amount_written_off", help_text="The part of amount_paid written off at confirmations (tenant policy)"
    )
    discount_percent = serializers.CharField(allow_null=True, help_text="Early-payment discount, percent.")
    discount_days = serializers.IntegerField(allow_null=True)
    net_days = serializers.IntegerField(allow_null=True)
    payment_terms = serializers.CharField(help_text='The terms as text ("2/10 net 30"), "" for none.')
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


def _payment_terms_text() -> Concat:
    """``Invoice.payment_terms`` (``format_payment_terms``) as SQL, for list rows: "2/10 net 30",
    "2/10", "net 30" or ""; trim_scale prints the percent as Python does (2.50 -> "2.5")."""
    percent = Cast(Func(F("discount_percent"), function="trim_scale"), TextField())
    discount = Concat(percent, Value("/"), Cast(F("discount_days"), TextField()), output_field=TextField())
    net = Concat(Value("net "), Cast(F("net_days"), TextField()), output_field=TextField())
    has_discount, has_net = Q(discount_percent__isnull=False), Q(net_days__isnull=False)
    return Concat(
        Case(When(has_discount, then=discount), default=Value(""), output_field=TextField()),
        Case(When(has_discount & has_net, then=Value(" ")), default=Value(""), output_field=TextField()),
        Case(When(has_net, then=net), default=Value(""), output_field=TextField()),
        output_field=TextField(),
    )


# ``outstanding`` is a model property (amount - amount_paid at the minor unit); rows read the
# generated column holding the same difference. ``payment_terms`` likewise.
INVOICE_ROWS = RowRenderer(
    InvoiceOutputSerializer, outstanding=F("outstanding_amount"), payment_terms=_payment_terms_text()
)


class InvoiceListCreateApi(TenantListAPIView):
    """``GET/POST /v1/tenants/{tenant_id}/invoices``."""


    class FilterSerializer(serializers.Serializer):
        class Meta:
            ref_name = "InvoiceFilter"

        status = serializers.CharField(
            required=False,
            source="statuses",
            help_text=f"One status or several, comma-separated: {', '.join(InvoiceStatus.values)}.",
        )
        vendor_id = serializers.UUIDField(required=False)
        currency = serializers.CharField(required=False, help_text="ISO 4217 code.")
        min_amount = AmountFilterField(help_text="Amount at least (inclusive).")
        max_amount = AmountFilterField(help_text="Amount at most (inclusive).")
        issued_after = serializers.DateField(required=False, help_text="Issue date on or after.")
        issued_before = serializers.DateField(required=False, help_text="Issue date on or before.")
        q = serializers.CharField(
            required=False,
            max_length=limits.SEARCH,
            help_text="Case-insensitive part of the number or description.",
        )

        def validate_status(self, value: str) -> list[str]:
            statuses = [part.strip() for part in value.split(",") if part.strip()]
            unknown = sorted(set(statuses) - set(InvoiceStatus.values))
            if unknown:
                raise serializers.ValidationError(
                    f"Unknown status {', '.join(unknown)}; choose from {', '.join(InvoiceStatus.values)}."
                )
            return statuses

        def validate_currency(self, value: str) -> str:
            try:
                return normalize_currency(value)
            except MoneyError as error:
                raise serializers.ValidationError(str(error)) from error

    class InputSerializer(StrictInputSerializer, PaymentTermsInput):
        class Meta:
            ref_name = "InvoiceCreate"

        amount = AmountInputField()
        description = serializers.CharField(max_length=limits.DESCRIPTION)
        number = serializers.CharField(required=False, allow_blank=True, max_length=limits.INVOICE_NUMBER)
        currency = serializers.CharField(
            required=False, help_text="ISO 4217; defaults to the tenant's default currency."
        )
        vendor_id = serializers.UUIDField(required=False, allow_null=True)
        vendor_name = serializers.CharField(
            required=False, max_length=limits.NAME, help_text="An existing vendor's name, or a new vendor."
        )
        issue_date = serializers.DateField(required=False, allow_null=True)
        due_date = serializers.DateField(required=False, allow_null=True)
        kind = serializers.ChoiceField(choices=InvoiceKind.choices, required=False)
        structured_reference = serializers.CharField(
            required=False, allow_blank=True, max_length=limits.INVOICE_REFERENCE
        )

    filter_serializer_class = FilterSerializer
    output_serializer_class = InvoiceOutputSerializer
    rows = INVOICE_ROWS
    list_schema = {
        "tags": ["invoices"],
        "summary": "List invoices",
        "description": CURSOR_NOTE,
        "responses": {400: PROBLEM_400},
    }
    selector = staticmethod(selectors.invoice_list)

    @extend_schema(
        tags=["invoices"],
        summary="Create an invoice",
        request=InputSerializer,
        responses={
            201: InvoiceOutputSerializer,
            400: PROBLEM_400,
            403: PROBLEM_403,
            409: OpenApiResponse(description="The number is already used in this tenant."),
        },
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=json_object_body(request))
        data.is_valid(raise_exception=True)
        invoice = services.invoice_create(**data.validated_data, actor=request.user)
        return Response(InvoiceOutputSerializer(invoice).data, status=status.HTTP_201_CREATED)


class InvoiceDetailApi(TenantDetailAPIView):
    """``GET/PATCH/DELETE /v1/tenants/{tenant_id}/invoices/{invoice_id}``."""

    class InputSerializer(StrictInputSerializer, PaymentTermsInput):
        class Meta:
            ref_name = "InvoiceUpdate"

        number = serializers.CharField(required=False, allow_blank=True, max_length=limits.INVOICE_NUMBER)
        vendor_id = serializers.UUIDField(required=False, allow_null=True, help_text="null detaches.")
        vendor_name = serializers.CharField(required=False, max_length=limits.NAME)
        description = serializers.CharField(required=False, allow_blank=True)
        issue_date = serializers.DateField(required=False, allow_null=True)
        due_date = serializers.DateField(required=False, allow_null=True)
        structured_reference = serializers.CharField(
            required=False, allow_blank=True, max_length=limits.INVOICE_REFERENCE
        )
        amount = AmountInputField(required=False, help_text="Only while nothing is paid.")
        currency = serializers.CharField(required=False, help_text="Only while nothing is paid.")
        status = serializers.ChoiceField(
            choices=[(InvoiceStatus.VOID.value, InvoiceStatus.VOID.label)],
            required=False,
            help_text="Only void can be set (from any other status).",
        )

    output_serializer_class = InvoiceOutputSerializer
    detail_schema = {"tags": ["invoices"], "summary": "Get an invoice", "responses": {404: PROBLEM_404}}
    selector = staticmethod(selectors.invoice_get)

    @extend_schema(
        tags=["invoices"],
        summary="Change or void an invoice",
        request=InputSerializer,
        responses={
            200: InvoiceOutputSerializer,
            400: PROBLEM_400,
            403: PROBLEM_403,
            404: PROBLEM_404,
            409: OpenApiResponse(
                description="Number taken, amount/currency changed after payments, or already void."
            ),
        },
    )
    def patch(self, request: Request, invoice_id: uuid.UUID) -> Response:
        data = self.InputSerializer(data=json_object_body(request))
        data.is_valid(raise_exception=True)
        invoice = services.invoice_update(invoice_id=invoice_id, data=data.validated_data, actor=request.user)
        return Response(InvoiceOutputSerializer(invoice).data)

    @extend_schema(
        tags=["invoices"],
        summary="Delete an unpaid, unmatched invoice",
        responses={
            204: None,
            403: PROBLEM_403,
            404: PROBLEM_404,
            409: OpenApiResponse(description="Paid, matched or void: void it instead (PATCH status=void)."),
        },
    )
    def delete(self, request: Request, invoice_id: uuid.UUID) -> Response:
        services.invoice_delete(invoice_id=invoice_id, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
