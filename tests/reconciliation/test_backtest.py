"""Calibration before trust: the backtest (service, command, REST, GraphQL, admin) and shadow mode."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from banking.models import BankTransaction
from invoices.models import Invoice
from reconciliation import backtest, services
from reconciliation.models import Match, MatchStatus, ReconciliationRun
from tenants.context import tenant_context
from tenants.models import AuditEvent, TenantSettings
from tests.banking.factories import make_transaction
from tests.helpers import assert_problem
from tests.invoices.factories import make_invoice, make_vendor
from tests.support.runs import reconcile as run_reconcile

pytestmark = pytest.mark.django_db

D = Decimal
ACME_IBAN = "DE89370400440532013000"
GLOBEX_IBAN = "GB29NWBK60161331926819"


def build_books(world) -> dict[str, object]:
    """Two payments quoting their invoices (confidence 1.0) and one that only comes from the
    vendor's account months late (about 0.91, nothing else blocks it): a person would confirm
    the first two and rejects the third."""
    tenant = world.tenant
    acme = make_vendor(tenant, "Acme Supplies GmbH", iban=ACME_IBAN)
    globex = make_vendor(tenant, "Globex Corporation", iban=GLOBEX_IBAN)
    books = {
        "good_1": make_invoice(tenant, amount="150.00", number="INV-1001", vendor=acme),
        "good_2": make_invoice(tenant, amount="275.00", number="INV-1002", vendor=acme),
        "bad": make_invoice(tenant, amount="200.00", number="INV-2001", vendor=globex),
    }
    make_transaction(
        tenant, amount="150.00", description="Payment INV-1001", counterparty_name="ACME SUPPLIES",
        counterparty_account=ACME_IBAN,
    )  # fmt: skip
    make_transaction(
        tenant, amount="275.00", description="INV-1002 thank you", counterparty_name="ACME SUPPLIES",
        counterparty_account=ACME_IBAN,
    )  # fmt: skip
    make_transaction(
        tenant, amount="200.00", description="services", counterparty_account=GLOBEX_IBAN,
        booking_date=dt.date(2024, 5, 20),
    )  # fmt: skip
    return books


def match_of(world, invoice) -> Match:
    with tenant_context(world.tenant.id):
        return Match.objects.get(allocations__invoice=invoice, status=MatchStatus.PROPOSED)


def decided_books(world) -> tuple[dict[str, object], Match]:
    """The books, one run with auto-confirmation off, and a person's decisions on it."""
    with tenant_context(world.tenant.id):
        TenantSettings.objects.update(auto_confirm_threshold=None)
    books = build_books(world)
    run_reconcile(world.tenant.id)
    decide(world, services.match_confirm, match_of(world, books["good_1"]).pk)
    decide(world, services.match_confirm, match_of(world, books["good_2"]).pk)
    rejected = match_of(world, books["bad"])
    decide(world, services.match_reject, rejected.pk)
    return books, rejected


def decide(world, service, match_id) -> None:
    with tenant_context(world.tenant.id):
        service(match_id=match_id, actor=world.accountant)


def ledger_state(world) -> tuple:
    with tenant_context(world.tenant.id):
        return (
            sorted(Invoice.objects.values_list("number", "amount_paid", "status")),
            sorted(BankTransaction.objects.values_list("description", "allocated_amount", "status")),
            sorted(Match.objects.values_list("id", "status", "would_auto_confirm")),
            AuditEvent.objects.count(),
            ReconciliationRun.objects.count(),
        )


def run_backtest(world, **kwargs) -> backtest.BacktestReport:
    with tenant_context(world.tenant.id):
        return backtest.backtest_run(**kwargs)


# --- The backtest ---------------------------------------------------------------------------------


