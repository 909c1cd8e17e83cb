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
from rest_framework.request import Request
from rest_framework.response import Response

from api.idempotency import (
    HEADER,
    MAX_KEY_LENGTH,
    canonical_json,
    request_fingerprint,
    run_idempotent,
    validate_key,
)
from api.parsers import json_object_body, loads_decimal
from api.serializers import (
    AMOUNT_INPUT_SCHEMA,
    MONEY_SCHEMA,
    AmountFilterField,
    MoneyField,
    RowRenderer,
    StrictInputSerializer,
)
from api.uploads import upload_name
from api.views import TenantAPIView, TenantDetailAPIView, TenantListAPIView
from banking.statements import SUPPORTED_FORMATS
from common import limits
from common.errors import InvalidInput, unknown_field_errors
from common.finance import quantize
from jobs.apis import JobOutputSerializer, job_response_body
from jobs.services import job_enqueue_with_input

from . import selectors, services, tasks, transfer_services
from .models import ImportSource, InternalTransferStatus, TransactionStatus

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    HEADER,
    # Printable ASCII without surrounding spaces: what every client can send as a header value
    # (the server also takes other printable text, trimmed; see api.idempotency.validate_key).
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
    statement_id = serializers.UUIDField(
        allow_null=True, help_text="The imported statement it came with (null for CSV and API imports)"
    )
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


CURSOR_NOTE = "Cursor pagination (`cursor`, `page_size` ≤ 500), newest first."


class BankTransactionListApi(TenantListAPIView):
    """``GET bank-transactions``: cursor-paginated, newest first, with filters."""

    filter_serializer_class = BankTransactionFilterSerializer
    output_serializer_class = BankTransactionOutputSerializer
    rows = BANK_TRANSACTION_ROWS
    list_schema = {"description": CURSOR_NOTE}
    selector = staticmethod(selectors.bank_transaction_list)


class BankTransactionDetailApi(TenantDetailAPIView):
    """``GET bank-transactions/{transaction_id}``."""

    output_serializer_class = BankTransactionOutputSerializer
    selector = staticmethod(selectors.bank_transaction_get)


@extend_schema_field({**MONEY_SCHEMA, "nullable": True})
class OptionalMoneyField(MoneyField):
    """``MoneyField`` for an amount that may be absent (null when it is)."""

    def to_representation(self, value: Any) -> Any:  # a string, or None
        if getattr(value, self.amount_attr) is None:
            return None
        return super().to_representation(value)


class StatementCheckSerializer(serializers.Serializer):
    name = serializers.ChoiceField(
        choices=selectors.CheckName.choices,
        help_text="previous_closing: the opening balance against the previous statement's closing balance; "
        "movements: opening balance plus the statement's transactions against its closing balance",
    )
    status = serializers.ChoiceField(choices=selectors.CheckStatus.choices)
    difference = serializers.SerializerMethodField(
        help_text="In the statement's currency; null unless checked"
    )
    detail = serializers.CharField()

    @extend_schema_field({**MONEY_SCHEMA, "nullable": True})
    def get_difference(self, check: selectors.StatementCheck) -> str | None:
        if check.difference is None:
            return None
        return str(quantize(check.difference, self.context["currency"]))


class StatementOutputSerializer(serializers.Serializer):
    """An imported statement, its balances as the file states them and its continuity checks.

    ``has_break`` is true when a check found a difference; ``checks`` says what each check
    compared, or why it does not apply (OFX files report no opening balance).
    """

    id = serializers.UUIDField()
    account_id = serializers.UUIDField()
    account = serializers.CharField(source="account.identifier")
    import_batch_id = serializers.UUIDField()
    file_format = serializers.CharField()
    statement_id = serializers.CharField(
        help_text="The bank's id of the statement (CAMT Stmt/Id, MT940 :20:)"
    )
    sequence = serializers.CharField(help_text="Sequence number as written (CAMT ElctrncSeqNb, MT940 :28C:)")
    period_start = serializers.DateField(allow_null=True)
    period_end = serializers.DateField(allow_null=True)
    currency = serializers.CharField()
    opening_balance = OptionalMoneyField("opening_balance")
    opening_date = serializers.DateField(allow_null=True)
    closing_balance = OptionalMoneyField("closing_balance")
    closing_date = serializers.DateField(allow_null=True)
    movements_sum = OptionalMoneyField(
        "movements_sum", help_text="null: a transaction is in another currency"
    )
    movements_count = serializers.IntegerField()
    previous_statement_id = serializers.UUIDField(allow_null=True)
    has_break = serializers.BooleanField()
    checks = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    @extend_schema_field(StatementCheckSerializer(many=True))
    def get_checks(self, statement: Any) -> Any:
        return StatementCheckSerializer(
            selectors.statement_checks(statement), many=True, context={"currency": statement.currency}
        ).data


