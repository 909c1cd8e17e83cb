"""Writes on vendors and invoices of the active tenant (call inside ``tenant_context``).

Every function validates everything first and raises ``InvalidInput`` with per-field errors
before it writes anything; state rules answer ``Conflict``. Rows are found through the
tenant-scoped managers, so another tenant's id behaves exactly like an unknown one.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from decimal import Decimal
from typing import Any, TextIO

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, RestrictedError

from common import limits
from common.errors import Conflict, InvalidInput, NotFound, is_foreign_key_violation, violated_constraint
from common.finance import (
    AmountError,
    MoneyError,
    compact_iban,
    exact_decimal,
    iban_problem,
    normalize_currency,
    parse_money,
    quantize,
)
from common.finance.terms import PaymentTerms, TermsError, check_terms, parse_payment_terms
from events.models import EventType
from events.services import event_record
from tenants.audit import Actor, AuditAction, actor_user, audit_record, audit_records
from tenants.selectors import tenant_default_currency
from tenants.statistics import analyze_if_stale

from .models import Invoice, InvoiceKind, InvoiceStatus, Vendor, VendorLearnedEvidence

Errors = dict[str, list[str]]

FALLBACK_CURRENCY = "USD"
INVOICE_NUMBER_CONSTRAINT = "invoice_number_unique_per_tenant"
INVOICE_VENDOR_FK = "invoices_invoice_vendor_id_same_tenant_fk"
VENDOR_NAME_CONSTRAINT = "vendor_name_unique_per_tenant"

_VOID_INSTEAD = 'void it instead (PATCH with {"status": "void"})'


# --- helpers -----------------------------------------------------------------------------------


def _raise_if(errors: Errors) -> None:
    if errors:
        raise InvalidInput("The request has invalid fields.", errors=errors)


def _add(errors: Errors, field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def _check_length(errors: Errors, field: str, value: str, limit: int) -> None:
    """A text over its bound (``common.limits``), or holding NUL, is a field error."""
    problem = limits.text_problem(value, limit)
    if problem is not None:
        _add(errors, field, problem)


def _currency(errors: Errors, code: object) -> str | None:
    try:
        return normalize_currency(code)
    except MoneyError as error:
        _add(errors, "currency", str(error))
        return None


def _amount(errors: Errors, value: object, currency: str) -> Decimal | None:
    """Exact, positive, at most the currency's minor unit of decimals (no rounding)."""
    try:
        amount = parse_money(value, currency)
    except MoneyError as error:
        _add(errors, "amount", str(error))
        return None
    if amount <= 0:
        _add(errors, "amount", "The amount must be greater than zero.")
        return None
    return amount


TERMS_FIELDS = ("discount_percent", "discount_days", "net_days")


def _terms(errors: Errors, given: Mapping[str, Any], current: PaymentTerms) -> dict[str, Any] | None:
    """The invoice's new payment terms from ``given``, or None when it gives none.

    Terms come as printed text (``payment_terms``: "2/10 net 30", read by the one strict
    reader, ``common.finance.terms.parse_payment_terms``; "" or null removes them) or as the
    fields ``discount_percent``, ``discount_days``, ``net_days`` (a partial update keeps the
    fields not given), never both at once. Anything the rules refuse is a field error: a
    percent is never rounded and a text never guessed.
    """
    fields = [name for name in TERMS_FIELDS if name in given]
    if "payment_terms" in given:
        if fields:
            _add(errors, "payment_terms", f"Give the terms as text or as {', '.join(fields)}, not both.")
            return None
        text = given["payment_terms"]
        try:
            terms = parse_payment_terms(text) if text is not None and text.strip() else PaymentTerms()
        except TermsError as error:
            _add(errors, "payment_terms", str(error))
            return None
    elif fields:
        merged = {name: given[name] if name in given else getattr(current, name) for name in TERMS_FIELDS}
        percent = merged["discount_percent"]
        if percent is not None and not isinstance(percent, Decimal):
            try:
                percent = exact_decimal(percent)
            except AmountError as error:
                _add(errors, "discount_percent", f"Not an exact percent: {error}.")
                return None
        try:
            terms = check_terms(percent, merged["discount_days"], merged["net_days"])
        except TermsError as error:
            _add(errors, fields[0], str(error))
            return None
    else:
        return None
    return {
        "discount_percent": terms.discount_percent,
        "discount_days": terms.discount_days,
        "net_days": terms.net_days,
    }


def _current_terms(invoice: Invoice) -> PaymentTerms:
    return PaymentTerms(invoice.discount_percent, invoice.discount_days, invoice.net_days)


def _check_dates(errors: Errors, issue_date: dt.date | None, due_date: dt.date | None) -> None:
    if issue_date is not None and due_date is not None and due_date < issue_date:
        _add(errors, "due_date", "The due date cannot be before the issue date.")


