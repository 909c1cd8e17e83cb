"""Writes of remittance advices: one import path for every source (API body, file, admin, command).

All or nothing: every advice of a request or file is checked (``parsing.validate_advice``, the one
rule for all sources) before anything is written; a problem anywhere refuses the whole input
(400, problem+json listing the problems) and writes nothing. An advice already stored with the
same content (its ``dedup_key``) is not stored twice: it is counted as a duplicate, so importing
the same file again changes nothing (a retried request with the same Idempotency-Key replays the
stored response instead). Each stored advice is recorded in the audit trail.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from common import limits
from common.errors import InvalidInput, violated_constraint
from common.finance import MoneyError, normalize_currency
from invoices.models import Invoice
from tenants.audit import Actor, AuditAction, actor_user, audit_record

from .models import AdviceChannel, AdviceFormat, RemittanceAdvice, RemittanceAdviceLine
from .parsing import (
    MAX_ERRORS,
    AdviceParseError,
    ParsedAdvice,
    ParsedAdviceLine,
    detect_format,
    parse_camt054,
    parse_csv_advices,
    validate_advice,
)

#: Advice files are read in the request (no job): a 1,000-line advice is ~50 kB of CSV.
ADVICE_FILE_MAX_BYTES = 2 * 1024 * 1024


class AdviceRejected(InvalidInput):
    """The advice (file) cannot be imported; nothing was written."""

    code = "advice-rejected"
    title = "Remittance advice rejected"


@dataclass
class AdviceImportResult:
    format: str
    received: int = 0
    imported: int = 0
    duplicates: int = 0
    advice_ids: list[uuid.UUID] = field(default_factory=list)  # stored now or already before

    def as_response(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "received": self.received,
            "imported": self.imported,
            "duplicates": self.duplicates,
            "advices": [str(i) for i in self.advice_ids],
        }


def _dedup_key(advice: ParsedAdvice) -> str:
    content = {
        "reference": advice.reference,
        "end_to_end_id": advice.end_to_end_id,
        "payer": [advice.payer_name, advice.payer_account],
        "amount": str(advice.amount.normalize()),
        "currency": advice.currency,
        "date": advice.payment_date.isoformat() if advice.payment_date else "",
        "lines": [[line.invoice_number, str(line.amount.normalize()), str(line.discount.normalize())]
                  for line in advice.lines],
    }  # fmt: skip
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def api_advice(
    *,
    payment_reference: str,
    amount: Decimal,
    currency: str,
    lines: list[tuple[str, Decimal, Decimal | None]],
    payer_name: str | None = None,
    payer_account: str | None = None,
    end_to_end_id: str | None = None,
    payment_date: datetime.date | None = None,
) -> ParsedAdvice:
    """An advice sent field by field (REST body, GraphQL input) as the importer's record: texts
    trimmed, the account without spaces, the currency checked (InvalidInput naming ``currency``).
    Everything else is checked by :func:`advices_import`, the same for every source."""
    try:
        code = normalize_currency(currency)
    except MoneyError as error:
        raise InvalidInput(str(error), errors={"currency": [str(error)]}) from error
    return ParsedAdvice(
        reference=payment_reference.strip(),
        amount=amount,
        currency=code,
        lines=tuple(
            ParsedAdviceLine(number.strip(), paid, discount if discount is not None else Decimal(0))
            for number, paid, discount in lines
        ),
        payer_name=(payer_name or "").strip(),
        payer_account=(payer_account or "").replace(" ", ""),
        payment_date=payment_date,
        end_to_end_id=(end_to_end_id or "").strip(),
    )


def _invoices_by_number(numbers: set[str]) -> dict[str, Invoice]:
    """The tenant's invoices whose number is one of ``numbers`` as written or in upper case.

    Only an exact number is stored as the line's invoice; the engine still finds an open invoice
    by the keys of a number written otherwise ("inv 2024/0001"), when the run reads the advice.
    """
    if not numbers:
        return {}
    found: dict[str, list[Invoice]] = {}
    upper = {n.upper() for n in numbers}
    for invoice in Invoice.objects.filter(number__in=sorted(numbers | upper)).only("id", "number"):
        found.setdefault(invoice.number.upper(), []).append(invoice)
    return {number: rows[0] for number, rows in found.items() if len(rows) == 1}


def _rejected(message: str, problems: list[tuple[str, str]]) -> AdviceRejected:
    grouped: dict[str, list[str]] = {}
    for location, text in problems[:MAX_ERRORS]:
        grouped.setdefault(location or "advice", []).append(text)
    return AdviceRejected(message, errors=grouped)


def _advice_row(
    advice: ParsedAdvice,
    key: str,
    *,
    source: str,
    channel: str,
    file_name: str,
    file_sha256: str,
    user: Any,
) -> RemittanceAdvice | None:
    """The advice's new row, or None when an advice with the same content is stored already.

    The unique key decides, not a look-up first: two imports of the same advice at once both
    pass any look-up, and the second insert waits for the first and then fails on the key; in a
    savepoint, so the import goes on and counts it as a duplicate.
    """
    if RemittanceAdvice.objects.filter(dedup_key=key).exists():
        return None
    try:
        with transaction.atomic():
            return RemittanceAdvice.objects.create(
                source=source,
                channel=channel,
                payer_name=advice.payer_name,
                payer_account=advice.payer_account,
                payment_reference=advice.reference,
                end_to_end_id=advice.end_to_end_id,
                amount=advice.amount,
                currency=advice.currency,
                payment_date=advice.payment_date,
                line_count=len(advice.lines),
                file_name=file_name,
                file_sha256=file_sha256,
                dedup_key=key,
                created_by=user,
            )
    except IntegrityError as error:
        if violated_constraint(error) != "advice_no_duplicates":  # Citus: the shard's copy's name
            raise
        return None


@transaction.atomic
def advices_import(
    *,
    advices: list[ParsedAdvice],
    source: str,
    channel: str,
    actor: Actor = None,
    file_name: str = "",
    file_sha256: str = "",
) -> AdviceImportResult:
    """Store ``advices`` (all checked first; any problem refuses them all) and their lines."""
    if source not in AdviceFormat.values or channel not in AdviceChannel.values:
        raise ValueError(f"unknown advice source {source!r} or channel {channel!r}")
    problems = [
        (advice.location or f"advice {k}", message)
        for k, advice in enumerate(advices)
        for message in validate_advice(advice)
    ]
    if problems:
        raise _rejected(
            f"{len(problems)} problem(s) in the remittance advice(s); nothing was imported", problems
        )
    result = AdviceImportResult(format=source, received=len(advices))
    by_number = _invoices_by_number({line.invoice_number for a in advices for line in a.lines})
    user = actor_user(actor)
    for advice in advices:
        key = _dedup_key(advice)
        row = _advice_row(
            advice,
            key,
            source=source,
            channel=channel,
            file_name=file_name,
            file_sha256=file_sha256,
            user=user,
        )
        if row is None:  # stored before (or by a concurrent import that committed first)
            result.duplicates += 1
            result.advice_ids.append(RemittanceAdvice.objects.values_list("id", flat=True).get(dedup_key=key))
            continue
        lines = [
            RemittanceAdviceLine(
                advice=row,
                position=k,
                invoice_number=line.invoice_number,
                amount=line.amount,
                discount=line.discount,
                invoice=by_number.get(line.invoice_number.upper()),
            )
            for k, line in enumerate(advice.lines, start=1)
        ]
        RemittanceAdviceLine.objects.bulk_create(lines)  # VALUES rows on Citus too: tenants.db.compiler
        audit_record(
            actor=actor,
            action=AuditAction.REMITTANCE_ADVICE_IMPORTED,
            object_id=row.id,
            after={
                "format": source,
                "channel": channel,
                "payment_reference": advice.reference,
                "amount": str(advice.amount),
                "currency": advice.currency,
                "lines": len(advice.lines),
                "file_name": file_name,
            },
        )
        result.imported += 1
        result.advice_ids.append(row.id)
    return result


def advice_file_import(
    *, data: bytes, file_name: str, channel: str, actor: Actor = None
) -> AdviceImportResult:
    """Read an advice file (camt.054 or CSV, detected) and import it whole, or refuse it whole."""
    problem = limits.text_problem(file_name, limits.FILE_NAME)
    if problem is not None:
        raise AdviceRejected("The file name cannot be stored.", errors={"file": [f"File name: {problem}"]})
    limit = min(ADVICE_FILE_MAX_BYTES, settings.REQUEST_BODY_MAX_BYTES)
    if len(data) > limit:
        raise AdviceRejected(
            f"The advice file has {len(data)} bytes; at most {limit}. Split it.",
            errors={"file": [f"at most {limit} bytes"]},
        )
    fmt = detect_format(data)
    try:
        advices = parse_camt054(data) if fmt == "camt054" else parse_csv_advices(data)
    except AdviceParseError as error:
        raise _rejected(
            f"The advice file cannot be imported: {error.message}",
            [(p.location or "file", p.message) for p in error.problems],
        ) from error
    return advices_import(
        advices=advices,
        source=fmt,
        channel=channel,
        actor=actor,
        file_name=file_name,
        file_sha256=hashlib.sha256(data).hexdigest(),
    )
