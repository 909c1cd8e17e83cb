"""The same advice imported by several requests at once is stored once, and none of them fails."""

from __future__ import annotations

from decimal import Decimal

import pytest

from remittances.models import AdviceChannel, AdviceFormat, RemittanceAdvice
from remittances.parsing import ParsedAdvice, ParsedAdviceLine
from remittances.services import advices_import
from tenants.context import tenant_context
from tests.test_concurrency import run_threads

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_concurrent_identical_advices_make_one_row(world_a):
    advice = ParsedAdvice(
        "AV-RACE-1", Decimal("30.00"), "USD", (ParsedAdviceLine("INV-1", Decimal("30.00")),)
    )

    def send(_index: int):
        with tenant_context(world_a.tenant.id):
            result = advices_import(advices=[advice], source=AdviceFormat.API, channel=AdviceChannel.API)
        return result.imported, result.duplicates, result.advice_ids

    results = run_threads(8, send)
    assert all(isinstance(r, tuple) for r in results), results
    assert sorted((imported, duplicates) for imported, duplicates, _ in results) == [(0, 1)] * 7 + [(1, 0)]
    assert len({ids[0] for _, _, ids in results}) == 1
    with tenant_context(world_a.tenant.id):
        assert RemittanceAdvice.objects.count() == 1