def _vendor_choice(
    errors: Errors, *, vendor_id: uuid.UUID | None, vendor_name: str | None
) -> tuple[Vendor | None, str | None]:
    """``(existing vendor, name of a vendor to create)`` for the given id and/or name.

    An id of another tenant is not visible here and reads "No such vendor", so a client
    cannot learn that it exists.
    """
    name = vendor_name.strip() if vendor_name is not None else None
    if name is not None:
        if not name:
            _add(errors, "vendor_name", "This field may not be blank.")
            return None, None
        _check_length(errors, "vendor_name", name, limits.NAME)
    if vendor_id is not None:
        vendor = Vendor.objects.filter(id=vendor_id).first()
        if vendor is None:
            _add(errors, "vendor_id", "No such vendor.")
            return None, None
        if name is not None and name != vendor.name:
            _add(errors, "vendor_name", "Does not match the name of the vendor given by vendor_id.")
        return vendor, None
    if name:
        vendor = Vendor.objects.filter(name=name).first()
        return (vendor, None) if vendor is not None else (None, name)
    return None, None


def _vendor_for_name(name: str, actor: Actor) -> Vendor:
    """The vendor named ``name``, created (and audited, ``vendor.created``) if there is none."""
    # get_or_create retries the read when a concurrent request created the same name first.
    vendor, created = Vendor.objects.get_or_create(name=name)
    if created:
        _audit_change(actor, AuditAction.VENDOR_CREATED, vendor, None, _state(vendor, _VENDOR_AUDITED))
    return vendor


def _ensure_number_free(number: str, *, exclude_id: uuid.UUID | None = None) -> None:
    if not number:
        return
    others = Invoice.objects.filter(number=number)
    if exclude_id is not None:
        others = others.exclude(id=exclude_id)
    if others.exists():
        raise Conflict(f"An invoice numbered {number!r} already exists.")


def _save_invoice(invoice: Invoice, **save_kwargs: Any) -> None:
    """Save in a savepoint; the database's last word on races becomes a client error."""
    try:
        with transaction.atomic():
            invoice.save(**save_kwargs)
    except IntegrityError as error:
        constraint = violated_constraint(error)
        if constraint == INVOICE_NUMBER_CONSTRAINT:
            raise Conflict(f"An invoice numbered {invoice.number!r} already exists.") from error
        if constraint == INVOICE_VENDOR_FK:  # the vendor was deleted concurrently
            raise InvalidInput(
                "The request has invalid fields.", errors={"vendor_id": ["No such vendor."]}
            ) from error
        raise


def _lock_invoice(invoice_id: uuid.UUID) -> Invoice:
    # Row lock: amount_paid is changed by reconciliation; decisions below depend on it.
    invoice: Invoice | None = Invoice.objects.select_for_update(of=("self",)).filter(id=invoice_id).first()
    if invoice is None:
        raise NotFound("No such invoice.")
    return invoice


# --- audit ------------------------------------------------------------------------------------

_INVOICE_AUDITED = (
    "number",
    "vendor_id",
    "kind",
    "amount",
    "currency",
    "description",
    "issue_date",
    "due_date",
    "structured_reference",
    "status",
    *TERMS_FIELDS,
)
_VENDOR_AUDITED = ("name", "iban", "account_reference", "aliases")


def _state(obj: Invoice | Vendor, fields: Iterable[str]) -> dict[str, Any]:
    state = {field: getattr(obj, field) for field in fields}
    if "amount" in state:  # as the API shows it: the currency's minor unit, not the column's scale
        state["amount"] = quantize(Decimal(state["amount"]), state["currency"])
    return state


