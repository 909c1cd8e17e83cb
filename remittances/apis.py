"""Remittance advices API under ``/v1/tenants/{tenant_id}/``: create (JSON), import a file, list, read.

Both writes are imports: idempotent per ``Idempotency-Key`` (required, like the statement and
transaction imports), all or nothing (``remittances.services``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from api.idempotency import HEADER, canonical_json, request_fingerprint, run_idempotent, validate_key
from api.parsers import json_object_body
from api.problems import PROBLEM_400, PROBLEM_403, PROBLEM_404
from api.serializers import MoneyField, RowRenderer, StrictInputSerializer
from api.uploads import upload_name
from api.views import TenantAPIView, TenantDetailAPIView, TenantListAPIView
from banking.apis import IDEMPOTENCY_PARAMETER
from common.errors import InvalidInput, unknown_field_errors
from invoices.apis import AmountInputField

from . import selectors, services
from .models import AdviceChannel, AdviceFormat
from .parsing import (
    ACCOUNT_MAX,
    INVOICE_NUMBER_MAX,
    MAX_LINES_PER_ADVICE,
    NAME_MAX,
    REFERENCE_MAX,
)


def idempotent_response(request: Request, body_bytes: bytes, action: Any) -> Response:
    """Run ``action`` once per Idempotency-Key and body; a retry replays the stored response."""
    key = validate_key(request.headers.get(HEADER))
    fingerprint = request_fingerprint(request.method or "POST", request.path, body_bytes)
    outcome = run_idempotent(key=key, fingerprint=fingerprint, action=action)
    response = Response(outcome.body, status=outcome.status)
    if outcome.replayed:
        response["Idempotent-Replayed"] = "true"
    return response


class AdviceLineOutputSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    invoice_number = serializers.CharField()
    amount = MoneyField("amount", "advice_currency")
    discount = MoneyField("discount", "advice_currency")
    invoice_id = serializers.UUIDField(allow_null=True)


class AdviceOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    source = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.source
    channel = serializers.CharField()
    payer_name = serializers.CharField()
    payer_account = serializers.CharField()
    payment_reference = serializers.CharField()
    end_to_end_id = serializers.CharField()
    amount = MoneyField("amount")
    currency = serializers.CharField()
    payment_date = serializers.DateField(allow_null=True)
    line_count = serializers.IntegerField()
    file_name = serializers.CharField()
    created_at = serializers.DateTimeField()


class AdviceDetailOutputSerializer(AdviceOutputSerializer):
    lines = serializers.SerializerMethodField()

    @extend_schema_field(AdviceLineOutputSerializer(many=True))
    def get_lines(self, advice: Any) -> list[Any]:
        rows: list[Any] = []
        for line in advice.lines.all():
            line.advice_currency = advice.currency
            rows.append(AdviceLineOutputSerializer(line).data)
        return rows


ADVICE_ROWS = RowRenderer(AdviceOutputSerializer)

IMPORT_RESULT = inline_serializer(
    "AdviceImportResult",
    {
        "format": serializers.ChoiceField(choices=AdviceFormat.choices),
        "received": serializers.IntegerField(),
        "imported": serializers.IntegerField(),
        "duplicates": serializers.IntegerField(),
        "advices": serializers.ListField(child=serializers.UUIDField()),
    },
)


class AdviceLineInputSerializer(StrictInputSerializer):
    class Meta:
        ref_name = "RemittanceAdviceLineInput"

    invoice_number = serializers.CharField(max_length=INVOICE_NUMBER_MAX)
    amount = AmountInputField(help_text="Paid for this invoice, in the advice's currency.")
    discount = AmountInputField(required=False, help_text="Deducted by the payer (cash discount); default 0.")


class AdviceCreateApi(TenantListAPIView):
    """``GET/POST remittance-advices``: the tenant's advices (newest first), or one advice sent as JSON."""


    class InputSerializer(StrictInputSerializer):
        class Meta:
            ref_name = "RemittanceAdviceCreate"

        payment_reference = serializers.CharField(
            max_length=REFERENCE_MAX, help_text="What the payment quotes (the advice or payment run number)."
        )
        payer_name = serializers.CharField(required=False, allow_blank=True, max_length=NAME_MAX)
        payer_account = serializers.CharField(required=False, allow_blank=True, max_length=ACCOUNT_MAX)
        end_to_end_id = serializers.CharField(required=False, allow_blank=True, max_length=REFERENCE_MAX)
        amount = AmountInputField(help_text="The payment's total: the sum of the lines' amounts.")
        currency = serializers.CharField(max_length=3, help_text="ISO 4217.")
        payment_date = serializers.DateField(required=False, allow_null=True)
        lines = serializers.ListField(
            child=AdviceLineInputSerializer(), min_length=1, max_length=MAX_LINES_PER_ADVICE
        )

    output_serializer_class = AdviceOutputSerializer
    rows = ADVICE_ROWS
    list_schema = {"tags": ["remittance advices"], "summary": "List remittance advices"}
    selector = staticmethod(selectors.advice_list)

    @extend_schema(
        tags=["remittance advices"],
        summary="Send a remittance advice",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=InputSerializer,
        responses={201: IMPORT_RESULT, 400: PROBLEM_400, 403: PROBLEM_403},
        description="One advice (payer, payment reference, amount, date, lines), stored whole or refused "
        "whole. The same advice sent again is not stored twice (`duplicates`: 1).",
    )
    def post(self, request: Request) -> Response:
        data = json_object_body(request)
        body_bytes = canonical_json(data)

        def action() -> tuple[int, Any]:
            serializer = self.InputSerializer(data=data)
            serializer.is_valid(raise_exception=True)
            fields = serializer.validated_data
            advice = services.api_advice(
                **{name: value for name, value in fields.items() if name != "lines"},
                lines=[
                    (line["invoice_number"], line["amount"], line.get("discount")) for line in fields["lines"]
                ],
            )
            result = services.advices_import(
                advices=[advice], source=AdviceFormat.API, channel=AdviceChannel.API, actor=request.user
            )
            return status.HTTP_201_CREATED, result.as_response()

        return idempotent_response(request, body_bytes, action)


