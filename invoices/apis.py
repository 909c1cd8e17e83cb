"""Invoices and vendors API under ``/v1/tenants/{tenant_id}/``: thin views over services/selectors.

Serializers only check shapes and types; amounts are parsed exactly, per currency, by the
services. The tenant is the one the middleware entered from the URL: the scoped managers and RLS
make other tenants' ids indistinguishable from unknown ones (404).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django.db.models import F
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.finance import AmountError, exact_decimal
from tenants import limits
from tenants.money import MoneyError, normalize_currency
from tenants.pagination import CursorPagination, paginated_response
from tenants.parsers import json_object_body
from tenants.permissions import TenantRolePermission
from tenants.problems import PROBLEM_400, PROBLEM_403, PROBLEM_404
from tenants.serializers import (
    AMOUNT_INPUT_SCHEMA,
    AmountFilterField,
    MoneyField,
    RowRenderer,
    StrictInputSerializer,
)

from . import selectors, services
from .models import InvoiceKind, InvoiceStatus

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


class VendorListCreateApi(APIView):
    """``GET/POST /v1/tenants/{tenant_id}/vendors``."""

    permission_classes = [IsAuthenticated, TenantRolePermission]
    pagination_class = CursorPagination

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

    @extend_schema(
        tags=["vendors"],
        summary="List vendors",
        description=CURSOR_NOTE,
        parameters=[FilterSerializer],
        responses={200: VendorOutputSerializer(many=True), 400: PROBLEM_400},
    )
    def get(self, request: Request, tenant_id: uuid.UUID) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        vendors = selectors.vendor_list(**filters.validated_data)
        return paginated_response(self, request, vendors, VENDOR_ROWS)

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
    def post(self, request: Request, tenant_id: uuid.UUID) -> Response:
        data = self.InputSerializer(data=json_object_body(request))
        data.is_valid(raise_exception=True)
        vendor = services.vendor_create(**data.validated_data, actor=request.user)
        return Response(VendorOutputSerializer(vendor).data, status=status.HTTP_201_CREATED)


class VendorDetailApi(APIView):
    """``GET/PATCH/DELETE /v1/tenants/{tenant_id}/vendors/{vendor_id}``."""

    permission_classes = [IsAuthenticated, TenantRolePermission]

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

    @extend_schema(
        tags=["vendors"], summary="Get a vendor", responses={200: VendorOutputSerializer, 404: PROBLEM_404}
    )
    def get(self, request: Request, tenant_id: uuid.UUID, vendor_id: uuid.UUID) -> Response:
        return Response(VendorOutputSerializer(selectors.vendor_get(vendor_id=vendor_id)).data)

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
    def patch(self, request: Request, tenant_id: uuid.UUID, vendor_id: uuid.UUID) -> Response:
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
    def delete(self, request: Request, tenant_id: uuid.UUID, vendor_id: uuid.UUID) -> Response:
        services.vendor_delete(vendor_id=vendor_id, actor=request.user)
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
    amount_paid = MoneyField("amount_paid")
    outstanding_amount = MoneyField("outstanding", help_text="amount - amount_paid")
    structured_reference = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


# ``outstanding`` is a model property (amount - amount_paid at the minor unit); rows read the
# generated column holding the same difference.
INVOICE_ROWS = RowRenderer(InvoiceOutputSerializer, outstanding=F("outstanding_amount"))


class InvoiceListCreateApi(APIView):
    """``GET/POST /v1/tenants/{tenant_id}/invoices``."""

    permission_classes = [IsAuthenticated, TenantRolePermission]
    pagination_class = CursorPagination

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

    class InputSerializer(StrictInputSerializer):
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

    @extend_schema(
        tags=["invoices"],
        summary="List invoices",
        description=CURSOR_NOTE,
        parameters=[FilterSerializer],
        responses={200: InvoiceOutputSerializer(many=True), 400: PROBLEM_400},
    )
    def get(self, request: Request, tenant_id: uuid.UUID) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        invoices = selectors.invoice_list(**filters.validated_data)
        return paginated_response(self, request, invoices, INVOICE_ROWS)

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
    def post(self, request: Request, tenant_id: uuid.UUID) -> Response:
        data = self.InputSerializer(data=json_object_body(request))
        data.is_valid(raise_exception=True)
        invoice = services.invoice_create(**data.validated_data, actor=request.user)
        return Response(InvoiceOutputSerializer(invoice).data, status=status.HTTP_201_CREATED)


class InvoiceDetailApi(APIView):
    """``GET/PATCH/DELETE /v1/tenants/{tenant_id}/invoices/{invoice_id}``."""

    permission_classes = [IsAuthenticated, TenantRolePermission]

    class InputSerializer(StrictInputSerializer):
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

    @extend_schema(
        tags=["invoices"],
        summary="Get an invoice",
        responses={200: InvoiceOutputSerializer, 404: PROBLEM_404},
    )
    def get(self, request: Request, tenant_id: uuid.UUID, invoice_id: uuid.UUID) -> Response:
        return Response(InvoiceOutputSerializer(selectors.invoice_get(invoice_id=invoice_id)).data)

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
    def patch(self, request: Request, tenant_id: uuid.UUID, invoice_id: uuid.UUID) -> Response:
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
    def delete(self, request: Request, tenant_id: uuid.UUID, invoice_id: uuid.UUID) -> Response:
        services.invoice_delete(invoice_id=invoice_id, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
