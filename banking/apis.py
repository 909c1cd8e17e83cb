"""Bank ledger API under /v1/tenants/{tenant_id}/: transactions, imports, accounts, batches."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from typing import Any

from django.conf import settings as django_settings
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from banking.statements import SUPPORTED_FORMATS
from jobs.apis import JobOutputSerializer, job_response_body
from jobs.services import job_enqueue_with_input
from tenants import limits
from tenants.errors import InvalidInput, unknown_field_errors
from tenants.idempotency import (
    HEADER,
    MAX_KEY_LENGTH,
    canonical_json,
    request_fingerprint,
    run_idempotent,
    validate_key,
)
from tenants.pagination import CursorPagination, paginated_response
from tenants.parsers import json_object_body, loads_decimal
from tenants.permissions import TenantRolePermission
from tenants.serializers import (
    AMOUNT_INPUT_SCHEMA,
    AmountFilterField,
    MoneyField,
    RowRenderer,
    StrictInputSerializer,
)
from tenants.uploads import upload_name

from . import selectors, services, tasks
from .models import ImportSource, TransactionStatus

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    HEADER,
    # Printable ASCII without surrounding spaces: what every client can send as a header value
    # (the server also takes other printable text, trimmed; see tenants.idempotency.validate_key).
    {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": r"^[!-~]([ -~]*[!-~])?$"},
    OpenApiParameter.HEADER,
    required=True,
    description=f"Unique key (1-{MAX_KEY_LENGTH} chars) per logical request; a retry with the same key "
    "and body replays the stored response (header Idempotent-Replayed: true).",
)


class BankTransactionOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    account_id = serializers.UUIDField()
    account = serializers.CharField(source="account.identifier")
    amount = MoneyField("amount")
    currency = serializers.CharField()
    booking_date = serializers.DateField()
    value_date = serializers.DateField(allow_null=True)
    description = serializers.CharField()
    counterparty_name = serializers.CharField()
    counterparty_account = serializers.CharField()
    external_id = serializers.CharField()
    end_to_end_id = serializers.CharField()
    structured_reference = serializers.CharField()
    return_reason = serializers.CharField()
    status = serializers.ChoiceField(choices=TransactionStatus.choices)
    allocated_amount = MoneyField("allocated_amount")
    import_batch_id = serializers.UUIDField()
    created_at = serializers.DateTimeField()


BANK_TRANSACTION_ROWS = RowRenderer(BankTransactionOutputSerializer)


class BankTransactionFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=TransactionStatus.choices, required=False)
    account_id = serializers.UUIDField(required=False)
    currency = serializers.RegexField(r"^[A-Z]{3}$", required=False)
    booked_after = serializers.DateField(required=False)
    booked_before = serializers.DateField(required=False)
    min_amount = AmountFilterField(help_text="Signed amount at least (inclusive).")
    max_amount = AmountFilterField(help_text="Signed amount at most (inclusive).")
    import_batch_id = serializers.UUIDField(required=False)
    q = serializers.CharField(required=False, max_length=limits.SEARCH)


class BankTransactionListApi(APIView):
    """``GET bank-transactions``: cursor-paginated, newest first, with filters."""

    permission_classes = [IsAuthenticated, TenantRolePermission]
    pagination_class = CursorPagination

    @extend_schema(
        parameters=[BankTransactionFilterSerializer],
        responses=BankTransactionOutputSerializer(many=True),
        description="Cursor pagination (`cursor`, `page_size` ≤ 500), newest first.",
    )
    def get(self, request: Request, tenant_id: uuid.UUID) -> Response:
        filters = BankTransactionFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        queryset = selectors.bank_transaction_list(**filters.validated_data)
        return paginated_response(self, request, queryset, BANK_TRANSACTION_ROWS)


class BankTransactionDetailApi(APIView):
    """``GET bank-transactions/{transaction_id}``."""

    permission_classes = [IsAuthenticated, TenantRolePermission]

    @extend_schema(responses=BankTransactionOutputSerializer)
    def get(self, request: Request, tenant_id: uuid.UUID, transaction_id: uuid.UUID) -> Response:
        transaction = selectors.bank_transaction_get(transaction_id=transaction_id)
        return Response(BankTransactionOutputSerializer(transaction).data)


ImportResultSerializer = inline_serializer(
    "ImportResult",
    fields={
        "batch_id": serializers.UUIDField(),
        "imported": serializers.IntegerField(),
        "duplicates": serializers.IntegerField(),
        "transactions": serializers.ListField(child=serializers.UUIDField()),
    },
)


def _idempotent_response(request: Request, body_bytes: bytes, action: Any) -> Response:
    key = validate_key(request.headers.get(HEADER))
    fingerprint = request_fingerprint(request.method or "POST", request.path, body_bytes)
    outcome = run_idempotent(key=key, fingerprint=fingerprint, action=action)
    response = Response(outcome.body, status=outcome.status)
    if outcome.status == status.HTTP_202_ACCEPTED:  # a queued import: the body is its job
        response["Location"] = outcome.body["url"]
    if outcome.replayed:
        response["Idempotent-Replayed"] = "true"
    return response


def _queued_import(
    request: Request, task: Any, params: dict[str, Any], content: bytes, file_name: str
) -> tuple[int, Any]:
    """Store the upload with a job (banking/tasks.py) and answer 202 with the job."""
    job = job_enqueue_with_input(
        task=task, params=params, content=content, file_name=file_name, actor=request.user, source="api"
    )
    return status.HTTP_202_ACCEPTED, job_response_body(job, request, detail=False)


def _is_large(size: int) -> bool:
    """Imports from this size on run on a worker (IMPORT_ASYNC_MIN_BYTES)."""
    return size >= django_settings.IMPORT_ASYNC_MIN_BYTES


@extend_schema_field(AMOUNT_INPUT_SCHEMA)
class _ItemAmountField(serializers.Field):
    """Schema only: the import service parses item amounts itself, exactly, per currency."""


# Schema only: items are validated in bulk by services.parse_api_transactions (speed), which
# accepts exactly these keys (services.API_TRANSACTION_FIELDS; a test keeps the two in step).
class TransactionItemSerializer(StrictInputSerializer):
    """One bank transaction. Only these fields are accepted: any other key is refused (400 naming
    it, e.g. `transactions[3].iban`)."""

    amount = _ItemAmountField(help_text="Signed: credits > 0, debits < 0")
    date = serializers.CharField(help_text="ISO 8601 date or date-time; its date is the booking date")
    booking_date = serializers.CharField(
        required=False, help_text="Alias of `date` (the output's name); give one of them, not both"
    )
    value_date = serializers.CharField(required=False, help_text="ISO 8601 date or date-time")
    currency = serializers.CharField(required=False, help_text="ISO 4217; default: tenant's")
    description = serializers.CharField(required=False, allow_blank=True, max_length=limits.DESCRIPTION)
    external_id = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=limits.TRANSACTION_REFERENCE,
        help_text="Bank reference (deduplication key)",
    )
    end_to_end_id = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=limits.TRANSACTION_REFERENCE,
        help_text="SEPA end-to-end id of the payment",
    )
    counterparty = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=limits.NAME,
        help_text="Name of the payer or payee (output: counterparty_name)",
    )
    counterparty_account = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=limits.ACCOUNT,
        help_text="IBAN or account number of the counterparty",
    )
    structured_reference = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=limits.STRUCTURED_REFERENCE,
        help_text="Creditor reference, e.g. ISO 11649 RF18 5390 0754 7034 (stored without spaces); "
        "when absent, a valid RF reference in the description is stored, as statement files do",
    )


class TransactionsField(serializers.JSONField):
    """Schema only: ``transactions`` as an array of items or as a JSON string holding one."""


class TransactionsFieldSchema(OpenApiSerializerFieldExtension):
    """OpenAPI: ``oneOf`` the item array and its JSON text (both are accepted)."""

    target_class = TransactionsField

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        item = auto_schema.resolve_serializer(TransactionItemSerializer, direction)
        return {
            "oneOf": [
                {"type": "array", "items": item.ref, "minItems": 1},
                {
                    "type": "string",
                    "minLength": 2,
                    "description": "The same array as JSON text (for clients that can only send strings)",
                },
            ],
            "description": "The transactions to import, all or nothing",
        }


class BankTransactionImportApi(APIView):
    """``POST bank-transactions/import``: a batch of transactions, idempotent per key.

    ``transactions`` may be an array or a JSON string holding one (as some clients send it).
    Unknown keys, at the top or in an item, are refused naming them (400).
    """

    permission_classes = [IsAuthenticated, TenantRolePermission]

    # Schema only: the body is checked in post() (the items by the service, in bulk).
    class InputSerializer(StrictInputSerializer):
        class Meta:
            ref_name = "BankTransactionImport"

        transactions = TransactionsField()
        account = serializers.CharField(
            required=False, help_text="Bank account identifier (IBAN...); default: the tenant's API account"
        )

    @extend_schema(
        parameters=[IDEMPOTENCY_PARAMETER],
        request=InputSerializer,
        responses={201: ImportResultSerializer, 202: JobOutputSerializer},
        description="A body of IMPORT_ASYNC_MIN_BYTES or more is stored and imported by a worker: 202 "
        "with the job (`Location`); its items are validated there (a failed job carries the problem).",
    )
    def post(self, request: Request, tenant_id: uuid.UUID) -> Response:
        data = json_object_body(request)
        body_bytes = canonical_json(data)

        def action() -> tuple[int, Any]:
            unknown = unknown_field_errors(data, self.InputSerializer().fields)
            if unknown:
                raise InvalidInput("The request has unknown fields.", errors=unknown)
            items = data.get("transactions")
            if isinstance(items, str):
                try:
                    items = loads_decimal(items)
                except ValueError as exc:
                    raise InvalidInput(
                        "`transactions` is a string but not valid JSON.", errors={"transactions": [str(exc)]}
                    ) from exc
            account = data.get("account")
            if account is not None and not isinstance(account, str):
                raise InvalidInput("`account` must be a string.", errors={"account": ["expected a string"]})
            if _is_large(len(body_bytes)):
                if not isinstance(items, list):
                    raise InvalidInput(
                        "`transactions` must be an array.", errors={"transactions": ["expected an array"]}
                    )
                return _queued_import(
                    request,
                    tasks.transactions_import_job,
                    {"account": account or ""},
                    canonical_json({"transactions": items}),
                    "",
                )
            result = services.api_transactions_import(
                items=items, created_by=request.user, default_account=account
            )
            return status.HTTP_201_CREATED, result.as_response()

        return _idempotent_response(request, body_bytes, action)


class BankStatementImportApi(APIView):
    """``POST bank-transactions/import-file``: a statement file (multipart), idempotent per key."""

    permission_classes = [IsAuthenticated, TenantRolePermission]
    parser_classes = [MultiPartParser]

    # Schema only: the form is read in post(); its field names are the accepted ones.
    class InputSerializer(StrictInputSerializer):
        class Meta:
            ref_name = "StatementUpload"

        file = serializers.FileField()
        format = serializers.ChoiceField(choices=SUPPORTED_FORMATS, required=False)
        account = serializers.CharField(required=False)

    @extend_schema(
        parameters=[IDEMPOTENCY_PARAMETER],
        request={"multipart/form-data": InputSerializer},
        responses={201: ImportResultSerializer, 202: JobOutputSerializer},
        description="A file of IMPORT_ASYNC_MIN_BYTES or more is stored and imported by a worker: 202 "
        "with the job (`Location`), whose output is this 201's body without `transactions`.",
    )
    def post(self, request: Request, tenant_id: uuid.UUID) -> Response:
        upload = request.FILES.get("file")
        form = request.data if isinstance(request.data, Mapping) else {}
        errors = unknown_field_errors(form, self.InputSerializer().fields)
        if upload is None:
            errors["file"] = ["required"]
        if errors:
            raise InvalidInput(
                "Send the statement as the multipart field `file` (and `format`, `account`).", errors=errors
            )
        file_format = (form.get("format") or "").strip().lower()
        account = (form.get("account") or "").strip()
        file_name = upload_name(request, "file", upload)  # as sent: Django's may be cut
        digest = hashlib.sha256()
        for block in upload.chunks():
            digest.update(block)
        upload.seek(0)
        body_bytes = canonical_json(
            {
                "file_sha256": digest.hexdigest(),
                "file_name": file_name,
                "format": file_format,
                "account": account,
            }
        )

        def action() -> tuple[int, Any]:
            if _is_large(upload.size or 0):
                # What can be refused without reading the file is refused now (400), not by the job.
                if file_format and file_format not in SUPPORTED_FORMATS:
                    raise InvalidInput(
                        f"Unknown statement format {file_format!r}.",
                        errors={"format": [f"choose one of {', '.join(SUPPORTED_FORMATS)}"]},
                    )
                problem = limits.text_problem(file_name, limits.FILE_NAME)
                if problem is not None:
                    raise InvalidInput(
                        "The file name cannot be stored.", errors={"file": [f"File name: {problem}"]}
                    )
                params = {"file_format": file_format, "account": account, "import_source": ImportSource.FILE}
                return _queued_import(request, tasks.statement_import_job, params, upload.read(), file_name)
            result = services.statement_import(
                stream=upload,
                file_name=file_name or "upload",
                file_format=file_format or None,
                source=ImportSource.FILE,
                created_by=request.user,
                default_account=account or None,
            )
            return status.HTTP_201_CREATED, result.as_response()

        return _idempotent_response(request, body_bytes, action)


class BankAccountOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    identifier = serializers.CharField()
    name = serializers.CharField()
    currency = serializers.CharField()
    created_at = serializers.DateTimeField()


class BankAccountListApi(APIView):
    """``GET bank-accounts``: the tenant's accounts (created by imports on first sight)."""

    permission_classes = [IsAuthenticated, TenantRolePermission]

    @extend_schema(responses=BankAccountOutputSerializer(many=True))
    def get(self, request: Request, tenant_id: uuid.UUID) -> Response:
        return Response(BankAccountOutputSerializer(selectors.bank_account_list(), many=True).data)


class ImportBatchOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    source = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.source
    file_name = serializers.CharField()
    file_format = serializers.CharField()
    file_sha256 = serializers.CharField()
    received_count = serializers.IntegerField()
    imported_count = serializers.IntegerField()
    duplicate_count = serializers.IntegerField()
    created_by_id = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()


IMPORT_BATCH_ROWS = RowRenderer(ImportBatchOutputSerializer)


class ImportBatchListApi(APIView):
    """``GET import-batches``: newest first, cursor-paginated."""

    permission_classes = [IsAuthenticated, TenantRolePermission]
    pagination_class = CursorPagination

    @extend_schema(responses=ImportBatchOutputSerializer(many=True))
    def get(self, request: Request, tenant_id: uuid.UUID) -> Response:
        return paginated_response(self, request, selectors.import_batch_list(), IMPORT_BATCH_ROWS)


class ImportBatchDetailApi(APIView):
    """``GET import-batches/{batch_id}``."""

    permission_classes = [IsAuthenticated, TenantRolePermission]

    @extend_schema(responses=ImportBatchOutputSerializer)
    def get(self, request: Request, tenant_id: uuid.UUID, batch_id: uuid.UUID) -> Response:
        return Response(ImportBatchOutputSerializer(selectors.import_batch_get(batch_id=batch_id)).data)