def _audit_change(
    actor: Actor,
    action: AuditAction,
    obj: Invoice | Vendor,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """One audit event; for an update only the fields that really changed, before and after."""
    if before is not None and after is not None:
        changed = [field for field in after if before.get(field) != after[field]]
        if not changed:
            return
        before = {field: before[field] for field in changed}
        after = {field: after[field] for field in changed}
    audit_record(
        actor=actor,
        action=action,
        object_id=obj.pk,
        before=before,
        after=after,
    )


# --- invoices ----------------------------------------------------------------------------------


@transaction.atomic
def invoice_create(
    *,
    amount: Decimal | int | str,
    description: str = "",
    number: str = "",
    currency: str | None = None,
    vendor_id: uuid.UUID | None = None,
    vendor_name: str | None = None,
    issue_date: dt.date | None = None,
    due_date: dt.date | None = None,
    kind: str = InvoiceKind.RECEIVABLE,
    structured_reference: str = "",
    discount_percent: Decimal | None = None,
    discount_days: int | None = None,
    net_days: int | None = None,
    payment_terms: str | None = None,
    actor: Actor = None,
) -> Invoice:
    """Create an invoice; an unknown ``vendor_name`` creates that vendor.

    Payment terms come as ``payment_terms`` text or as the three fields (see ``_terms``).

    ``currency`` defaults to the tenant's default currency. ``amount`` is parsed exactly (no
    float, no rounding). A number already used in this tenant is a ``Conflict``. The change is
    audited as ``actor``'s (every interface, the admin included, records through here).
    """
    errors: Errors = {}
    code = _currency(errors, currency) if currency is not None else tenant_default_currency()
    value = _amount(errors, amount, code) if code is not None else None
    number = number.strip()
    structured_reference = structured_reference.strip()
    description = description.strip()
    _check_length(errors, "number", number, limits.INVOICE_NUMBER)
    _check_length(errors, "description", description, limits.DESCRIPTION)
    _check_length(errors, "structured_reference", structured_reference, limits.INVOICE_REFERENCE)
    _check_dates(errors, issue_date, due_date)
    if kind not in InvoiceKind.values:
        _add(errors, "kind", f"Choose one of {InvoiceKind.values}.")
    given_terms = {
        name: value
        for name, value in (
            ("discount_percent", discount_percent),
            ("discount_days", discount_days),
            ("net_days", net_days),
            ("payment_terms", payment_terms),
        )
        if value is not None
    }
    terms = _terms(errors, given_terms, PaymentTerms()) or {}
    vendor, new_vendor_name = _vendor_choice(errors, vendor_id=vendor_id, vendor_name=vendor_name)
    _raise_if(errors)
    # Both are set once _raise_if has passed; the asserts narrow the types.
    assert code is not None
    assert value is not None
    _ensure_number_free(number)

    if new_vendor_name is not None:
        vendor = _vendor_for_name(new_vendor_name, actor)
    invoice = Invoice(
        number=number,
        vendor=vendor,
        kind=kind,
        amount=value,
        currency=code,
        description=description,
        issue_date=issue_date,
        due_date=due_date,
        structured_reference=structured_reference,
        **terms,
    )
    _save_invoice(invoice)
    _audit_change(actor, AuditAction.INVOICE_CREATED, invoice, None, _state(invoice, _INVOICE_AUDITED))
    return invoice


_INVOICE_TEXT_FIELDS = {
    "number": limits.INVOICE_NUMBER,
    "description": limits.DESCRIPTION,
    "structured_reference": limits.INVOICE_REFERENCE,
}


def _text_changes(errors: Errors, data: Mapping[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for field, limit in _INVOICE_TEXT_FIELDS.items():
        if field in data:
            text = (data[field] or "").strip()
            _check_length(errors, field, text, limit)
            changes[field] = text
    return changes


def _money_changes(errors: Errors, invoice: Invoice, data: Mapping[str, Any]) -> dict[str, Any]:
    """``amount``/``currency`` as given; a new currency alone must fit the current amount."""
    changes: dict[str, Any] = {}
    currency = invoice.currency
    if "currency" in data:
        currency = _currency(errors, data["currency"]) or currency
    if "amount" in data:
        amount = _amount(errors, data["amount"], currency)
        if amount is not None:
            changes["amount"] = amount
    elif currency != invoice.currency:
        try:
            parse_money(invoice.amount, currency)
        except MoneyError as error:
            _add(errors, "currency", f"The invoice amount does not fit this currency: {error}")
    if currency != invoice.currency:
        changes["currency"] = currency
    return changes


def _date_changes(errors: Errors, invoice: Invoice, data: Mapping[str, Any]) -> dict[str, Any]:
    issue_date = data.get("issue_date", invoice.issue_date)
    due_date = data.get("due_date", invoice.due_date)
    _check_dates(errors, issue_date, due_date)
    return {field: data[field] for field in ("issue_date", "due_date") if field in data}


def _vendor_changes(errors: Errors, data: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The vendor to set (``None`` detaches) and, if it is to be created, its name."""
    detach = "vendor_id" in data and data["vendor_id"] is None
    if detach and data.get("vendor_name") is not None:
        _add(errors, "vendor_name", "Does not match vendor_id null (which detaches the vendor).")
    elif "vendor_id" in data or "vendor_name" in data:
        vendor, new_vendor_name = _vendor_choice(
            errors, vendor_id=data.get("vendor_id"), vendor_name=data.get("vendor_name")
        )
        return {"vendor": vendor}, new_vendor_name
    return {}, None


def _ensure_money_may_change(invoice: Invoice, changes: Mapping[str, Any]) -> None:
    # Re-sending the current amount is not a change (clients often PATCH whole objects).
    money_changed = any(
        field in changes and changes[field] != getattr(invoice, field) for field in ("amount", "currency")
    )
    if money_changed and invoice.amount_paid != 0:
        raise Conflict(
            "The amount and currency cannot change once payments are recorded against the invoice."
        )


def _void_change(invoice: Invoice) -> dict[str, Any]:
    """The one rule for voiding: any status but void itself (payments stay recorded)."""
    if invoice.status == InvoiceStatus.VOID:
        raise Conflict("The invoice is already void.")
    return {"status": InvoiceStatus.VOID}


def _apply_changes(invoice: Invoice, changes: Mapping[str, Any]) -> None:
    for field, value in changes.items():
        setattr(invoice, field, value)
    update_fields = [("vendor_id" if field == "vendor" else field) for field in changes]
    _save_invoice(invoice, update_fields=[*update_fields, "updated_at"])


@transaction.atomic
def invoice_update(
    *,
    invoice_id: uuid.UUID,
    data: Mapping[str, Any],
    actor: Actor = None,
) -> Invoice:
    """Change the fields present in ``data`` (a partial update).

    ``amount``/``currency`` may change only while nothing is paid; ``status`` may only become
    ``void`` (from any other status). Payment terms: ``payment_terms`` text or the fields
    (``_terms``). ``vendor_id: None`` detaches the vendor. The fields that changed are audited
    (``invoice.voided`` or ``invoice.updated``).

    ``{"status": "void"}`` alone is :func:`invoice_void`. With other fields it stays one write
    and one ``invoice.voided`` event (all checked first, nothing half-applied), as the REST
    PATCH always answered; the void rule itself is the same helper either way.
    """
    if set(data) == {"status"} and data["status"] == InvoiceStatus.VOID:
        return invoice_void(invoice_id=invoice_id, actor=actor)
    invoice = _lock_invoice(invoice_id)
    before = _state(invoice, _INVOICE_AUDITED)
    errors: Errors = {}
    changes = _text_changes(errors, data)
    changes.update(_money_changes(errors, invoice, data))
    changes.update(_date_changes(errors, invoice, data))
    changes.update(_terms(errors, data, _current_terms(invoice)) or {})
    if "status" in data and data["status"] != InvoiceStatus.VOID:
        _add(errors, "status", 'Only "void" can be set; payments set the other statuses.')
    vendor_changes, new_vendor_name = _vendor_changes(errors, data)
    changes.update(vendor_changes)
    _raise_if(errors)

    _ensure_money_may_change(invoice, changes)
    if "status" in data:
        changes.update(_void_change(invoice))
    if "number" in changes:
        _ensure_number_free(changes["number"], exclude_id=invoice.id)
    if new_vendor_name is not None:
        changes["vendor"] = _vendor_for_name(new_vendor_name, actor)
    _apply_changes(invoice, changes)
    action = AuditAction.INVOICE_VOIDED if "status" in changes else AuditAction.INVOICE_UPDATED
    _audit_change(actor, action, invoice, before, _state(invoice, _INVOICE_AUDITED))
    return invoice


@transaction.atomic
def invoice_void(*, invoice_id: uuid.UUID, actor: Actor = None) -> Invoice:
    """Void an invoice (any status but void): it stays for the record, its payments and matches
    unchanged, and leaves the open items. Audited as ``invoice.voided``."""
    invoice = _lock_invoice(invoice_id)
    before = _state(invoice, _INVOICE_AUDITED)
    _apply_changes(invoice, _void_change(invoice))
    _audit_change(actor, AuditAction.INVOICE_VOIDED, invoice, before, _state(invoice, _INVOICE_AUDITED))
    return invoice


@transaction.atomic
def invoice_delete(*, invoice_id: uuid.UUID, actor: Actor = None) -> None:
    """Delete an invoice nothing has been paid on or matched to; others must be voided."""
    invoice = _lock_invoice(invoice_id)
    before = _state(invoice, _INVOICE_AUDITED)
    if invoice.amount_paid != 0 or invoice.status in (InvoiceStatus.PAID, InvoiceStatus.PARTIALLY_PAID):
        raise Conflict(f"Payments are recorded against this invoice; {_VOID_INSTEAD}.")
    if invoice.status != InvoiceStatus.OPEN:
        raise Conflict("A void invoice is kept for the record and cannot be deleted.")
    invoice_pk = invoice.pk
    try:
        with transaction.atomic():
            invoice.delete()
    except (ProtectedError, RestrictedError) as error:
        raise Conflict(f"Reconciliation matches refer to this invoice; {_VOID_INSTEAD}.") from error
    except IntegrityError as error:
        if is_foreign_key_violation(error):
            raise Conflict(f"Other records refer to this invoice; {_VOID_INSTEAD}.") from error
        raise
    invoice.pk = invoice_pk
    _audit_change(actor, AuditAction.INVOICE_DELETED, invoice, before, None)


# --- vendors -----------------------------------------------------------------------------------


def normalize_iban(value: str) -> str:
    """A vendor's IBAN as stored (compact, upper case), "" for none; ``InvalidInput`` unless
    it is a valid IBAN by the financial kernel's rule (``common.finance.iban``)."""
    iban = compact_iban(value)
    if not iban:
        return ""
    problem = iban_problem(iban)
    if problem is not None:
        raise InvalidInput("The IBAN is not valid.", errors={"iban": [problem]})
    return iban


def _clean_aliases(errors: Errors, aliases: Iterable[str]) -> list[str]:
    """Stripped, non-blank, each once (first spelling kept); at most ``ALIASES_PER_VENDOR``."""
    given = list(aliases)
    if len(given) > limits.ALIASES_PER_VENDOR:
        _add(errors, "aliases", f"Ensure this field has no more than {limits.ALIASES_PER_VENDOR} elements.")
        return []
    cleaned: list[str] = []
    for alias in given:
        text = alias.strip()
        if text and text not in cleaned:
            _check_length(errors, "aliases", text, limits.NAME)
            cleaned.append(text)
    return cleaned


def _clean_vendor_fields(errors: Errors, data: Mapping[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if "name" in data:
        name = (data["name"] or "").strip()
        if not name:
            _add(errors, "name", "This field may not be blank.")
        _check_length(errors, "name", name, limits.NAME)
        fields["name"] = name
    if "iban" in data:
        try:
            fields["iban"] = normalize_iban(data["iban"] or "")
        except InvalidInput as error:
            errors.update(error.errors or {})
    if "account_reference" in data:
        reference = (data["account_reference"] or "").strip()
        _check_length(errors, "account_reference", reference, limits.ACCOUNT)
        fields["account_reference"] = reference
    if "aliases" in data:
        fields["aliases"] = _clean_aliases(errors, data["aliases"] or [])
    return fields


def _ensure_vendor_name_free(name: str, *, exclude_id: uuid.UUID | None = None) -> None:
    others = Vendor.objects.filter(name=name)
    if exclude_id is not None:
        others = others.exclude(id=exclude_id)
    if others.exists():
        raise Conflict(f"A vendor named {name!r} already exists.")


def _save_vendor(vendor: Vendor, **save_kwargs: Any) -> None:
    try:
        with transaction.atomic():
            vendor.save(**save_kwargs)
    except IntegrityError as error:
        if violated_constraint(error) == VENDOR_NAME_CONSTRAINT:
            raise Conflict(f"A vendor named {vendor.name!r} already exists.") from error
        raise


@transaction.atomic
def vendor_create(
    *,
    name: str,
    iban: str = "",
    account_reference: str = "",
    aliases: Iterable[str] = (),
    actor: Actor = None,
) -> Vendor:
    """Create a vendor; the name is unique in the tenant, the IBAN is normalised and checked."""
    errors: Errors = {}
    fields = _clean_vendor_fields(
        errors,
        {"name": name, "iban": iban, "account_reference": account_reference, "aliases": list(aliases)},
    )
    _raise_if(errors)
    _ensure_vendor_name_free(fields["name"])
    vendor = Vendor(**fields)
    _save_vendor(vendor)
    _audit_change(actor, AuditAction.VENDOR_CREATED, vendor, None, _state(vendor, _VENDOR_AUDITED))
    return vendor


@transaction.atomic
def vendor_update(
    *,
    vendor_id: uuid.UUID,
    data: Mapping[str, Any],
    actor: Actor = None,
) -> Vendor:
    """Change the fields present in ``data`` (name, iban, account_reference, aliases)."""
    vendor: Vendor | None = Vendor.objects.select_for_update().filter(id=vendor_id).first()
    if vendor is None:
        raise NotFound("No such vendor.")
    before = _state(vendor, _VENDOR_AUDITED)
    errors: Errors = {}
    fields = _clean_vendor_fields(errors, data)
    _raise_if(errors)
    if "name" in fields:
        _ensure_vendor_name_free(fields["name"], exclude_id=vendor.id)
    for field, value in fields.items():
        setattr(vendor, field, value)
    _save_vendor(vendor, update_fields=[*fields, "updated_at"])
    _audit_change(actor, AuditAction.VENDOR_UPDATED, vendor, before, _state(vendor, _VENDOR_AUDITED))
    return vendor


@transaction.atomic
def vendor_delete(*, vendor_id: uuid.UUID, actor: Actor = None) -> None:
    """Delete a vendor that no invoice refers to."""
    # The lock makes a concurrent invoice insert for this vendor wait (its FK check needs a
    # key-share lock), so the check below cannot be overtaken.
    vendor: Vendor | None = Vendor.objects.select_for_update().filter(id=vendor_id).first()
    if vendor is None:
        raise NotFound("No such vendor.")
    invoice_count = Invoice.objects.filter(vendor_id=vendor.id).count()
    if invoice_count:
        raise Conflict(f"The vendor still has {invoice_count} invoice(s); reassign or delete them first.")
    before = _state(vendor, _VENDOR_AUDITED)
    vendor_pk = vendor.pk
    try:
        with transaction.atomic():
            vendor.delete()
    except (ProtectedError, RestrictedError) as error:
        raise Conflict("Other records refer to this vendor.") from error
    except IntegrityError as error:
        if is_foreign_key_violation(error):
            raise Conflict("Other records refer to this vendor.") from error
        raise
    vendor.pk = vendor_pk
    _audit_change(actor, AuditAction.VENDOR_DELETED, vendor, before, None)


# --- learned payer names and accounts ------------------------------------------------------------


def _evidence_state(evidence: VendorLearnedEvidence) -> dict[str, Any]:
    return {
        "vendor_id": evidence.vendor_id,
        "kind": evidence.kind,
        "value": evidence.value,
        "taught_by": [str(match_id) for match_id in evidence.taught_by],
    }


@dataclass(frozen=True)
class PayerFact:
    """A payer name or account a confirmed match showed for a vendor: what to learn, with the
    engine's comparison key (``reconciliation.engine.payers``; this app stays below it)."""

    vendor_id: uuid.UUID
    kind: str
    value: str
    normalized_value: str


def vendor_evidence_learn(
    *,
    facts: Iterable[PayerFact],
    match_id: uuid.UUID,
    actor: Actor,
) -> list[VendorLearnedEvidence]:
    """Record what a confirmed match taught (call inside the confirmation's transaction).

    ``facts`` are what the vendor's own fields (name, aliases, accounts) do not say already (the
    caller compares them with the engine's keys). A fact not learned yet becomes a learned alias or
    account (audited ``vendor_learned_evidence.created``); one already learned remembers this match as
    another teacher (up to ``limits.LEARNED_TEACHERS``), so undoing either match alone keeps it.
    The vendors are locked first (in id order), so two confirmations teaching the same value
    serialise instead of colliding on the unique key. Past ``LEARNED_EVIDENCE_PER_VENDOR`` a
    vendor learns nothing more (the confirmation itself is not refused for that).
    """
    by_vendor: dict[uuid.UUID, dict[tuple[str, str], PayerFact]] = {}
    for fact in facts:
        if len(fact.value) > limits.NAME or len(fact.normalized_value) > limits.NAME:
            continue  # never cut to fit (a ligature-laden name can grow when normalised)
        if fact.normalized_value:
            by_vendor.setdefault(fact.vendor_id, {}).setdefault((fact.kind, fact.normalized_value), fact)
    if not by_vendor:
        return []
    list(Vendor.objects.select_for_update().filter(pk__in=sorted(by_vendor)).order_by("pk").values_list("pk"))
    learned: list[VendorLearnedEvidence] = []
    for vendor_id, wanted in sorted(by_vendor.items()):
        existing = {
            (row.kind, row.normalized_value): row
            for row in VendorLearnedEvidence.objects.filter(vendor_id=vendor_id).order_by()
        }
        count = len(existing)
        for key, fact in wanted.items():
            row = existing.get(key)
            if row is not None:
                if match_id not in row.taught_by and len(row.taught_by) < limits.LEARNED_TEACHERS:
                    row.taught_by = [*row.taught_by, match_id]
                    row.save(update_fields=["taught_by", "updated_at"])
                continue
            if count >= limits.LEARNED_EVIDENCE_PER_VENDOR:
                continue
            row = VendorLearnedEvidence.objects.create(
                vendor_id=vendor_id,
                kind=fact.kind,
                value=fact.value,
                normalized_value=fact.normalized_value,
                taught_by=[match_id],
                created_by=actor_user(actor),
            )
            count += 1
            learned.append(row)
            audit_record(
                actor=actor,
                action=AuditAction.VENDOR_LEARNED_EVIDENCE_CREATED,
                object_id=row.pk,
                after={**_evidence_state(row), "match_id": str(match_id)},
            )
    return learned


def vendor_evidence_forget(*, match_id: uuid.UUID, actor: Actor) -> int:
    """An undone match teaches nothing any more: drop it from what it taught, and delete the
    evidence it was the last teacher of (audited ``vendor_learned_evidence.deleted``). Returns how many
    were deleted."""
    deleted = 0
    rows = VendorLearnedEvidence.objects.select_for_update().filter(taught_by__contains=[match_id])
    for row in rows.order_by("pk"):
        before = _evidence_state(row)
        row.taught_by = [taught for taught in row.taught_by if taught != match_id]
        if row.taught_by:
            row.save(update_fields=["taught_by", "updated_at"])
            continue
        row_pk = row.pk
        row.delete()
        deleted += 1
        audit_record(
            actor=actor,
            action=AuditAction.VENDOR_LEARNED_EVIDENCE_DELETED,
            object_id=row_pk,
            before=before,
            after={"cause": "match.undone", "match_id": str(match_id)},
        )
    return deleted


@transaction.atomic
def vendor_evidence_delete(
    *, vendor_id: uuid.UUID, evidence_id: uuid.UUID, actor: Actor
) -> None:
    """A person removes a learned payer name or account of a vendor (audited); the engine no
    longer counts it from the next run. A later confirmation may teach it again."""
    row = (
        VendorLearnedEvidence.objects.select_for_update().filter(pk=evidence_id, vendor_id=vendor_id).first()
    )
    if row is None:
        raise NotFound("No such learned payer name or account of this vendor.")
    before = _evidence_state(row)
    row_pk = row.pk
    row.delete()
    audit_record(
        actor=actor,
        action=AuditAction.VENDOR_LEARNED_EVIDENCE_DELETED,
        object_id=row_pk,
        before=before,
        after={"cause": "deleted"},
    )


# --- bulk import (ERP exports) -------------------------------------------------------------------

INVOICE_CSV_COLUMNS = {
    "number": ("number", "invoice", "invoice_number", "invoice no", "nr"),
    "amount": ("amount", "total", "gross", "amount_due"),
    "currency": ("currency", "ccy"),
    "description": ("description", "memo", "text"),
    "issue_date": ("issue_date", "date", "invoice_date", "issued"),
    "due_date": ("due_date", "due"),
    "vendor_name": ("vendor", "vendor_name", "customer", "customer_name", "counterparty"),
    "kind": ("kind", "type"),
    "structured_reference": ("structured_reference", "reference", "rf"),
    "payment_terms": ("payment_terms", "terms"),
    "discount_percent": ("discount_percent", "discount_pct", "cash_discount_percent"),
    "discount_days": ("discount_days", "cash_discount_days"),
    "net_days": ("net_days",),
}
BULK_CHUNK_SIZE = 5000
MAX_BULK_ERRORS = 50


class InvoiceImportRejected(InvalidInput):
    """Rows of an invoice import are invalid; nothing was imported."""

    code = "import-rejected"
    title = "Import rejected"


@dataclass
class InvoiceImportResult:
    """What a bulk invoice import did."""

    created: int = 0
    skipped_existing: list[str] = dataclass_field(default_factory=list)
    vendors_created: int = 0
    rows: int = 0


def _iso_date(errors: Errors, name: str, value: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        _add(errors, name, f"{value!r} is not a date in YYYY-MM-DD form.")
        return None


def _bulk_row(raw: Mapping[str, str], default_currency: str) -> tuple[Invoice | None, str, Errors]:
    """Validate one CSV row into an unsaved Invoice (vendor attached later by name)."""
    errors: Errors = {}
    value = {key: (raw.get(key) or "").strip() for key in INVOICE_CSV_COLUMNS}
    code = _currency(errors, value["currency"] or default_currency)
    amount = _amount(errors, value["amount"], code) if code else None
    _check_length(errors, "number", value["number"], limits.INVOICE_NUMBER)
    _check_length(errors, "description", value["description"], limits.DESCRIPTION)
    _check_length(errors, "vendor_name", value["vendor_name"], limits.NAME)
    _check_length(errors, "structured_reference", value["structured_reference"], limits.INVOICE_REFERENCE)
    issue_date = _iso_date(errors, "issue_date", value["issue_date"])
    due_date = _iso_date(errors, "due_date", value["due_date"])
    _check_dates(errors, issue_date, due_date)
    kind = value["kind"].lower() or InvoiceKind.RECEIVABLE
    if kind not in InvoiceKind.values:
        _add(errors, "kind", f"Choose one of {InvoiceKind.values}.")
    terms = _terms(errors, _csv_terms(errors, value), PaymentTerms()) or {}
    if errors or code is None:
        return None, value["vendor_name"], errors
    invoice = Invoice(
        number=value["number"],
        kind=kind,
        amount=amount,
        currency=code,
        description=value["description"],
        issue_date=issue_date,
        due_date=due_date,
        structured_reference=value["structured_reference"],
        **terms,
    )
    return invoice, value["vendor_name"], errors


def _csv_terms(errors: Errors, value: Mapping[str, str]) -> dict[str, Any]:
    """A row's payment-terms cells as ``_terms`` takes them (empty cells are not given)."""
    given: dict[str, Any] = {}
    if value["payment_terms"]:
        given["payment_terms"] = value["payment_terms"]
    if value["discount_percent"]:
        given["discount_percent"] = value["discount_percent"]
    for name in ("discount_days", "net_days"):
        if value[name]:
            if not value[name].isdigit() or len(value[name]) > 3:
                _add(errors, name, f"{value[name][:20]!r} is not a number of days between 1 and 365.")
                continue
            given[name] = int(value[name])
    return given


def map_invoice_csv_header(header: list[str]) -> dict[int, str]:
    """Column index -> our field, from common header spellings (case and spaces ignored)."""

    def normalized(title: str) -> str:
        return re.sub(r"[\s\-]+", "_", title.strip().lower())

    wanted = {normalized(alias): name for name, aliases in INVOICE_CSV_COLUMNS.items() for alias in aliases}
    mapping: dict[int, str] = {}
    for index, title in enumerate(header):
        name = wanted.get(normalized(title))
        if name and name not in mapping.values():
            mapping[index] = name
    return mapping


@transaction.atomic
def invoice_csv_rows(handle: TextIO, *, delimiter: str | None = None) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) pairs of an ERP's invoice CSV export (header row required).

    The delimiter is detected among ``, ; tab |`` unless given. The one reader behind
    ``manage.py import_invoices`` and its queued form (invoices/tasks.py).
    """
    sample = handle.read(8192)
    handle.seek(0)
    if not delimiter:
        try:
            delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    reader = csv.reader(handle, delimiter=delimiter)
    header = next(reader, None)
    if not header:
        raise InvoiceImportRejected("The file is empty.")
    mapping = map_invoice_csv_header(header)
    if "amount" not in mapping.values():
        raise InvoiceImportRejected(f"No amount column in the header {header!r}.")
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        yield reader.line_num, {name: row[index] for index, name in mapping.items() if index < len(row)}


def invoice_bulk_import(
    *, rows: Iterable[tuple[int, Mapping[str, str]]], progress: Any = None, actor: Actor = None
) -> InvoiceImportResult:
    """Import invoices from (line number, row) pairs, all or nothing.

    Numbers that already exist in the tenant are skipped and listed; a number repeated inside
    the file, or any invalid row, rejects the whole import with every problem by line. Each
    invoice and vendor created is audited like one created alone (``invoice.created``,
    ``vendor.created``, the same state), one INSERT per chunk.
    """
    default_currency = tenant_default_currency()
    result = InvoiceImportResult()
    errors: Errors = {}
    seen_numbers: set[str] = set()
    vendors: dict[str, Vendor] = {}
    chunk: list[tuple[Invoice, str]] = []

    def flush() -> None:
        numbers = [invoice.number for invoice, _ in chunk if invoice.number]
        existing = set(Invoice.objects.filter(number__in=numbers).values_list("number", flat=True))
        names = {
            name for invoice, name in chunk if name and name not in vendors and invoice.number not in existing
        }
        if names:
            for vendor in Vendor.objects.filter(name__in=names):
                vendors[vendor.name] = vendor
            missing = [Vendor(name=name) for name in sorted(names - set(vendors))]
            for vendor in Vendor.objects.bulk_create(missing):
                vendors[vendor.name] = vendor
            result.vendors_created += len(missing)
            audit_records(
                actor=actor,
                action=AuditAction.VENDOR_CREATED,
                changes=((vendor.pk, None, _state(vendor, _VENDOR_AUDITED)) for vendor in missing),
            )
        fresh = []
        for invoice, name in chunk:
            if invoice.number in existing:
                result.skipped_existing.append(invoice.number)
                continue
            invoice.vendor = vendors.get(name) if name else None
            fresh.append(invoice)
        Invoice.objects.bulk_create(fresh)
        audit_records(
            actor=actor,
            action=AuditAction.INVOICE_CREATED,
            changes=((invoice.pk, None, _state(invoice, _INVOICE_AUDITED)) for invoice in fresh),
        )
        result.created += len(fresh)
        chunk.clear()

    for line, raw in rows:
        result.rows += 1
        invoice, vendor_name, row_errors = _bulk_row(raw, default_currency)
        if invoice is not None and invoice.number:
            if invoice.number in seen_numbers:
                row_errors = {"number": [f"{invoice.number!r} appears more than once in the file."]}
            seen_numbers.add(invoice.number)
        if row_errors:
            if len(errors) < MAX_BULK_ERRORS:
                for name, messages in row_errors.items():
                    errors[f"line {line}: {name}"] = messages
            continue
        if errors:
            continue  # everything will be rolled back; keep validating only
        chunk.append((invoice, vendor_name))  # type: ignore[arg-type]
        if len(chunk) >= BULK_CHUNK_SIZE:
            flush()
            if progress is not None:
                progress(result.rows)
    if errors:
        raise InvoiceImportRejected(
            f"{len(errors)} problem(s) in the file; nothing was imported.", errors=errors
        )
    if chunk:
        flush()
    if progress is not None:
        progress(result.rows)
    event_record(
        EventType.IMPORT_COMPLETED,
        {
            "kind": "invoices",
            "rows": result.rows,
            "created": result.created,
            "skipped_existing": len(result.skipped_existing),
            "vendors_created": result.vendors_created,
        },
        object_type="invoice_import",
    )
    analyze_if_stale(Invoice, rows_added=result.created)
    return result