class ImportStatementSerializer(StatementOutputSerializer):
    already_imported = serializers.SerializerMethodField(
        help_text="The same statement was imported before (it is not stored twice)"
    )

    def get_already_imported(self, statement: Any) -> bool:
        return statement.pk not in self.context["new_statement_ids"]


ImportResultSerializer = inline_serializer(
    "ImportResult",
    fields={
        "batch_id": serializers.UUIDField(),
        "imported": serializers.IntegerField(),
        "duplicates": serializers.IntegerField(),
        "transactions": serializers.ListField(child=serializers.UUIDField()),
        "internal_transfers": serializers.IntegerField(
            help_text="Pairs of transfers between your own accounts this import completed (never matched to "
            "invoices)"
        ),
        "statements": ImportStatementSerializer(
            many=True,
            help_text="The file's statements with their balances and continuity checks (none for CSV and "
            "JSON imports); a break does not stop the import",
        ),
    },
)


def import_response(result: services.ImportResult) -> dict[str, Any]:
    """The body of a successful import (REST): the counts, the new ids and the statements."""
    statements = ImportStatementSerializer(
        result.statements, many=True, context={"new_statement_ids": result.new_statement_ids}
    ).data
    return {**result.as_response(), "statements": statements}


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


class BankTransactionImportApi(TenantAPIView):
    """``POST bank-transactions/import``: a batch of transactions, idempotent per key.

    ``transactions`` may be an array or a JSON string holding one (as some clients send it).
    Unknown keys, at the top or in an item, are refused naming them (400).
    """

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
    def post(self, request: Request) -> Response:
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
            return status.HTTP_201_CREATED, import_response(result)

        return _idempotent_response(request, body_bytes, action)


class BankStatementImportApi(TenantAPIView):
    """``POST bank-transactions/import-file``: a statement file (multipart), idempotent per key."""

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
    def post(self, request: Request) -> Response:
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
            return status.HTTP_201_CREATED, import_response(result)

        return _idempotent_response(request, body_bytes, action)


class BankAccountOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    identifier = serializers.CharField()
    name = serializers.CharField()
    currency = serializers.CharField()
    created_at = serializers.DateTimeField()


class BankAccountListApi(TenantAPIView):
    """``GET bank-accounts``: the tenant's accounts (created by imports on first sight)."""

    @extend_schema(responses=BankAccountOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
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


class ImportBatchDetailSerializer(ImportBatchOutputSerializer):
    statements = serializers.SerializerMethodField(
        help_text="The statements this import stored, with their continuity checks as they are now"
    )

    @extend_schema_field(StatementOutputSerializer(many=True))
    def get_statements(self, batch: Any) -> Any:
        return StatementOutputSerializer(selectors.statement_list(import_batch_id=batch.pk), many=True).data


class ImportBatchListApi(TenantListAPIView):
    """``GET import-batches``: newest first, cursor-paginated."""

    output_serializer_class = ImportBatchOutputSerializer
    rows = IMPORT_BATCH_ROWS
    selector = staticmethod(selectors.import_batch_list)


class ImportBatchDetailApi(TenantDetailAPIView):
    """``GET import-batches/{batch_id}``."""

    output_serializer_class = ImportBatchDetailSerializer
    selector = staticmethod(selectors.import_batch_get)


# --- statements ----------------------------------------------------------------------------------------


class StatementFilterSerializer(serializers.Serializer):
    has_break = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="true: only statements with a break"
    )
    currency = serializers.RegexField(r"^[A-Z]{3}$", required=False)
    closed_after = serializers.DateField(required=False, help_text="Closing date at least (inclusive)")
    closed_before = serializers.DateField(required=False, help_text="Closing date at most (inclusive)")
    import_batch_id = serializers.UUIDField(required=False)