def test_the_recommendation_avoids_the_threshold_that_would_confirm_a_rejected_pair(world_a):
    _books, rejected = decided_books(world_a)
    assert D("0.90") <= rejected.confidence < D("0.95")  # in the range tried, below the default
    before = ledger_state(world_a)

    report = run_backtest(world_a, min_support=2)

    rows = {row.threshold: row for row in report.calibration.outcomes}
    below = max(t for t in rows if t <= rejected.confidence)  # the highest threshold it passes
    assert (rows[below].auto_confirmed, rows[below].correct, rows[below].wrong) == (3, 2, 1)
    assert rows[D("0.80")].wrong == 1
    above = min(t for t in rows if t > rejected.confidence)
    assert (rows[above].correct, rows[above].wrong) == (2, 0)
    assert report.calibration.recommended_threshold == above
    assert report.calibration.recommended_threshold > rejected.confidence
    [example] = report.calibration.wrong_examples
    assert example.verdict == "rejected" and example.confidence == rejected.confidence
    assert report.decisions == {"confirmed": 2, "rejected": 1, "undone": 0}
    # Read-only: balances, statuses, matches, audit trail and runs exactly as they were.
    assert ledger_state(world_a) == before


def test_an_undone_confirmation_counts_as_wrong_and_support_is_required(world_a):
    books, rejected = decided_books(world_a)
    with tenant_context(world_a.tenant.id):
        good = Match.objects.get(allocations__invoice=books["good_2"])
    decide(world_a, services.match_undo, good.pk)

    report = run_backtest(world_a, min_support=2)

    top = report.calibration.outcomes[-1]  # 0.99: the two 1.0 matches; one was undone
    assert (top.correct, top.wrong) == (1, 1)
    assert report.calibration.recommended_threshold is None
    assert "Even at 0.99" in report.calibration.recommendation
    assert report.decisions == {"confirmed": 1, "rejected": 1, "undone": 1}


def test_auto_confirmations_are_not_evidence_and_the_sample_is_bounded(world_a, settings):
    with tenant_context(world_a.tenant.id):
        TenantSettings.objects.update(auto_confirm_threshold=D("0.95"))
    build_books(world_a)
    run_reconcile(world_a.tenant.id)  # auto-confirms the two 1.0 matches: the engine's own say
    report = run_backtest(world_a, min_support=1)
    assert report.decisions == {"confirmed": 0, "rejected": 0, "undone": 0}
    assert all(row.correct == 0 and row.wrong == 0 for row in report.calibration.outcomes)
    assert report.calibration.recommended_threshold is None

    world = world_a
    with tenant_context(world.tenant.id):
        bad = Match.objects.get(status=MatchStatus.PROPOSED)
    decide(world, services.match_reject, bad.pk)
    settings.BACKTEST_MAX_DECISIONS = 0
    assert run_backtest(world_a).decisions_limited is True
    settings.BACKTEST_MAX_DECISIONS = 1
    limited = run_backtest(world_a)
    assert limited.decisions == {"confirmed": 0, "rejected": 1, "undone": 0}
    assert limited.decisions_limited is False


def test_backtest_command_prints_the_table_and_refuses_bad_thresholds(world_a):
    decided_books(world_a)
    from io import StringIO

    out = StringIO()
    call_command("backtest", "--tenant", str(world_a.tenant.id), "--thresholds", "0.90:0.92:0.01", stdout=out)
    text = out.getvalue()
    assert "threshold" in text.splitlines()[0] and "wrong" in text.splitlines()[0]
    assert len([line for line in text.splitlines() if line.strip().startswith("0.9")]) == 3
    assert "decisions replayed: 2 confirmed, 1 rejected, 0 undone" in text
    for bad in ("0.9:0.8:0.01", "0.5:1.5:0.1", "1e-1", "0.80:0.99:0", "0.123456", "0:1:0.001"):
        with pytest.raises(CommandError):
            call_command(
                "backtest", "--tenant", str(world_a.tenant.id), "--thresholds", bad, stdout=StringIO()
            )


# --- REST --------------------------------------------------------------------------------------------


def backtest_url(world) -> str:
    return f"/v1/tenants/{world.tenant.id}/reconcile/backtest"


