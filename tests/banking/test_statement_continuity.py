"""Imported statements: stored with their balances, recognised when imported again, and checked
for continuity (a missing statement, one imported twice, one that does not add up), including
when an earlier statement arrives after its successor."""

from __future__ import annotations

import io
import threading
from decimal import Decimal

import pytest
from django.db import connections

from banking import selectors
from banking.models import BankStatement, BankTransaction, ImportBatch
from banking.services import ImportRejected, statement_import
from tenants.context import tenant_context
from tests.banking.statement_builders import IBAN_SAVINGS, Entry, Statement, camt, mt940
from tests.samples import statement_samples_dir

pytestmark = pytest.mark.django_db
SAMPLES = statement_samples_dir()
D = Decimal


def month(number: int, opening: str, closing: str, *entries: Entry, **fields) -> Statement:
    """The statement of March (3), April (4), ... 2024 of the main account."""
    fields.setdefault("statement_id", f"STMT-{number}")
    return Statement(
        opening=opening,
        closing=closing,
        opening_date=f"2024-{number:02d}-01",
        closing_date=f"2024-{number:02d}-28",
        sequence=str(number),
        entries=list(entries),
        **fields,
    )


MARCH = month(3, "100.00", "150.00", Entry("50.00", "2024-03-05", "M-1"))
APRIL = month(4, "150.00", "120.00", Entry("-30.00", "2024-04-05", "A-1"))
MAY = month(5, "120.00", "200.00", Entry("80.00", "2024-05-05", "Y-1"))


def load(world, data: bytes, name: str = "statement.xml"):
    with tenant_context(world.tenant.id):
        return statement_import(stream=io.BytesIO(data), file_name=name)


def chain(world) -> list[tuple[str, bool, Decimal | None, str | None]]:
    """Each statement as (id, has_break, opening difference, previous statement's id), by month."""
    with tenant_context(world.tenant.id):
        return [
            (
                s.statement_id,
                s.has_break,
                s.opening_difference,
                s.previous_statement.statement_id if s.previous_statement else None,
            )
            for s in BankStatement.objects.select_related("previous_statement").order_by("closing_date")
        ]


def test_consecutive_statements_continue_each_other(world_a):
    result = load(world_a, camt(MARCH, APRIL))
    assert [s.statement_id for s in result.statements] == ["STMT-3", "STMT-4"]
    assert not any(s.has_break for s in result.statements)
    assert chain(world_a) == [("STMT-3", False, None, None), ("STMT-4", False, D(0), "STMT-3")]
    with tenant_context(world_a.tenant.id):
        april = BankStatement.objects.get(statement_id="STMT-4")
        checks = {c.name: c for c in selectors.statement_checks(april)}
        assert checks["previous_closing"].status == "ok"
        assert checks["movements"].status == "ok"
        assert checks["movements"].detail == (
            "The opening balance 150.00 EUR plus 1 transaction(s) (-30.00 EUR) is 120.00 EUR, "
            "the closing balance."
        )
        # Each transaction knows the statement it came with.
        assert BankTransaction.objects.get(external_id="A-1").statement_id == april.pk


def test_a_missing_statement_is_a_break_until_it_arrives(world_a):
    load(world_a, camt(MARCH), "march.xml")
    result = load(world_a, camt(MAY), "may.xml")
    assert result.imported == 1  # the import succeeds: a break is reported, not refused
    (may,) = result.statements
    assert may.has_break
    assert may.opening_difference == D("-30.00")
    with tenant_context(world_a.tenant.id):
        (gap,) = selectors.statement_breaks(selectors.statement_get(statement_id=may.pk))
    assert gap.name == "previous_closing"
    assert gap.detail == (
        "The opening balance 120.00 EUR differs by -30.00 EUR from the closing balance 150.00 EUR of the "
        "previous statement (STMT-3 3, 2024-03-28): a statement is missing between them, or one was "
        "imported twice."
    )
    # April arrives last and closes the gap it left.
    load(world_a, camt(APRIL), "april.xml")
    assert chain(world_a) == [
        ("STMT-3", False, None, None),
        ("STMT-4", False, D(0), "STMT-3"),
        ("STMT-5", False, D(0), "STMT-4"),
    ]


def test_the_same_statement_again_is_recognised_not_stored_twice(world_a):
    first = load(world_a, camt(MARCH), "march.xml")
    # Another file name and a new bank id (a copy the bank sent again): the same statement.
    copy = camt(month(3, "100.00", "150.00", Entry("50.00", "2024-03-05", "M-1"), statement_id="COPY"))
    again = load(world_a, copy, "march-copy.xml")
    assert (again.imported, again.duplicates) == (0, 1)
    assert [s.pk for s in again.statements] == [s.pk for s in first.statements]
    assert again.new_statement_ids == set()
    with tenant_context(world_a.tenant.id):
        assert BankStatement.objects.count() == 1
        assert BankStatement.objects.get().import_batch_id == first.batch.pk
    assert chain(world_a) == [("STMT-3", False, None, None)]


def test_a_statement_imported_twice_with_other_content_breaks_the_chain(world_a):
    """A corrected March (one more entry) is not the same statement: the chain shows it."""
    load(world_a, camt(MARCH, APRIL))
    corrected = month(
        3, "100.00", "160.00", Entry("50.00", "2024-03-05", "M-1"), Entry("10.00", "2024-03-06", "M-2")
    )
    load(world_a, camt(corrected), "march-corrected.xml")
    with tenant_context(world_a.tenant.id):
        rows = list(BankStatement.objects.order_by("closing_date", "id").values_list("has_break", flat=True))
    assert sorted(rows) == [False, True, True]  # the second March, and April after it


