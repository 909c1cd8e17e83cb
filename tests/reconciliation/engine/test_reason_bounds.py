"""Reasons are short and few: a message quotes at most an excerpt of a client's text, and a
proposal stores at most ``MAX_PROPOSAL_REASONS`` of them.

Before, a counterparty reason quoted the whole description (up to 2,000 characters) when a
payment had no payer name, and a proposal carried up to 62 reasons: a REST page of 500 matches
could reach 80-100 MB, and GraphQL's cost model allowed about 15 matches per page.
"""

from __future__ import annotations

from datetime import date

from common.finance.labels import QUOTE_MAX_CHARS, excerpt, invoice_label
from reconciliation.engine import reconcile, score_pair
from reconciliation.engine.core import MAX_PROPOSAL_REASONS
from reconciliation.engine.signals import BLOCKER_MESSAGES, REASON_MESSAGE_MAX_CHARS
from tenants import limits

from .helpers import D, inv, make_rf, tx


def _long(seed: str, length: int) -> str:
    """Words that read like a name or a payment text, ``length`` characters long."""
    words = f"{seed} Holding International Trading Services Payment Reference ".split()
    text = " ".join(words[k % len(words)] for k in range(length))
    return text[:length]


def _messages(result) -> list[str]:
    messages = []
    for proposal in result.proposals:
        messages += [r.message for r in (*proposal.reasons, *proposal.auto_confirm_blockers)]
        for pair in proposal.breakdown:
            messages += [r.message for s in pair.signals for r in s.reasons]
            messages += [r.message for r in pair.blockers]
    return messages


def _books_at_their_bounds():
    """Invoices and payments whose every text is as long as the system lets it be."""
    name = _long("Northwind", limits.NAME)
    account = "DE89370400440532013000" + "0" * (limits.ACCOUNT - 22)
    invoices = [
        inv(
            f"i{k}-" + "x" * (limits.NAME - 4),
            f"INV-{k:03d}-" + str(k) * (limits.INVOICE_NUMBER - 8),
            f"{k}00.00",
            due_date=date(2024, 1, 10 + k),
            counterparty_id="c-northwind",
            counterparty_name=name,
            counterparty_aliases=(_long("Alias", limits.NAME),),
            counterparty_account=account,
        )
        for k in range(1, 6)
    ]
    invoices += [
        # Unnumbered invoices are named by payer, amount and date.
        inv("u1", "", "77.00", counterparty_name=name),
        inv("u2", "", "88.00", counterparty_name=name, issue_date=None, due_date=None),
        inv("rf", "", "99.00", counterparty_name="Contoso", structured_reference=make_rf("4711" * 5)),
        inv("pp", "PP-" + "9" * 40, "200.00", counterparty_name=name),
    ]
    description = _long("Payment", limits.DESCRIPTION)
    payments = [
        # No payer name: the description is read as the payer's name.
        tx("t-desc", "88.00", description),
        tx("t-name", "77.00", description, counterparty_name=name, counterparty_account="X" * limits.ACCOUNT),
        tx("t-grp", "1500.00", " ".join(i.number for i in invoices[:5]) + " " + description),
        tx("t-rf", "99.00", make_rf("4711" * 5) + " " + description, structured_reference="RF00" + "9" * 31),
        # Two payments of one invoice (N:1), with ids as long as a scoreCandidates caller may send.
        tx("t-part1-" + "y" * (limits.NAME - 8), "120.00", "PP-" + "9" * 40 + " " + description),
        tx("t-part2-" + "y" * (limits.NAME - 8), "80.00", "PP-" + "9" * 40, booking_date=date(2024, 2, 1)),
    ]
    return invoices, payments


def test_every_message_stays_short_with_every_text_at_its_bound():
    invoices, payments = _books_at_their_bounds()
    result = reconcile(invoices, payments)
    assert {p.shape for p in result.proposals} == {"one_to_one", "one_to_many", "many_to_one"}
    messages = _messages(result)
    # Every pair explained too, candidate or not (blockers included).
    for invoice in invoices:
        for payment in payments:
            explanation = score_pair(invoice, payment, open_invoices=invoices)
            messages += [r.message for s in explanation.signals for r in s.reasons]
            messages += [r.message for r in explanation.blockers]
    assert messages
    longest = max(messages, key=len)
    assert len(longest) <= REASON_MESSAGE_MAX_CHARS, longest
    description = payments[0].description
    assert not any(description[: QUOTE_MAX_CHARS + 1] in message for message in messages)
    assert any("…" in message for message in messages)  # the long texts were quoted, cut


def test_every_blocker_sentence_fits_with_its_quotes_at_their_bound():
    quote = "q" * QUOTE_MAX_CHARS
    for code, template in BLOCKER_MESSAGES.items():
        names = [part.split("}")[0] for part in template.split("{")[1:]]
        text = template.format(**{name: quote for name in names})
        assert len(text) <= REASON_MESSAGE_MAX_CHARS, code


def test_an_excerpt_is_the_text_or_its_start_with_an_ellipsis():
    assert excerpt("INV-0101") == "INV-0101"
    assert excerpt("x" * QUOTE_MAX_CHARS) == "x" * QUOTE_MAX_CHARS
    cut = excerpt("word " * 40)
    assert len(cut) <= QUOTE_MAX_CHARS and cut.endswith("…") and cut.startswith("word word")
    label = invoice_label("", party="N" * limits.NAME, amount=D("1.00"), currency="USD", day=None)
    assert label == f"Unnumbered invoice ({'N' * (QUOTE_MAX_CHARS - 1)}…, 1.00 USD)"


def test_a_proposal_keeps_its_strongest_reasons_and_says_how_many_it_left_out():
    """One payment for five quoted invoices: 14 reasons before the bound."""
    invoices = [
        inv(f"i{k}", f"INV-10{k}", f"{k}00.00", due_date=date(2024, 1, 10 + k), counterparty_name="Northwind")
        for k in range(1, 6)
    ]
    quoted = "Invoices INV-101 INV-102 INV-103 INV-104 INV-105"
    payment = tx("t1", "1500.00", quoted, counterparty_name="Northwind")
    (proposal,) = reconcile(invoices, [payment]).proposals
    assert proposal.shape == "one_to_many"
    reasons = proposal.reasons
    assert len(reasons) == MAX_PROPOSAL_REASONS
    assert reasons[0].code == "shape.one_to_many"
    # Every invoice number is still quoted (reference evidence outranks dates) ...
    assert [r.message for r in reasons if r.code == "ref.exact"] == [
        f"Invoice number INV-10{k} appears in the transaction text" for k in range(1, 6)
    ]
    # ... and the last line says how many were left out, all of them weaker date reasons.
    every = {r for pair in proposal.breakdown for s in pair.signals for r in s.reasons}
    dates = [r for r in every if r.code.startswith("date.")]
    assert reasons[-1].code == "reasons.more"
    assert reasons[-1].message.startswith("2 weaker reasons are not listed here")
    assert sum(r in reasons for r in dates) == len(dates) - 2
    # The breakdown keeps every signal of every pair.
    assert len(proposal.breakdown) == 5


def test_proposals_within_the_bound_are_unchanged():
    invoice = inv()
    payment = tx(description="Payment INV-000123", counterparty_name="ACME GmbH")
    (proposal,) = reconcile([invoice], [payment]).proposals
    assert [r.code for r in proposal.reasons] == ["amount.exact", "ref.exact", "cp.name", "date.in_terms"]

