"""Invoices without number or dates are ordinary; explain judges a pair as a run over the books.

* an undated invoice is a candidate on its exact amount, counted with the dated invoices of
  that amount falling due around the payment (the cap bounds both);
* score_pair over the open books applies the run's blocking and context, and says which bound
  or which closed side keeps a pair from being a candidate;
* texts name an unnumbered invoice by who, how much and when, never with a gap.
"""

from __future__ import annotations

from datetime import date

from reconciliation.engine import EngineSettings, reconcile, score_pair

from .helpers import D, codes, inv, make_rf, tx

UNDATED = {"number": "", "issue_date": None, "due_date": None}


def test_the_original_flow_an_invoice_without_number_or_dates_is_proposed() -> None:
    invoice = inv(counterparty_id=None, counterparty_name="", **UNDATED)
    payment = tx(description="Payment for Consulting", booking_date=date(2023, 10, 25))
    result = reconcile([invoice], [payment])
    assert len(result.proposals) == 1
    (proposal,) = result.proposals
    assert proposal.shape == "one_to_one" and proposal.confidence == D("0.432")
    assert not proposal.auto_confirm  # an exact amount alone stays a suggestion
    assert "auto.no_independent_evidence" in codes(proposal.auto_confirm_blockers)
    assert codes(proposal.reasons) == {"amount.exact", "date.unknown"}
    explained = score_pair(invoice, payment, open_invoices=[invoice])
    assert explained.is_candidate and explained.confidence == proposal.confidence


def test_undated_invoices_count_towards_the_amount_cap() -> None:
    payment = tx(description="Payment")
    undated = [inv(f"u{k}", **UNDATED) for k in range(4)]
    dated = [inv(f"d{k}", number="") for k in range(2)]  # due 2024-01-31, paid 2024-01-20
    far = inv("far", number="", issue_date=date(2021, 1, 1), due_date=date(2021, 1, 31))
    six = reconcile([*undated, *dated, far], [payment])
    assert six.stats["pairs_scored"] >= 6 and len(six.proposals) == 1  # 6 <= cap: all compared
    seven = [*undated, *dated, inv("u9", **UNDATED)]
    result = reconcile(seven, [payment])
    assert result.proposals == () and result.stats["pairs_scored"] == 0  # a coin toss: none
    score = score_pair(seven[0], payment, open_invoices=seven)
    assert [b.code for b in score.blockers] == ["blocking.amount_common"]
    assert score.blockers[0].message.startswith("7 open invoices of 150.00 USD fall due around")


def test_many_undated_invoices_of_one_amount_stay_bounded() -> None:
    invoices = [inv(f"u{k:04d}", **UNDATED) for k in range(2000)]
    payments = [tx(f"t{k:03d}", description="Payment") for k in range(200)]
    result = reconcile(invoices, payments)
    assert result.proposals == () and result.stats["pairs_scored"] == 0


def test_an_amount_far_from_the_due_date_is_left_out_and_explained() -> None:
    old = inv(issue_date=date(2021, 1, 1), due_date=date(2021, 1, 31))
    payment = tx(description="Payment")
    assert reconcile([old], [payment]).proposals == ()
    score = score_pair(old, payment)
    assert not score.is_candidate and score.confidence >= D("0.30")  # scores, but blocking bounds it
    assert [b.code for b in score.blockers] == ["blocking.amount_date"]
    assert "2021-01-31" in score.blockers[0].message and "2024-01-20" in score.blockers[0].message


def test_explain_applies_the_other_quoted_invoice_like_a_run() -> None:
    quoted = inv("i2", number="INV-000999", amount="80.00")
    same_amount = inv("i1")
    payment = tx(description="Payment INV-000999")
    books = [same_amount, quoted]
    result = reconcile(books, [payment])
    assert [p.invoice_ids for p in result.proposals] == [("i2",)]
    alone = score_pair(same_amount, payment)
    assert alone.is_candidate  # on its own the amount would do
    in_books = score_pair(same_amount, payment, open_invoices=books)
    assert not in_books.is_candidate and in_books.confidence == D("0.27")  # 0.45 x 0.6
    assert "ref.other_invoice" in {r.code for s in in_books.signals for r in s.reasons}
    assert codes(in_books.blockers) == {"score.below_min"}


def test_explain_names_the_payer_pool_bound() -> None:
    books = [
        inv("i1", number="A-1", amount="500.00", due_date=date(2024, 1, 21)),
        inv("i2", number="A-2", amount="151.00", due_date=date(2024, 3, 1)),
    ]
    payment = tx(description="transfer", counterparty_name="ACME GmbH")
    tight = EngineSettings(max_subset_candidates=1)
    assert reconcile(books, [payment], tight).proposals == ()
    score = score_pair(books[1], payment, tight, open_invoices=books)
    assert not score.is_candidate and score.confidence >= D("0.30")
    assert [b.code for b in score.blockers] == ["blocking.payer_pool"]
    assert score.blockers[0].message.startswith("ACME GmbH has more open invoices than the 1 ")
    roomy = score_pair(books[1], payment, open_invoices=books)
    assert roomy.is_candidate
    assert [p.invoice_ids for p in reconcile(books, [payment]).proposals] == [("i2",)]


def test_closed_sides_are_explained_as_runs_see_them() -> None:
    invoice, payment = inv(), tx(description="INV-000123")
    void = score_pair(invoice, payment, open_invoices=[])  # not among the open invoices
    assert not void.is_candidate and codes(void.blockers) == {"invoice.not_open"}
    ignored = score_pair(invoice, payment, open_invoices=[invoice], transaction_open=False)
    assert not ignored.is_candidate and codes(ignored.blockers) == {"transaction.not_open"}
    assert void.confidence == ignored.confidence == 1  # still explained: it *would* match


def test_texts_name_an_unnumbered_invoice_without_gaps() -> None:
    rf = make_rf("4711")
    unnumbered = inv(number="", counterparty_name="Acme Corp", structured_reference=rf)
    partial = reconcile([unnumbered], [tx(amount="50.00", description=f"part {rf}")])
    other = inv("i2", number="INV-000999", amount="80.00")
    quoting = score_pair(unnumbered, tx(description="INV-000999"), open_invoices=[unnumbered, other])
    messages = [r.message for s in quoting.signals for r in s.reasons]
    messages += [r.message for p in partial.proposals for r in p.reasons]
    assert "The invoice has no number to look for in the transaction" in messages
    assert "The transaction quotes another open invoice's number: confidence ×0.6" in messages
    assert (
        "Partial payment: 100.00 USD of the unnumbered invoice (Acme Corp, 150.00 USD, 2024-01-01) stays open"
        in messages
    )
    for message in messages:
        assert "  " not in message and " :" not in message and message == message.strip(), message
    group = reconcile(
        [inv("a", number="", amount="100.00"), inv("b", number="INV-7", amount="50.00")],
        [tx(amount="150.00", description="two invoices", counterparty_name="ACME GmbH")],
    )
    (proposal,) = group.proposals
    assert proposal.shape == "one_to_many"
    assert proposal.reasons[0].message == (
        "One payment of 150.00 USD settles 2 invoices "
        "(unnumbered invoice (ACME GmbH, 100.00 USD, 2024-01-01); INV-7) totalling 150.00 USD"
    )