def test_a_statement_that_does_not_add_up_is_a_break(world_a):
    short = month(3, "100.00", "160.00", Entry("50.00", "2024-03-05", "M-1"))
    (statement,) = load(world_a, camt(short)).statements
    assert statement.has_break
    assert statement.movement_difference == D("10.00")
    with tenant_context(world_a.tenant.id):
        (found,) = selectors.statement_breaks(statement)
    assert found.name == "movements"
    assert found.detail.endswith("but the closing balance is 160.00 EUR: a difference of 10.00 EUR.")


def test_ofx_statements_say_which_checks_do_not_apply(world_a):
    path = SAMPLES / "ofx/ofxparse__checking.ofx"
    if not path.exists():
        pytest.skip("statement samples not found")
    (statement,) = load(world_a, path.read_bytes(), path.name).statements
    assert (statement.opening_balance, statement.closing_balance) == (None, D("100.99"))
    assert not statement.has_break
    with tenant_context(world_a.tenant.id):
        checks = selectors.statement_checks(statement)
    assert [c.status for c in checks] == ["not_applicable", "not_applicable"]
    assert "OFX reports only the closing balance" in checks[0].detail


def test_csv_imports_store_no_statement(world_a):
    load(world_a, b"date;amount;description\n2024-03-01;1,00;x\n", "bank.csv")
    with tenant_context(world_a.tenant.id):
        assert BankStatement.objects.count() == 0
        assert BankTransaction.objects.get().statement_id is None


def test_chains_are_per_account_and_currency(world_a):
    savings = month(4, "0.00", "10.00", Entry("10.00", "2024-04-02", "S-1"), account=IBAN_SAVINGS)
    load(world_a, camt(MARCH, savings))
    usd = month(4, "5.00", "5.00", currency="USD")
    load(world_a, camt(usd), "usd.xml")
    with tenant_context(world_a.tenant.id):
        assert not BankStatement.objects.filter(has_break=True).exists()
        assert (
            not BankStatement.objects.exclude(statement_id="STMT-3").exclude(previous_statement=None).exists()
        )


def test_mt940_pages_chain_by_statement_and_page_number(world_a):
    """Two pages of one day, imported in reverse order: the sequence puts them in order."""
    page_two = mt940(
        opening="C240301EUR900,00",
        closing="C240301EUR850,00",
        number="00007/002",
        lines=(":61:2403010301D50,00NTRFREF-2//B-2", ":86:Fee"),
        opening_tag="60M",
    )
    page_one = mt940(closing="C240301EUR900,00", number="00007/001", closing_tag="62M")
    load(world_a, page_two.encode(), "p2.sta")
    load(world_a, page_one.encode(), "p1.sta")
    with tenant_context(world_a.tenant.id):
        rows = list(
            BankStatement.objects.values_list("sequence", "has_break", "previous_statement__sequence")
        )
    assert sorted(rows) == [("00007/001", False, None), ("00007/002", False, "00007/001")]


def test_balances_follow_the_currencys_minor_units_or_the_file_is_refused(world_a):
    yen = camt(Statement(opening="100", closing="100.5", currency="JPY"))
    with pytest.raises(ImportRejected) as refused:
        load(world_a, yen)
    assert refused.value.errors == {"Stmt[0]": ["closing balance 100.5 has more decimals than JPY allows"]}
    with tenant_context(world_a.tenant.id):
        assert (BankStatement.objects.count(), ImportBatch.objects.count()) == (0, 0)


def test_a_statement_without_transactions_creates_its_account(world_a):
    empty = month(4, "10.00", "10.00", account=IBAN_SAVINGS)
    result = load(world_a, camt(empty))
    assert (result.imported, len(result.statements)) == (0, 1)
    assert result.statements[0].account.identifier == IBAN_SAVINGS


def test_other_tenants_statements_are_not_part_of_the_chain(world_a, world_b):
    load(world_b, camt(MARCH))
    (may,) = load(world_a, camt(MAY)).statements
    assert may.previous_statement_id is None
    assert not may.has_break


@pytest.mark.django_db(transaction=True)
def test_concurrent_imports_of_one_account_see_each_others_statements(world_a):
    """April and May imported at the same moment: the second to refresh waits for the first's
    lock on the account and sees its statement, so no break is left behind."""
    load(world_a, camt(MARCH), "march.xml")
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(data: bytes, name: str) -> None:
        try:
            barrier.wait(timeout=10)
            load(world_a, data, name)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=run, args=(camt(APRIL), "april.xml")),
        threading.Thread(target=run, args=(camt(MAY), "may.xml")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert chain(world_a) == [
        ("STMT-3", False, None, None),
        ("STMT-4", False, D(0), "STMT-3"),
        ("STMT-5", False, D(0), "STMT-4"),
    ]


def test_the_command_imports_and_reports_each_break(world_a, tmp_path):
    from django.core.management import call_command

    march, may = tmp_path / "march.xml", tmp_path / "may.xml"
    march.write_bytes(camt(MARCH))
    may.write_bytes(camt(MAY))
    out = io.StringIO()
    tenant = str(world_a.tenant.id)
    call_command("import_bank_statement", str(march), str(may), "--tenant", tenant, stdout=out)
    lines = out.getvalue().splitlines()
    assert [line for line in lines if line.startswith("  statement")] == [
        "  statement STMT-5 5 (2024-05-28): The opening balance 120.00 EUR differs by -30.00 EUR from the "
        "closing balance 150.00 EUR of the previous statement (STMT-3 3, 2024-03-28): a statement is missing "
        "between them, or one was imported twice."
    ]
