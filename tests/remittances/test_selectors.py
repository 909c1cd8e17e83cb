"""Which advices a run reads: recent ones with something still open or not yet found."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from invoices.models import Invoice
from remittances import selectors
from remittances.models import AdviceChannel, AdviceFormat, RemittanceAdvice
from remittances.parsing import ParsedAdvice, ParsedAdviceLine
from remittances.services import advices_import
from tenants.context import tenant_context
from tests.invoices.factories import make_invoice

pytestmark = pytest.mark.django_db


def store(reference: str, *numbers: str) -> None:
    lines = tuple(ParsedAdviceLine(number, Decimal("10.00")) for number in numbers)
    advice = ParsedAdvice(reference, Decimal("10.00") * len(lines), "USD", lines)
    advices_import(advices=[advice], source=AdviceFormat.API, channel=AdviceChannel.API)


def test_open_advices_are_recent_and_still_have_something_to_pay(world_a, world_b):
    paid = make_invoice(world_a.tenant, amount="10.00", number="INV-PAID")
    open_ = make_invoice(world_a.tenant, amount="10.00", number="INV-OPEN")
    with tenant_context(world_a.tenant.id):
        Invoice.objects.filter(pk=paid.pk).update(status="paid", amount_paid=Decimal("10.00"))
        store("AV-DONE", "INV-PAID")
        store("AV-OPEN", "INV-OPEN", "INV-PAID")
        store("AV-UNKNOWN", "INV-LATER")
        store("AV-OLD", "INV-OPEN-2")
        RemittanceAdvice.objects.filter(payment_reference="AV-OLD").update(
            created_at=timezone.now() - dt.timedelta(days=selectors.ADVICE_OPEN_DAYS + 1)
        )
        inputs = {advice.reference: advice for advice in selectors.open_advice_inputs()}
    assert set(inputs) == {"AV-OPEN", "AV-UNKNOWN"}
    # The open invoice is passed by id; the paid one is left to the engine's number look-up.
    assert [line.invoice_id for line in inputs["AV-OPEN"].lines] == [str(open_.id), ""]
    with tenant_context(world_b.tenant.id):
        assert selectors.open_advice_inputs() == []