class StatementListFilterSerializer(StatementFilterSerializer):
    account_id = serializers.UUIDField(required=False)


class StatementListApi(TenantListAPIView):
    """``GET statements``: imported statements, newest first, with their continuity checks."""

    filter_serializer_class = StatementListFilterSerializer
    output_serializer_class = StatementOutputSerializer
    list_schema = {
        "description": f"{CURSOR_NOTE} `has_break=true` lists the statements whose balances do not continue "
        "the previous statement or do not add up."
    }
    selector = staticmethod(selectors.statement_list)


class BankAccountStatementListApi(TenantListAPIView):
    """``GET bank-accounts/{account_id}/statements``: one account's statements (404 for an unknown one)."""

    filter_serializer_class = StatementFilterSerializer
    output_serializer_class = StatementOutputSerializer
    list_schema = {"description": CURSOR_NOTE}

    def select(self, *, account_id: uuid.UUID, **filters: Any) -> Any:  # type: ignore[override]
        account = selectors.bank_account_get(account_id=account_id)
        return selectors.statement_list(account_id=account.pk, **filters)


class StatementDetailApi(TenantDetailAPIView):
    """``GET statements/{statement_id}``."""

    output_serializer_class = StatementOutputSerializer
    selector = staticmethod(selectors.statement_get)


# --- internal transfers --------------------------------------------------------------------------------


class InternalTransferLegSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    account_id = serializers.UUIDField()
    account = serializers.CharField(source="account.identifier")
    amount = MoneyField("amount")
    currency = serializers.CharField()
    booking_date = serializers.DateField()
    description = serializers.CharField()
    counterparty_name = serializers.CharField()
    counterparty_account = serializers.CharField()
    status = serializers.ChoiceField(choices=TransactionStatus.choices)


class InternalTransferOutputSerializer(serializers.Serializer):
    """Money moved between two of your own accounts: paired at import, never matched to invoices."""

    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=InternalTransferStatus.choices)
    outgoing = InternalTransferLegSerializer(help_text="The leg leaving one account (amount < 0)")
    incoming = InternalTransferLegSerializer(help_text="The leg arriving in another account")
    days_apart = serializers.IntegerField()
    unpaired_at = serializers.DateTimeField(allow_null=True)
    unpaired_by_id = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()


class InternalTransferFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=InternalTransferStatus.choices, required=False)
    account_id = serializers.UUIDField(required=False, help_text="Either leg on this account")
    transaction_id = serializers.UUIDField(required=False, help_text="Either leg is this transaction")


class InternalTransferListApi(TenantListAPIView):
    """``GET internal-transfers``: pairs of transfers between own accounts, newest first."""

    filter_serializer_class = InternalTransferFilterSerializer
    output_serializer_class = InternalTransferOutputSerializer
    list_schema = {"description": CURSOR_NOTE}
    selector = staticmethod(selectors.internal_transfer_list)


class InternalTransferDetailApi(TenantDetailAPIView):
    """``GET internal-transfers/{transfer_id}``."""

    output_serializer_class = InternalTransferOutputSerializer
    selector = staticmethod(selectors.internal_transfer_get)


class InternalTransferUnpairApi(TenantAPIView):
    """``POST internal-transfers/{transfer_id}/unpair``: the pairing was wrong; both legs become
    unmatched transactions again (audited) and are never paired automatically again. Takes no
    body, or ``{}``; 409 when the transfer is not paired."""

    class InputSerializer(StrictInputSerializer):
        class Meta:
            ref_name = "InternalTransferUnpairRequest"

    @extend_schema(request=None, responses=InternalTransferOutputSerializer)
    def post(self, request: Request, transfer_id: uuid.UUID) -> Response:
        self.InputSerializer(data=json_object_body(request, required=False)).is_valid(raise_exception=True)
        transfer_services.internal_transfer_unpair(transfer_id=transfer_id, actor=request.user)
        transfer = selectors.internal_transfer_get(transfer_id=transfer_id)
        return Response(InternalTransferOutputSerializer(transfer).data)