def test_rest_backtest_returns_the_table_and_the_recommendation(world_a, world_b, api_client_for, settings):
    settings.BACKTEST_MIN_SUPPORT = 2
    _books, rejected = decided_books(world_a)
    client = api_client_for(world_a.accountant)
    response = client.post(backtest_url(world_a), {"thresholds": ["0.90", "0.91", "0.95"]}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert [row["threshold"] for row in body["thresholds"]] == ["0.9000", "0.9100", "0.9500"]
    assert [row["wrong"] for row in body["thresholds"]] == [1, 0, 0]
    assert body["recommended_threshold"] == "0.9100"
    assert body["wrong_examples"][0]["verdict"] == "rejected"
    assert body["decisions"] == {"confirmed": 2, "rejected": 1, "undone": 0}
    assert body["shadow"]["flagged"] == 0 and body["shadow"]["precision"] is None
    assert body["current_threshold"] is None and body["shadow_mode"] is False
    # {} tries the default range.
    default = client.post(backtest_url(world_a), {}, format="json").json()
    assert len(default["thresholds"]) == 20

    # Another tenant's member sees no such tenant; a viewer may not start one.
    assert_problem(api_client_for(world_b.accountant).post(backtest_url(world_a), {}, format="json"), 404)
    assert_problem(api_client_for(world_a.viewer).post(backtest_url(world_a), {}, format="json"), 403)


@pytest.mark.parametrize(
    "body",
    [
        {"thresholds": ["1.5"]},
        {"thresholds": ["-0.1"]},
        {"thresholds": ["1e-1"]},
        {"thresholds": [True]},
        {"thresholds": ["0.12345"]},
        {"thresholds": []},
        {"thresholds": "0.8:0.9:0.01"},
        {"thresholds": ["0.9"] * 102},
        {"threshold": ["0.9"]},
    ],
)
def test_rest_backtest_refuses_bad_input_and_queues_nothing(world_a, api_client_for, body):
    from jobs.models import Job

    response = api_client_for(world_a.accountant).post(
        backtest_url(world_a), data=json.dumps(body), content_type="application/json"
    )
    assert_problem(response, 400)
    with tenant_context(world_a.tenant.id):
        assert not Job.objects.exists()


# --- GraphQL ------------------------------------------------------------------------------------------


def graphql(client, world, query: str, variables: dict | None = None) -> dict:
    response = client.post(
        f"/v1/tenants/{world.tenant.id}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}),
        content_type="application/json",
    )
    return response.json()


def test_graphql_backtest_mutation_query_and_shadow_precision(world_a, api_client_for):
    decided_books(world_a)
    client = api_client_for(world_a.accountant)
    body = graphql(
        client,
        world_a,
        """mutation { backtest(thresholds: ["0.90", "0.91"]) { completed jobId report {
            recommendedThreshold minSupport decisionsRejected
            thresholds { threshold autoConfirmed correct wrong precision }
            wrongExamples { verdict pairs { invoiceId } } shadow { flagged precision } } } }""",
    )
    assert "errors" not in body, body
    result = body["data"]["backtest"]
    assert result["completed"] is True
    report = result["report"]
    assert [row["wrong"] for row in report["thresholds"]] == [1, 0]
    assert report["decisionsRejected"] == 1
    assert report["wrongExamples"][0]["verdict"] == "rejected"
    again = graphql(
        client,
        world_a,
        "query($id: UUID!) { backtest(jobId: $id) { completed report { thresholds { wrong } } } "
        "shadowPrecision { flagged confirmed precision } }",
        {"id": result["jobId"]},
    )
    assert "errors" not in again, again
    assert [row["wrong"] for row in again["data"]["backtest"]["report"]["thresholds"]] == [1, 0]
    assert again["data"]["shadowPrecision"] == {"flagged": 0, "confirmed": 0, "precision": None}
    refused = graphql(client, world_a, 'mutation { backtest(thresholds: ["2"]) { completed } }')
    assert refused["errors"][0]["extensions"]["code"] in (
        "invalid-input",
        "INVALID_INPUT",
        "invalid_input",
    ), refused


# --- Shadow mode ----------------------------------------------------------------------------------------


def shadow_books(world, *, shadow: bool) -> dict[str, object]:
    with tenant_context(world.tenant.id):
        TenantSettings.objects.update(auto_confirm_threshold=D("0.90"), auto_confirm_shadow=shadow)
    return build_books(world)


def test_shadow_mode_confirms_nothing_and_flags_exactly_what_on_mode_confirms(
    world_a, world_b, api_client_for
):
    shadow_books(world_a, shadow=True)
    shadow_books(world_b, shadow=False)
    before = ledger_state(world_a)

    shadow_run = run_reconcile(world_a.tenant.id)
    on_run = run_reconcile(world_b.tenant.id)

    with tenant_context(world_b.tenant.id):
        confirmed_on = set(
            Match.objects.filter(auto=True, status=MatchStatus.CONFIRMED).values_list(
                "allocations__invoice__number", flat=True
            )
        )
    with tenant_context(world_a.tenant.id):
        flagged = set(
            Match.objects.filter(would_auto_confirm=True).values_list(
                "allocations__invoice__number", flat=True
            )
        )
        assert not Match.objects.exclude(status=MatchStatus.PROPOSED).exists()
        assert not Match.objects.filter(auto=True).exists()
        run = ReconciliationRun.objects.get(pk=shadow_run.run_id)
        assert run.settings_used["auto_confirm_shadow"] is True
        assert not AuditEvent.objects.filter(action="match.auto_confirmed").exists()
    assert confirmed_on == {"INV-1001", "INV-1002", "INV-2001"}  # 0.90: the account-only pair too
    assert flagged == confirmed_on
    assert (shadow_run.auto_confirmed, shadow_run.would_auto_confirm) == (0, 3)
    assert (on_run.auto_confirmed, on_run.would_auto_confirm) == (3, 0)
    assert (run.auto_confirmed_count, run.would_auto_confirm_count) == (0, 3)
    # Balances and statuses untouched by the shadow run.
    after = ledger_state(world_a)
    assert after[0] == before[0] and after[1] == before[1]

    # REST: the flag on matches, its filter, the run's count.
    client = api_client_for(world_a.accountant)
    base = f"/v1/tenants/{world_a.tenant.id}"
    listed = client.get(f"{base}/matches?would_auto_confirm=true").json()["results"]
    assert len(listed) == 3 and all(m["would_auto_confirm"] for m in listed)
    assert client.get(f"{base}/matches?would_auto_confirm=false").json()["results"] == []
    assert_problem(client.get(f"{base}/matches?would_auto_confirm=maybe"), 400)
    assert client.get(f"{base}/reconciliation-runs/{run.pk}").json()["would_auto_confirm_count"] == 3

    # People decide: the shadow's measured precision follows.
    with tenant_context(world_a.tenant.id):
        by_number = {
            number: pk for pk, number in Match.objects.values_list("pk", "allocations__invoice__number")
        }
    decide(world_a, services.match_confirm, by_number["INV-1001"])
    decide(world_a, services.match_reject, by_number["INV-2001"])
    with tenant_context(world_a.tenant.id):
        measured = backtest.shadow_precision()
    assert (measured.flagged, measured.confirmed, measured.rejected, measured.pending) == (3, 1, 1, 1)
    assert measured.precision == D("0.5000")
    report = run_backtest(world_a, min_support=1)
    assert report.shadow_mode is True and report.shadow.precision == D("0.5000")


def test_shadow_mode_dry_run_flags_without_confirming(world_a):
    shadow_books(world_a, shadow=True)
    result = run_reconcile(world_a.tenant.id, dry_run=True)
    assert result.auto_confirmed == 0 and result.would_auto_confirm == 3
    assert all(c.would_auto_confirm and not c.auto_confirmed for c in result.proposals)


def test_shadow_setting_is_exposed_validated_and_audited(world_a, api_client_for):
    client = api_client_for(world_a.owner)
    url = f"/v1/tenants/{world_a.tenant.id}/settings"
    assert client.get(url).json()["auto_confirm_shadow"] is False
    response = client.patch(url, {"auto_confirm_shadow": True}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["auto_confirm_shadow"] is True
    with tenant_context(world_a.tenant.id):
        event = AuditEvent.objects.filter(action="tenant_settings.updated").latest("created_at")
        assert event.before == {"auto_confirm_shadow": False}
        assert event.after["auto_confirm_shadow"] is True
    # Shadow mode measures a threshold: switching the threshold off under it is refused.
    problem = assert_problem(client.patch(url, {"auto_confirm_threshold": None}, format="json"), 400)
    assert "auto_confirm_threshold" in problem["errors"]
    assert_problem(client.patch(url, {"auto_confirm_shadow": "yes please"}, format="json"), 400)
    with tenant_context(world_a.tenant.id):
        row = TenantSettings.objects.get()
        assert row.auto_confirm_threshold == D("0.95") and row.auto_confirm_shadow is True
    body = graphql(
        client,
        world_a,
        "mutation { updateTenantSettings(input: {autoConfirmShadow: false}) { autoConfirmShadow } }",
    )
    assert body["data"]["updateTenantSettings"]["autoConfirmShadow"] is False, body


# --- Admin ----------------------------------------------------------------------------------------------


def test_admin_backtest_page_runs_and_shows_the_table(client, world_a, world_b, settings):
    from tests.admin.conftest import make_staff

    settings.BACKTEST_MIN_SUPPORT = 2
    make_staff(world_a.accountant, world_a.viewer)
    decided_books(world_a)
    client.force_login(world_a.accountant)
    page = client.get("/admin/reconciliation/backtest/").content.decode()
    assert 'id="backtest-none"' in page and 'id="run-backtest"' in page
    response = client.post("/admin/reconciliation/backtest/", {"thresholds": "0.90:0.92:0.01"})
    assert response.status_code == 302
    shown = client.get(response["Location"]).content.decode()
    assert 'id="backtest-table"' in shown
    assert "Recommended threshold: 0.91" in shown
    assert "rejected" in shown
    # The latest backtest is what the page shows by default; a viewer sees it, without the form.
    client.force_login(world_a.viewer)
    viewer_page = client.get("/admin/reconciliation/backtest/").content.decode()
    assert 'id="backtest-table"' in viewer_page and 'id="run-backtest"' not in viewer_page
    assert client.post("/admin/reconciliation/backtest/", {"thresholds": "0.9"}).status_code == 403
    # Bad thresholds: a message, no job.
    client.force_login(world_a.accountant)
    refused = client.post("/admin/reconciliation/backtest/", {"thresholds": "0.9:2:0.5"}, follow=True)
    assert "No backtest" in refused.content.decode()
    # The dashboard's card and the runs list link to it.
    dashboard = client.get("/admin/").content.decode()
    assert 'id="card-calibration"' in dashboard and "Not measured yet" in dashboard
    # The runs list links to it.
    assert (
        "/admin/reconciliation/backtest/"
        in client.get("/admin/reconciliation/reconciliationrun/").content.decode()
    )


def test_a_later_run_renews_the_flag_of_the_proposals_it_keeps(world_a):
    """The flag is the verdict of the latest run that proposed the match (kept ids are updated)."""
    shadow_books(world_a, shadow=True)
    run_reconcile(world_a.tenant.id)
    with tenant_context(world_a.tenant.id):
        first_ids = set(Match.objects.filter(would_auto_confirm=True).values_list("id", flat=True))
    run_reconcile(world_a.tenant.id)
    with tenant_context(world_a.tenant.id):
        assert set(Match.objects.filter(would_auto_confirm=True).values_list("id", flat=True)) == first_ids
        TenantSettings.objects.update(auto_confirm_threshold=D("0.95"))  # the account-only pair drops out
    run_reconcile(world_a.tenant.id)
    with tenant_context(world_a.tenant.id):
        assert set(
            Match.objects.filter(would_auto_confirm=True).values_list(
                "allocations__invoice__number", flat=True
            )
        ) == {"INV-1001", "INV-1002"}
        TenantSettings.objects.update(auto_confirm_shadow=False, auto_confirm_threshold=None)
    run_reconcile(world_a.tenant.id)
    with tenant_context(world_a.tenant.id):
        assert Match.objects.count() == 3 and not Match.objects.filter(would_auto_confirm=True).exists()


def test_a_shadow_run_reports_zero_confirmed_and_what_would_have_been_everywhere(
    world_a, client, api_client_for
):
    """Before: the run's stats kept the engine's ``auto_confirmed`` (3: what it marked eligible)
    although the shadow run confirmed nothing, and ``reconciliation.completed`` did not say what
    would have been confirmed."""
    from events.models import Event, EventType
    from tests.admin.conftest import make_staff

    shadow_books(world_a, shadow=True)
    dry = run_reconcile(world_a.tenant.id, dry_run=True)
    assert (dry.stats["auto_confirmed"], dry.stats["would_auto_confirm"]) == (0, 3)

    result = run_reconcile(world_a.tenant.id)

    with tenant_context(world_a.tenant.id):
        run = ReconciliationRun.objects.get(pk=result.run_id)
        assert not Match.objects.filter(status=MatchStatus.CONFIRMED).exists()
        [completed] = Event.objects.filter(type=EventType.RECONCILIATION_COMPLETED)
    assert (run.stats["auto_confirmed"], run.stats["would_auto_confirm"]) == (0, 3)
    assert (run.auto_confirmed_count, run.would_auto_confirm_count) == (0, 3)
    assert (completed.data["auto_confirmed_count"], completed.data["would_auto_confirm_count"]) == (0, 3)

    api = api_client_for(world_a.accountant)
    rest = api.get(f"/v1/tenants/{world_a.tenant.id}/reconciliation-runs/{run.pk}").json()
    assert (rest["auto_confirmed_count"], rest["would_auto_confirm_count"]) == (0, 3)
    body = graphql(
        api,
        world_a,
        "{ reconciliationRuns(first: 5) { items { id autoConfirmedCount wouldAutoConfirmCount } } }",
    )
    assert body["data"]["reconciliationRuns"]["items"] == [
        {"id": str(run.pk), "autoConfirmedCount": 0, "wouldAutoConfirmCount": 3}
    ]

    make_staff(world_a.accountant)
    client.force_login(world_a.accountant)
    page = client.get(f"/admin/reconciliation/reconciliationrun/{run.pk}/change/").content.decode()
    assert _readonly(page, "auto_confirmed_count") == "0"
    assert _readonly(page, "would_auto_confirm_count") == "3"


def _readonly(page: str, field: str) -> str:
    """The value the admin's change page shows for a read-only field."""
    import re

    found = re.search(rf'field-{field}\b.*?<div class="readonly">(.*?)</div>', page, re.S)
    assert found, field
    return found.group(1).strip()


def test_an_on_run_counts_what_it_confirmed_in_its_stats(world_a):
    shadow_books(world_a, shadow=False)
    result = run_reconcile(world_a.tenant.id)
    with tenant_context(world_a.tenant.id):
        run = ReconciliationRun.objects.get(pk=result.run_id)
    assert (run.stats["auto_confirmed"], run.stats["would_auto_confirm"]) == (3, 0)


def test_a_finished_backtest_job_links_its_report_on_the_jobs_page_and_in_the_api(
    client, world_a, world_b, api_client_for, settings
):
    """Before: a backtest job kept no result link (Jobs page "—", REST ``result`` null)."""
    from tests.admin.conftest import make_staff

    settings.BACKTEST_MIN_SUPPORT = 2
    make_staff(world_a.accountant)
    decided_books(world_a)
    client.force_login(world_a.accountant)
    started = client.post("/admin/reconciliation/backtest/", {"thresholds": "0.90:0.92:0.01"})
    job_id = started["Location"].split("?job=")[1]

    jobs_page = client.get("/admin/jobs/job/?kind__exact=backtest").content.decode()
    report_url = f"/admin/reconciliation/backtest/?job={job_id}"
    assert f'<a href="{report_url}">backtest report</a>' in jobs_page
    assert report_url in client.get(f"/admin/jobs/job/{job_id}/change/").content.decode()
    report_page = client.get(report_url).content.decode()
    assert 'id="backtest-table"' in report_page and "Recommended threshold: 0.91" in report_page

    api = api_client_for(world_a.accountant)
    base = f"/v1/tenants/{world_a.tenant.id}"
    [listed] = api.get(f"{base}/jobs?kind=backtest").json()["results"]
    assert listed["result"]["type"] == "backtest_report" and listed["result"]["id"] == job_id
    followed = api.get(listed["result"]["url"]).json()
    assert followed["id"] == job_id
    assert followed["output"]["recommended_threshold"] == "0.9100"
    # Another tenant's member does not see it.
    assert api_client_for(world_b.accountant).get(listed["result"]["url"]).status_code == 404