class AdviceImportFileApi(TenantAPIView):
    """``POST remittance-advices/import-file``: a camt.054 or CSV advice file (multipart)."""

    parser_classes = [MultiPartParser]

    class InputSerializer(StrictInputSerializer):
        class Meta:
            ref_name = "RemittanceAdviceUpload"

        file = serializers.FileField()

    @extend_schema(
        tags=["remittance advices"],
        summary="Import a remittance advice file",
        parameters=[IDEMPOTENCY_PARAMETER],
        request={"multipart/form-data": InputSerializer},
        responses={201: IMPORT_RESULT, 400: PROBLEM_400, 403: PROBLEM_403},
        description="An ISO 20022 camt.054 notification or a CSV advice file (README: the CSV advice "
        "format), detected from its content; all advices of the file are stored or none.",
    )
    def post(self, request: Request) -> Response:
        upload = request.FILES.get("file")
        form = request.data if isinstance(request.data, Mapping) else {}
        errors = unknown_field_errors(form, self.InputSerializer().fields)
        if upload is None:
            errors["file"] = ["required"]
        if errors:
            raise InvalidInput("Send the advice file as the multipart field `file`.", errors=errors)
        file_name = upload_name(request, "file", upload)
        data = upload.read()
        body_bytes = canonical_json({"file_sha256": hashlib.sha256(data).hexdigest(), "file_name": file_name})

        def action() -> tuple[int, Any]:
            result = services.advice_file_import(
                data=data, file_name=file_name, channel=AdviceChannel.FILE, actor=request.user
            )
            return status.HTTP_201_CREATED, result.as_response()

        return idempotent_response(request, body_bytes, action)


class AdviceDetailApi(TenantDetailAPIView):
    """``GET remittance-advices/{advice_id}``: one advice with its lines and their invoices."""

    output_serializer_class = AdviceDetailOutputSerializer
    detail_schema = {
        "tags": ["remittance advices"],
        "summary": "Read a remittance advice",
        "responses": {404: PROBLEM_404},
    }
    selector = staticmethod(selectors.advice_get)
