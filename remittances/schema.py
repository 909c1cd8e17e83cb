"""GraphQL of remittance advices: what payers say their payments pay, line by line.

``reconciliation.schema`` composes ``RemittancesQuery`` and ``RemittancesMutation`` into the one
tenant schema; the resolvers are thin faces of ``remittances.selectors`` and
``remittances.services`` (the REST API's too).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import strawberry
import strawberry_django
from strawberry.types import Info

from api.graphql import money
from api.graphql.fields import idempotency_key_argument, read_field, write_mutation
from api.graphql.pagination import DEFAULT_PAGE_SIZE, Page, PageSize, paginate
from api.idempotency import canonical_json, request_fingerprint, run_idempotent
from common.finance import quantize

from . import selectors as remittance_selectors
from . import services as remittance_services
from .models import AdviceChannel, AdviceFormat, RemittanceAdvice, RemittanceAdviceLine

ADVICE_FIELD = "createRemittanceAdvice"


@strawberry_django.type(RemittanceAdviceLine, name="RemittanceAdviceLine")
class RemittanceAdviceLineType:
    position: strawberry.auto
    invoice_number: strawberry.auto
    invoice_id: uuid.UUID | None = strawberry_django.field(
        description="The invoice whose number is exactly this one (the engine also reads numbers written "
        "otherwise when a run reads the advice)."
    )

    @strawberry.field(description="Paid for this invoice, in the advice's currency.")
    def amount(self, root: RemittanceAdviceLine) -> Decimal:
        return quantize(root.amount, root.advice.currency)

    @strawberry.field(description="Deducted by the payer (cash discount), in the advice's currency.")
    def discount(self, root: RemittanceAdviceLine) -> Decimal:
        return quantize(root.discount, root.advice.currency)


@strawberry_django.type(RemittanceAdvice, name="RemittanceAdvice")
class RemittanceAdviceType:
    id: strawberry.auto
    source: str = strawberry_django.field(description="camt054, csv or api")
    channel: str = strawberry_django.field(description="api, file, graphql, admin or command")
    payer_name: strawberry.auto
    payer_account: strawberry.auto
    payment_reference: strawberry.auto
    end_to_end_id: strawberry.auto
    currency: strawberry.auto
    payment_date: strawberry.auto
    line_count: strawberry.auto
    file_name: strawberry.auto
    created_at: strawberry.auto
    amount: Decimal = money("amount", description="The payment's total (the lines' sum).")

    @strawberry.field(description="The invoices the advice lists, in its order.")
    def lines(self, root: RemittanceAdvice) -> list[RemittanceAdviceLineType]:
        # Prefetched by ``remittance_selectors.advice_get``; on a page, one query per advice whose
        # lines are asked for (a few: the cost bound). In position order; each line's advice is
        # the row it was read from (no query per line).
        return list(root.lines.all())  # type: ignore[arg-type]


@strawberry.input(description="One invoice of a remittance advice.")
class RemittanceAdviceLineInput:
    invoice_number: str
    amount: Decimal = strawberry.field(description="Paid for this invoice, in the advice's currency.")
    discount: Decimal | None = strawberry.field(default=None, description="Deducted by the payer; default 0.")


@strawberry.input(description="A remittance advice: what one payment pays (same fields as the REST API).")
class RemittanceAdviceInput:
    payment_reference: str = strawberry.field(description="What the payment quotes (advice or run number).")
    amount: Decimal = strawberry.field(description="The payment's total: the sum of the lines' amounts.")
    currency: str
    lines: list[RemittanceAdviceLineInput]
    payer_name: str | None = None
    payer_account: str | None = None
    end_to_end_id: str | None = None
    payment_date: dt.date | None = None


@strawberry.type
class RemittanceAdviceImportResult:
    imported: int
    duplicates: int
    advice_ids: list[uuid.UUID] = strawberry.field(description="The advice, stored now or already before.")
    replayed: bool = strawberry.field(
        description="True when this is the stored result of an earlier call with the same key."
    )


@strawberry.type
class RemittancesQuery:
    @read_field(description="Remittance advices (what payers say their payments pay), newest first.")
    def remittance_advices(
        self, first: PageSize = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Page[RemittanceAdviceType]:
        # Lines are read per advice, only when asked for: an advice has up to 1,000, so a page of
        # 500 would prefetch half a million rows for a client asking for ids (the cost bound lets
        # a request ask for the lines of about four advices).
        return paginate(remittance_selectors.advice_list(), first=first, after=after)

    @read_field()
    def remittance_advice(self, id: uuid.UUID) -> RemittanceAdviceType:
        return remittance_selectors.advice_get(id)  # type: ignore[return-value]


@strawberry.type
class RemittancesMutation:
    @write_mutation(
        description="Store a remittance advice (what one payment pays), all or nothing. Idempotent per key "
        "like the imports; the same advice sent again is not stored twice (`duplicates`: 1)."
    )
    def create_remittance_advice(
        self, info: Info, idempotency_key: str, advice: RemittanceAdviceInput
    ) -> RemittanceAdviceImportResult:
        key = idempotency_key_argument(idempotency_key)
        parsed = remittance_services.api_advice(
            payment_reference=advice.payment_reference,
            amount=advice.amount,
            currency=advice.currency,
            lines=[(line.invoice_number, line.amount, line.discount) for line in advice.lines],
            payer_name=advice.payer_name,
            payer_account=advice.payer_account,
            end_to_end_id=advice.end_to_end_id,
            payment_date=advice.payment_date,
        )
        request = info.context.request
        fingerprint = request_fingerprint(
            "POST", f"{request.path}#{ADVICE_FIELD}", canonical_json(dataclasses.asdict(parsed))
        )

        def action() -> tuple[int, Any]:
            result = remittance_services.advices_import(
                advices=[parsed],
                source=AdviceFormat.API,
                channel=AdviceChannel.GRAPHQL,
                actor=info.context.user,
            )
            return 201, result.as_response()

        outcome = run_idempotent(key=key, fingerprint=fingerprint, action=action)
        body = outcome.body
        return RemittanceAdviceImportResult(
            imported=body["imported"],
            duplicates=body["duplicates"],
            advice_ids=[uuid.UUID(pk) for pk in body["advices"]],
            replayed=outcome.replayed,
        )
