"""The remittance services, called directly: an advice is stored whole with its lines (linked to
the invoices it names) or refused whole, and the same advice is never stored twice."""

from __future__ import annotations

from decimal import Decimal

import pytest

from common.errors import InvalidInput
from remittances.models import AdviceChannel, AdviceFormat, RemittanceAdvice, RemittanceAdviceLine
from remittances.services import AdviceRejected, advice_file_import, advices_import, api_advice
from tenants.context import tenant_context
from tests.invoices.factories import make_invoice

pytestmark = pytest.mark.django_db


def _advice(**changes):
    fields = {
        "payment_reference": " RA-1 ",
        "amount": Decimal("150.00"),
        "currency": "usd",
        "lines": [("INV-1", Decimal("100.00"), None), ("inv-2", Decimal("50.00"), Decimal("1.00"))],
        "payer_account": "DE89 3704 0044 0532 0130 00",
    }
    return api_advice(**{**fields, **changes})


def test_an_advice_is_stored_with_its_lines_once(world_a):
    invoice = make_invoice(world_a.tenant, amount="100.00", number="INV-1")
    with tenant_context(world_a.tenant.id):
        advice = _advice()
        assert (advice.reference, advice.currency) == ("RA-1", "USD")
        first = advices_import(advices=[advice], source=AdviceFormat.API, channel=AdviceChannel.API)
        again = advices_import(advices=[_advice()], source=AdviceFormat.API, channel=AdviceChannel.API)
        lines = list(RemittanceAdviceLine.objects.order_by("position"))
        assert RemittanceAdvice.objects.count() == 1
    assert (first.imported, first.duplicates, again.imported, again.duplicates) == (1, 0, 0, 1)
    assert again.advice_ids == first.advice_ids
    assert [(line.invoice_number, line.amount, line.discount) for line in lines] == [
        ("INV-1", Decimal("100.00"), Decimal("0")),
        ("inv-2", Decimal("50.00"), Decimal("1.00")),
    ]
    assert lines[0].invoice_id == invoice.id and lines[1].invoice_id is None  # no invoice INV-2 (yet)


def test_an_unknown_currency_is_refused_naming_the_field(world_a):
    with tenant_context(world_a.tenant.id), pytest.raises(InvalidInput) as refused:
        _advice(currency="EURO")
    assert set(refused.value.errors) == {"currency"}


def test_one_bad_advice_refuses_them_all(world_a):
    with tenant_context(world_a.tenant.id):
        good = _advice()
        bad = _advice(payment_reference="RA-2", amount=Decimal("999.00"))  # the lines add up to 150
        with pytest.raises(AdviceRejected):
            advices_import(advices=[good, bad], source=AdviceFormat.API, channel=AdviceChannel.API)
        assert not RemittanceAdvice.objects.exists()


def test_a_file_that_is_not_an_advice_is_refused_whole(world_a):
    with tenant_context(world_a.tenant.id):
        with pytest.raises(AdviceRejected):
            advice_file_import(data=b"\x00\x01 not an advice", file_name="x.bin", channel=AdviceChannel.FILE)
        with pytest.raises(AdviceRejected) as named:
            advice_file_import(data=b"", file_name="m" * 1000 + ".csv", channel=AdviceChannel.FILE)
        assert set(named.value.errors) == {"file"}
        assert not RemittanceAdvice.objects.exists()
