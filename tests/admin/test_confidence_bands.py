"""One definition of the confidence bands (issue 16): the match list's bar, its filter and the
workbench put a match in the same band, by its exact confidence, and show the percent rounded
down so the number never contradicts the band. Before, the list's bar rounded 0.8950 to "90%"
and coloured it high, while its own filter "High (90% and more)" and the workbench said medium."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from reconciliation.models import (
    ConfidenceBand,
    Match,
    confidence_band,
    confidence_band_filter,
    confidence_percent,
)
from tenants.context import tenant_context

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("confidence", "band", "percent"),
    [
        ("1.0000", ConfidenceBand.HIGH, 100),
        ("0.9000", ConfidenceBand.HIGH, 90),
        ("0.8999", ConfidenceBand.MEDIUM, 89),
        ("0.8950", ConfidenceBand.MEDIUM, 89),
        ("0.6000", ConfidenceBand.MEDIUM, 60),
        ("0.5999", ConfidenceBand.LOW, 59),
        ("0.3000", ConfidenceBand.LOW, 30),
    ],
)
def test_band_and_percent(confidence: str, band: ConfidenceBand, percent: int) -> None:
    assert confidence_band(Decimal(confidence)) == band
    assert confidence_percent(Decimal(confidence)) == percent


def test_the_filter_is_the_band(staff_a, ledger_a, proposal_a) -> None:
    with tenant_context(staff_a.tenant.id):
        for confidence in ("0.9500", "0.9000", "0.8950", "0.6000", "0.5999"):
            Match.objects.filter(pk=proposal_a).update(confidence=Decimal(confidence))
            match = Match.objects.get(pk=proposal_a)
            for band in ConfidenceBand:
                selected = Match.objects.filter(confidence_band_filter(band)).filter(pk=proposal_a).exists()
                assert selected is (band == confidence_band(match.confidence)), (confidence, band)


def test_list_filter_and_workbench_agree(login, staff_a, ledger_a, proposal_a) -> None:
    with tenant_context(staff_a.tenant.id):
        Match.objects.filter(pk=proposal_a).update(confidence=Decimal("0.8950"))
    client = login(staff_a.viewer)
    page = client.get("/admin/reconciliation/match/").content.decode()
    bar = re.search(r'class="recon-confidence recon-(\w+)".*?</span></span> (\d+)%', page)
    assert bar is not None
    assert bar.groups() == ("medium", "89")
    high = client.get("/admin/reconciliation/match/?confidence=high").content.decode()
    medium = client.get("/admin/reconciliation/match/?confidence=medium").content.decode()
    assert "recon-confidence" not in high
    assert "recon-confidence recon-medium" in medium
    bench = client.get("/admin/reconciliation/workbench/").content.decode()
    assert f'class="recon-proposal recon-medium" tabindex="0" data-match-id="{proposal_a}"' in bench
    assert '<strong class="recon-percent">89%</strong>' in bench
