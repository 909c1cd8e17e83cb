"""One row in every tenant table for a tenant, so isolation tests cover every table.

When a new tenant model is added, add a row for it here: the RLS tests fail for any tenant
table that has no rows (an empty table proves nothing).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from banking.models import (
    BankAccount,
    BankStatement,
    BankTransaction,
    ImportBatch,
    ImportSource,
    InternalTransfer,
    TransactionStatus,
)
from events.models import DeliveryStatus, Event, EventType, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from events.services import new_secret
from invoices.models import EvidenceKind, Invoice, Vendor, VendorLearnedEvidence
from jobs.models import Job, JobInput, JobKind
from reconciliation.models import Match, MatchAllocation, MatchShape, ReconciliationRun
from remittances.models import RemittanceAdvice, RemittanceAdviceLine
from tenants.audit import AuditAction, audit_record
from tenants.context import tenant_context
from tenants.models import IdempotencyKey, Invitation, Role, Tenant


def seed_every_tenant_table(tenant: Tenant) -> dict[str, object]:
    """Create one object per tenant model inside the tenant's context; returns them by name."""
    with tenant_context(tenant.id):
        vendor = Vendor.objects.create(name=f"{tenant.name} Supplies", iban="DE89370400440532013000")
        invoice = Invoice.objects.create(
            number="INV-1001",
            vendor=vendor,
            amount=Decimal("150.00"),
            currency="USD",
            description="Consulting Services",
            issue_date=dt.date(2023, 10, 1),
            due_date=dt.date(2023, 10, 31),
        )
        account = BankAccount.objects.create(identifier="DE02120300000000202051", name="Main", currency="USD")
        batch = ImportBatch.objects.create(source=ImportSource.API, received_count=1, imported_count=1)
        transaction = BankTransaction.objects.create(
            account=account,
            import_batch=batch,
            amount=Decimal("150.00"),
            currency="USD",
            booking_date=dt.date(2023, 10, 25),
            description="Payment INV-1001",
            dedup_key="ref:seed-1",
        )
        # Statements on an account and batch of their own, and a second statement continuing the
        # first: each parent is referenced by one kind of child only, so every reference's tests
        # (tests/tenants/test_rls.py) see their own key.
        statement_account = BankAccount.objects.create(identifier="NL91ABNA0417164300", name="Statements")
        statement_batch = ImportBatch.objects.create(source=ImportSource.FILE, file_format="camt053")
        statement, statement_next = (
            BankStatement.objects.create(
                account=statement_account,
                import_batch=statement_batch,
                file_format="camt053",
                statement_id=f"SEED-STMT-{number}",
                currency="USD",
                opening_balance=opening,
                closing_balance=opening + Decimal("150.00"),
                closing_date=dt.date(2023, 10, 24 + number),
                movements_sum=Decimal("150.00"),
                movements_count=1,
                movement_difference=Decimal("0.00"),
                fingerprint=f"seed-{number}",
            )
            for number, opening in ((1, Decimal("0.00")), (2, Decimal("150.00")))
        )
        statement_next.previous_statement = statement
        statement_next.opening_difference = Decimal("0.00")
        statement_next.save(update_fields=["previous_statement", "opening_difference"])
        transaction.statement = statement_next
        transaction.save(update_fields=["statement"])
        savings = BankAccount.objects.create(
            identifier="DE89370400440532013000", name="Savings", currency="USD"
        )
        leg_out, leg_in = (
            BankTransaction.objects.create(
                account=leg_account,
                import_batch=batch,
                amount=amount,
                currency="USD",
                booking_date=dt.date(2023, 10, 26),
                description="Own transfer",
                dedup_key=f"ref:seed-transfer-{amount}",
                status=TransactionStatus.INTERNAL,
            )
            for leg_account, amount in ((account, Decimal("-75.00")), (savings, Decimal("75.00")))
        )
        transfer = InternalTransfer.objects.create(outgoing=leg_out, incoming=leg_in, days_apart=0)
        key = IdempotencyKey.objects.create(
            key="seed-key",
            fingerprint="0" * 64,
            response_status=201,
            response_body={"ok": True},
            expires_at=timezone.now() + dt.timedelta(hours=1),
        )
        run = ReconciliationRun.objects.create(engine_version="seed")
        match = Match.objects.create(run=run, shape=MatchShape.ONE_TO_ONE, confidence=Decimal("0.9"))
        allocation = MatchAllocation.objects.create(
            match=match,
            transaction=transaction,
            invoice=invoice,
            amount=Decimal("150.00"),
            invoice_amount=Decimal("150.00"),
        )
        invitation = Invitation.objects.create(
            tenant=tenant,
            invitee=f"invitee-of-{tenant.name.split()[0].lower()}@example.com",
            role=Role.VIEWER,
            expires_at=timezone.now() + dt.timedelta(days=1),
        )
        learned = VendorLearnedEvidence.objects.create(
            vendor=vendor,
            kind=EvidenceKind.ALIAS,
            value=f"{tenant.name} Holding",
            normalized_value=f"{tenant.name.lower()} holding",
            taught_by=[match.id],
        )
        job = Job.objects.create(kind=JobKind.STATEMENT_IMPORT, params={}, source="seed")
        job_input = JobInput.objects.create(
            job=job, file_name="seed.csv", content=b"x", size=1, sha256="0" * 64
        )
        advice = RemittanceAdvice.objects.create(
            source="api",
            channel="api",
            payer_name=f"{tenant.name} Customer",
            payment_reference="AV-SEED-1",
            amount=Decimal("150.00"),
            currency="USD",
            line_count=1,
            dedup_key="0" * 64,
        )
        # An invoice only the advice line names: deleting it must be refused by that line's key.
        advised_invoice = Invoice.objects.create(
            number="INV-1002",
            amount=Decimal("150.00"),
            currency="USD",
            description="Named by a remittance advice",
            issue_date=dt.date(2023, 10, 1),
            due_date=dt.date(2023, 10, 31),
        )
        advice_line = RemittanceAdviceLine.objects.create(
            advice=advice,
            position=1,
            invoice_number="INV-1002",
            amount=Decimal("150.00"),
            invoice=advised_invoice,
        )
        audit_record(actor=None, action=AuditAction.MATCH_CONFIRMED, object_id=match.id, after={"ok": 1})
        endpoint = WebhookEndpoint.objects.create(
            url=f"https://erp.{tenant.name.split()[0].lower()}.example.com/hooks",
            event_types=[EventType.MATCH_CONFIRMED],
            secret=new_secret(),
        )
        event = Event.objects.create(
            type=EventType.MATCH_CONFIRMED,
            object_type="match",
            object_id=match.id,
            data={"match_id": str(match.id)},
        )
        delivery = WebhookDelivery.objects.create(
            event=event, endpoint=endpoint, status=DeliveryStatus.SUCCEEDED, attempt_count=1
        )
        attempt = WebhookAttempt.objects.create(
            delivery=delivery, number=1, url=endpoint.url, succeeded=True, response_code=200, latency_ms=12
        )
    return {
        "run": run,
        "match": match,
        "allocation": allocation,
        "vendor": vendor,
        "invoice": invoice,
        "account": account,
        "batch": batch,
        "transaction": transaction,
        "statement_account": statement_account,
        "statement_batch": statement_batch,
        "statement": statement,
        "statement_next": statement_next,
        "leg_out": leg_out,
        "leg_in": leg_in,
        "transfer": transfer,
        "idempotency_key": key,
        "invitation": invitation,
        "job": job,
        "job_input": job_input,
        "learned_evidence": learned,
        "advice": advice,
        "advice_line": advice_line,
        "advised_invoice": advised_invoice,
        "webhook": endpoint,
        "event": event,
        "delivery": delivery,
        "attempt": attempt,
    }
