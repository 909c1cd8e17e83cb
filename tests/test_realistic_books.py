"""The realistic book generator (bench/realistic.py, issue 17): deterministic, and its labels
agree with the transactions the statement parsers read back (what the accuracy bench scores
by). Pure: no database."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from rapidfuzz.distance import OSA
from stdnum import iban
from stdnum.be import ogm_vcs

from bench.realistic import (
    DK_NAME_FIELD,
    KINDS,
    NON_INVOICE_KINDS,
    PAYMENT_KINDS,
    SWIFT_NAME_LINE,
    generate,
    processor_fee,
    swift_x,
    transliterate,
)
from common.finance import is_valid_rf, looks_like_iban

ROOT = Path(__file__).resolve().parents[1]
ACCOUNT_OF_FAMILY = {
    "dk_mt940": "DE", "abn_mt940": "NL", "camt053": "BE", "us_ach": "US", "us_fedwire": "US",
    "uk_fps": "GB", "uk_bacs": "GB",
}  # fmt: skip


@pytest.fixture(scope="module")
def book():
    return generate(2500, 3)


@pytest.fixture(scope="module")
def books(book):
    """The realistic mix plus one small book per payment kind alone (every kind is checked)."""
    return [book] + [generate(80, 11, kind) for kind in PAYMENT_KINDS]


def by_kind(books, kind):
    for one in books:
        invoices = {invoice.id: invoice for invoice in one.invoices}
        transactions = {tx.id: tx for tx in one.transactions}
        for label in one.labels.values():
            if label.kind == kind:
                yield one, label, transactions[label.transaction_id], invoices


# -- determinism -----------------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_book_and_another_seed_another():
    assert generate(300, 5).digest() == generate(300, 5).digest()
    assert generate(300, 5).digest() != generate(300, 6).digest()


def test_the_book_does_not_depend_on_the_process_hash_seed():
    """Two processes with different string hashing produce the same book (no set order leaks in)."""
    code = "from bench.realistic import generate; print(generate(400, 9).digest())"
    digests = {
        subprocess.run(  # noqa: S603 - this interpreter, fixed code
            [sys.executable, "-c", code],
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for hash_seed in ("1", "4242")
    }
    assert len(digests) == 1 and generate(400, 9).digest() in digests


def test_every_kind_alone_makes_books_of_that_kind(books):
    for kind, one in zip(PAYMENT_KINDS, books[1:], strict=True):
        kinds = {label.kind for label in one.labels.values()}
        assert kind in kinds, kind


def test_the_realistic_mix_holds_every_kind_and_every_format(book):
    assert {label.kind for label in book.labels.values()} == set(KINDS)
    assert {label.family for label in book.labels.values()} == set(ACCOUNT_OF_FAMILY)


# -- labels agree with the money -------------------------------------------------------------------


def test_every_transaction_has_one_label_and_the_allocations_are_its_money(books):
    for one in books:
        invoices = {invoice.id: invoice for invoice in one.invoices}
        assert [tx.id for tx in one.transactions] == list(one.labels)
        settled: dict[str, Decimal] = defaultdict(Decimal)
        for tx in one.transactions:
            label = one.labels[tx.id]
            assert label.kind in KINDS
            if label.kind in NON_INVOICE_KINDS:
                assert label.allocations == () and label.outcome != "invoices"
                continue
            assert sum(a.amount for a in label.allocations) == abs(tx.amount), tx.id
            for allocation in label.allocations:
                invoice = invoices[allocation.invoice_id]
                assert invoice.currency == tx.currency
                assert (tx.amount > 0) == (invoice.direction == "receivable")
                assert Decimal(0) < allocation.amount <= allocation.settles <= invoice.amount
                settled[invoice.id] += allocation.settles
            if label.difference:
                assert sum(a.settles - a.amount for a in label.allocations) == label.difference_amount > 0
        assert all(settled[i] <= invoices[i].amount for i in settled), "an invoice paid more than once"


def test_a_batch_pays_invoices_of_one_customer_within_the_kinds_bounds(books):
    bounds = {"batch_advice": (2, 20), "batch_quoted": (2, 10), "subset_sum": (2, 6)}
    for kind, (low, high) in bounds.items():
        found = 0
        for _one, label, _tx, invoices in by_kind(books, kind):
            found += 1
            assert low <= len(label.allocations) <= high
            assert len({invoices[a.invoice_id].counterparty_id for a in label.allocations}) == 1
        assert found, kind


def test_an_advice_lists_exactly_what_its_batch_pays(books):
    for one, label, tx, invoices in by_kind(books, "batch_advice"):
        (advice,) = [advice for advice in one.advices if advice.transaction_id == tx.id]
        assert advice.total == abs(tx.amount) == sum(line.amount for line in advice.lines)
        assert [line.invoice_id for line in advice.lines] == [a.invoice_id for a in label.allocations]
        for line, allocation in zip(advice.lines, label.allocations, strict=True):
            assert line.amount == allocation.amount and line.amount + line.discount == allocation.settles
            assert (
                line.invoice_number.replace(" ", "").lower()
                in (
                    invoices[line.invoice_id].number.replace(" ", "").lower(),
                    "".join(ch for ch in invoices[line.invoice_id].number if ch.isalnum()).lower(),
                    invoices[line.invoice_id].number.replace("-", "/").lower(),
                )
                or OSA.distance(line.invoice_number, invoices[line.invoice_id].number) <= 4
            )
        assert advice.render()  # every channel renders


def test_a_discounted_payment_is_the_amount_less_the_percentage(books):
    found = 0
    for one, label, tx, invoices in by_kind(books, "discount"):
        (allocation,) = label.allocations
        invoice = invoices[allocation.invoice_id]
        (terms,) = [terms for terms in one.terms if terms.invoice_id == invoice.id]
        expected = (invoice.amount * (1 - terms.discount_percent / 100)).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP
        )
        assert abs(tx.amount) == expected == terms.discounted_amount
        assert label.difference == "discount" and label.difference_amount == invoice.amount - expected
        # paid within the discount period; the bank books it up to a few (business) days later
        assert (tx.value_date or tx.booking_date) <= terms.discount_until + timedelta(days=5)
        found += 1
    assert found


def test_a_processor_pays_the_sale_less_its_fee(books):
    for _one, label, tx, invoices in by_kind(books, "processor"):
        (allocation,) = label.allocations
        gross = invoices[allocation.invoice_id].amount
        fee = processor_fee(gross, Decimal(label.facts["fee_percent"]), Decimal(label.facts["fee_fixed"]))
        assert tx.amount == gross - fee and label.difference_amount == fee
        shown = f"{tx.counterparty_name} {tx.description}".upper()
        assert {"PAYPAL": "PAYPAL", "STRIPE": "STRIPE", "SQUARE": "SQ"}[label.facts["processor"]] in shown


def test_truncated_names_are_cut_at_27_or_35_characters(books):
    found = defaultdict(int)
    for _one, label, tx, _invoices in by_kind(books, "truncated_name"):
        limit, full, shown = (
            int(label.facts["name_limit"]),
            label.facts["full_name"],
            label.facts["name_shown"],
        )
        assert limit in (DK_NAME_FIELD, SWIFT_NAME_LINE)
        assert len(full) > limit and 0 < len(shown) <= limit
        written = swift_x(full) if label.family == "dk_mt940" else full  # MT940: the SWIFT x character set
        assert written[:limit].rstrip().upper() == shown.upper()
        # what the engine gets: the name field, or the text for a Fedwire export
        assert shown == tx.counterparty_name or shown in tx.description
        found[limit] += 1
    assert found[DK_NAME_FIELD] and found[SWIFT_NAME_LINE]


def test_transliterated_names_lose_their_umlauts_and_accents(books):
    found = 0
    for _one, label, tx, _invoices in by_kind(books, "transliterated_name"):
        full, shown = label.facts["full_name"], label.facts["name_shown"]
        assert not full.isascii() and shown.isascii() and shown != full
        assert shown.upper() == transliterate(full, label.facts["transliteration"])[: len(shown)].upper() or (
            label.family == "dk_mt940"
        )
        assert tx.counterparty_name == shown
        found += 1
    assert found


def test_a_typo_is_one_edit_away_and_a_cut_number_is_a_prefix(books):
    for _one, label, _tx, invoices in by_kind(books, "reference_typo"):
        number = invoices[label.allocations[0].invoice_id].number
        assert OSA.distance(label.facts["typo"], number) == 1
    for _one, label, tx, invoices in by_kind(books, "reference_cut"):
        number = invoices[label.allocations[0].invoice_id].number
        shown = label.facts["shown"]
        assert 3 <= len(shown) < len(number) and number.startswith(shown)
        assert int(label.facts["field_limit"]) in (15, 18, 27)
        assert shown.upper() in tx.description.upper()


def test_ambiguous_payments_name_equal_open_invoices_of_one_customer(books):
    for _one, label, tx, invoices in by_kind(books, "ambiguous"):
        group = [invoices[i] for i in label.alternatives]
        assert len(group) >= 2 and label.acceptable >= {label.allocations[0].invoice_id}
        assert {i.amount for i in group} == {tx.amount} and len({i.counterparty_id for i in group}) == 1
        assert all(i.issue_date <= tx.booking_date for i in group), "all of them open when it is paid"


def test_learned_aliases_are_facts_of_their_first_payment(books):
    for one in books:
        labels = one.labels
        firsts = {label.transaction_id for label in labels.values() if label.facts.get("alias_first_seen")}
        assert {fact.learned_from for fact in one.alias_facts} == firsts
        invoices = {invoice.id: invoice for invoice in one.invoices}
        for fact in one.alias_facts:
            invoice = invoices[labels[fact.learned_from].allocations[0].invoice_id]
            assert invoice.counterparty_id == fact.counterparty_id
            assert fact.alias not in invoice.counterparty_aliases  # not registered: to be learned


def test_internal_transfers_come_in_two_legs(book):
    labels = book.labels
    amounts = {tx.id: tx.amount for tx in book.transactions}
    legs = [label for label in labels.values() if label.kind == "internal_transfer"]
    assert legs
    for label in legs:
        other = label.facts["other_leg"]
        assert labels[other].facts["other_leg"] == label.transaction_id
        assert amounts[other] == -amounts[label.transaction_id]


def test_statement_balances_chain_and_add_up(book):
    """Each day's closing balance is the next statement's opening, and the movements are the
    transactions booked on that account."""
    per_account = defaultdict(list)
    for balance in book.balances:
        per_account[balance.account].append(balance)
    moved = defaultdict(Decimal)
    accounts = {account.key: account.identifier for account in book.own_accounts}
    for tx in book.transactions:
        moved[accounts[ACCOUNT_OF_FAMILY[book.labels[tx.id].family]]] += tx.amount
    assert set(per_account) == set(accounts.values())
    for account, balances in per_account.items():
        openings, closings = balances[0::2], balances[1::2]
        assert all(b.type == "OPBD" for b in openings) and all(b.type == "CLBD" for b in closings)
        assert all(c.amount == o.amount for c, o in zip(closings, openings[1:], strict=False))
        assert closings[-1].amount - openings[0].amount == moved[account]


def test_identifiers_are_valid(book):
    """IBANs have valid check digits and their country's layout (bank codes are invented, so
    stdnum's Belgian bank directory is not asked), references their check digits."""
    for invoice in book.invoices:
        if invoice.counterparty_account:
            assert iban.is_valid(invoice.counterparty_account, check_country=False), (
                invoice.counterparty_account
            )
        if invoice.structured_reference:
            reference = invoice.structured_reference
            assert is_valid_rf(reference) if reference.startswith("RF") else ogm_vcs.is_valid(reference)
    for tx in book.transactions:
        if looks_like_iban(tx.counterparty_account):
            assert iban.is_valid(tx.counterparty_account, check_country=False), tx.counterparty_account


def test_the_mt940_texts_keep_the_formats_limits(book):
    """DK sub-fields of at most 27 characters and lines of at most 65; UK references of 18."""
    for label in book.labels.values():
        if label.family in ("dk_mt940", "abn_mt940"):
            assert all(len(line) <= 65 for line in label.raw_text.split("\n"))
        if label.family == "dk_mt940":
            joined = label.raw_text.replace("\n", "")
            for field in joined.split("?")[1:]:
                assert len(field) - 2 <= 27, field
        if label.family == "uk_fps" and "REF." in label.raw_text and label.kind not in NON_INVOICE_KINDS:
            reference = label.raw_text.split("REF.", 1)[1].rsplit(" FROM ", 1)[0]
            assert len(reference) <= 18


def test_the_accuracy_bench_names_only_kinds_the_generator_makes():
    from bench.reconcile_accuracy import ENGINE_SUPPORT

    assert set(ENGINE_SUPPORT) <= set(KINDS) - set(NON_INVOICE_KINDS)
