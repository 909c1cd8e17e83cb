"""Realistic, labelled reconciliation books: bank texts as banks write them (issue 17).

``generate(n, seed)`` returns a :class:`RealisticBook`: about ``n`` open invoices (customers'
receivables and vendors' bills) and the bank transactions that pay them or not, every
transaction with its TRUE label (:class:`Label`: which invoices with which amounts, or no
invoice at all) and its KIND (what makes it hard, table below). Seeded and deterministic: the
same ``(n, seed, profile)`` gives the same book in any process (no set or hash order is used).

How a transaction is made (the decision that makes the texts realistic): the generator writes
the tenant's **statement files** as its banks would deliver them (a German bank's MT940, ABN
AMRO's MT940, a Belgian bank's camt.053, a US and a UK bank's CSV export) and reads them back
with the project's own statement parsers (``banking.statements.iter_statement``), exactly as an
import does. The engine therefore sees what it would see in production, including what the
parsers keep and drop (an MT940 ``ABWA+`` ultimate debtor or a camt ``UltmtDbtr`` is not
read, a US export has no name column). ``book.statements`` holds the files, ``--write-files``
writes them out.

Kinds (``KINDS``; one per transaction; realistic side effects are everywhere else too:
upper-cased or cut names, missing IBANs, customer numbers, dates and PO numbers in texts,
decoy invoices of the same amount):

===================  ===========================================================================
exact                full amount; the invoice quoted as people and ERPs write it (number, or an
                     ISO 11649 RF / Belgian OGM structured reference)
reference_typo       as exact, the number with one typo (digit replaced, swapped, dropped, added)
reference_cut        the number cut by a field limit: UK reference 18 characters, ACH individual
                     id 15, a payer's software writing one 27-character purpose line (DTAUS era)
no_reference         full amount, no invoice number (generic text, customer or PO number)
truncated_name       no reference, the payer's account not in the books, name cut at 27 (MT940
                     ``?32`` only) or 35 (SWIFT/Fedwire name line) characters
transliterated_name  no reference, account not in the books, umlauts and accents transliterated
                     (ü→UE), stripped (ü→U) or lost in a conversion (ü→?)
parent_company       the customer's parent pays from its own account; registered as an alias
learned_alias        as parent_company, not registered: an :class:`AliasFact` says what a first
                     confirmation would teach (``learned_from``)
processor            PayPal / Stripe / Square pays one sale net of its percentage fee
                     ("PAYPAL *NAME", "SQ *NAME", "STRIPE PAYMENT ...")
discount             early-payment discount taken ("2/10 net 30", "2 % Skonto 14 Tage"):
                     paid = amount x (1 - pct), rounded half up to the cent; :class:`PaymentTerms`
fee_deducted         international transfer, intermediary charges deducted (SWIFT "SHA")
short_payment        a small short payment to write off (rounding, a deducted charge)
partial              2-3 instalments of one invoice, a quarter never completed
batch_advice         one payment for 2-20 invoices; its text names a remittance advice that
                     comes separately (:class:`RemittanceAdvice`: camt.054, CSV or API)
batch_quoted         one payment for 2-10 invoices quoting their numbers, cut by the field
subset_sum           one payment for 2-6 invoices of one customer, no numbers
ambiguous            several open invoices of one customer with the same amount, one paid
                     without reference: any of them is right (``Label.alternatives``)
internal_transfer    money between the tenant's own accounts (both legs, no invoice)
bank_charge          account and transfer fees (no invoice)
unrelated            payroll, tax, card payments, direct debits, refunds, interest, and
                     customers paying invoices that are not open in the books (no invoice)
===================  ===========================================================================

Text formats imitated (from the public standards and common bank practice; no real statement
is copied, the shared samples were read for shape only):

* **MT940 field 86, German DK structure** (DFÜ-Abkommen, Anlage 3 "Spezifikation der
  Datenformate"; SWIFT MT940 field 86): ``GVC?00posting text?10primanota?20..?29 purpose`` in
  27-character sub-fields (continued in ``?60..?63``), SEPA keywords of the
  "SEPA-Verwendungszweck" structure ``EREF+`` (end-to-end id, 35), ``SVWZ+`` (remittance, 140),
  ``ABWA+`` (ultimate debtor, 70), ``?30`` BIC, ``?31`` IBAN, ``?32``/``?33`` name (27 each; some
  banks send ``?32`` only), lines of at most 65 characters. GVC 166 SEPA credit, 177 SEPA
  transfer, 105 SEPA direct debit, 805 charges, 202 foreign transfer. SWIFT "x" character
  set: umlauts become AE/OE/UE/SS (per bank), ``&`` becomes ``+``.
* **MT940 field 86, ABN AMRO structured**: ``/TRTP/SEPA OVERBOEKING/IBAN/../BIC/../NAME/../REMI/
  ../EREF/..`` in 65-character lines; card payments as plain ``BEA`` text.
* **ISO 20022 camt.053** (bank-to-customer statement, .001.02): ``RmtInf/Ustrd`` (140),
  ``RmtInf/Strd/CdtrRefInf`` with type ``SCOR`` and issuer ``ISO`` (RF, ISO 11649) or ``BBA``
  (Belgian OGM/VCS, Febelfin), ``RltdPties/Dbtr/Nm`` (70; 35 when converted from an MT103
  field 50K), ``UltmtDbtr``, ``Refs/EndToEndId``, ``AddtlNtryInf``; daily ``Bal`` OPBD/CLBD.
* **NACHA ACH** as US online-banking exports show it: ``ORIG CO NAME`` (16 characters) ``ORIG
  ID`` ``DESC DATE`` ``CO ENTRY DESCR`` (10) ``SEC`` (CCD, CTX, PPD) ``TRACE#`` ``IND ID`` (15)
  ``IND NAME`` (22) and the addenda: CCD+ one 80-character record, CTX many, each holding ANSI
  X12 820 ``RMR*IV*invoice*PI*paid*total*discount\\`` segments.
* **Fedwire** funds transfer as exported: ``FEDWIRE CREDIT VIA`` sender bank/ABA, ``B/O``
  originator ({5000}, 35-character lines), ``OBI`` originator-to-beneficiary information
  ({6000}, 4 x 35), ``IMAD``.
* **UK Faster Payments / Bacs**: the payment reference is at most 18 characters (Pay.UK, Bacs
  Standard 18), the remitter name 18; "FASTER PAYMENTS RECEIPT REF.. FROM .." and "BANK GIRO
  CREDIT REF .., .." lines in a CSV export.
* **Processors**: card-statement descriptors of at most 22 characters ("PAYPAL *", "SQ *"),
  fees from public list prices (PayPal 2.49 % + 0.35 EUR / 2.99 % + 0.49 USD, Stripe 1.5 % +
  0.25 EUR / 2.9 % + 0.30 USD, Square 2.6 % + 0.10 USD / 1.75 % GBP).

Data for the engine inputs that do not exist yet (they are generated, labelled and kept apart,
so future importers can be fed with them): ``book.terms`` (:class:`PaymentTerms`),
``book.advices`` (:class:`RemittanceAdvice`, each renders as a camt.054, CSV or JSON text),
``book.alias_facts`` (:class:`AliasFact`), ``book.balances`` (statement balances per account
and day), ``book.own_accounts``.

    .venv/bin/python bench/realistic.py [n] [--seed S] [--profile P] [--show KIND] [--write-files DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import random
import sys
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from stdnum import iban as stdnum_iban  # noqa: E402
from stdnum.be import ogm_vcs  # noqa: E402

from banking.statements import CsvOptions, ParsedTransaction, StatementBalance, iter_statement  # noqa: E402
from bench.datagen import BENCH_SETTINGS, make_rf, positive_int  # noqa: E402
from reconciliation.engine import EngineSettings, InvoiceInput, TransactionInput  # noqa: E402

KINDS: dict[str, str] = {
    "exact": "full amount, invoice quoted (number or RF/OGM)",
    "reference_typo": "number quoted with one typo",
    "reference_cut": "number cut by a field limit (18/15/27)",
    "no_reference": "full amount, no invoice number",
    "truncated_name": "no reference, name cut at 27/35, account unknown",
    "transliterated_name": "no reference, umlauts transliterated, account unknown",
    "parent_company": "parent pays, registered alias",
    "learned_alias": "parent pays, alias not registered",
    "processor": "PayPal/Stripe/Square, net of a percentage fee",
    "discount": "early-payment discount taken",
    "fee_deducted": "international transfer, charges deducted",
    "short_payment": "small short payment to write off",
    "partial": "instalments of one invoice",
    "batch_advice": "2-20 invoices, remittance advice apart",
    "batch_quoted": "2-10 invoices quoted, cut by the field",
    "subset_sum": "2-6 invoices of one customer, no numbers",
    "ambiguous": "equal open invoices of one customer, no reference",
    "internal_transfer": "between own accounts",
    "bank_charge": "bank fees",
    "unrelated": "no invoice (payroll, tax, card, refunds ...)",
}
#: kinds whose transactions pay no invoice: any proposal for them is wrong
NON_INVOICE_KINDS = ("internal_transfer", "bank_charge", "unrelated")
PAYMENT_KINDS = tuple(kind for kind in KINDS if kind not in NON_INVOICE_KINDS)

#: share of payment events per kind (receivables), "payables" the share of vendor bills paid by
#: the tenant, and the non-invoice kinds as shares of all transactions
PROFILES: dict[str, dict[str, float]] = {
    "realistic": {
        "exact": 0.30, "reference_typo": 0.04, "reference_cut": 0.04, "no_reference": 0.07,
        "truncated_name": 0.04, "transliterated_name": 0.03, "parent_company": 0.03,
        "learned_alias": 0.03, "processor": 0.04, "discount": 0.05, "fee_deducted": 0.03,
        "short_payment": 0.03, "partial": 0.04, "batch_advice": 0.03, "batch_quoted": 0.03,
        "subset_sum": 0.03, "ambiguous": 0.03, "payables": 0.15,
        "unrelated": 0.12, "internal_transfer": 0.02, "bank_charge": 0.02,
    },
    **{kind: {kind: 1.0} for kind in PAYMENT_KINDS},
}  # fmt: skip
UNPAID_SHARE = 0.20
DECOY_SHARE = 0.10
START = date(2024, 1, 1)
CENT = Decimal("0.01")

#: how each own account's bank delivers statements: (statement format, families of its lines)
ACCOUNT_FORMATS = {
    "DE": ("mt940-dk", "EUR"),
    "NL": ("mt940-abn", "EUR"),
    "BE": ("camt053", "EUR"),
    "US": ("csv-us", "USD"),
    "GB": ("csv-uk", "GBP"),
}
#: the tenant's account a customer of this country pays into
RECEIVING_ACCOUNT = {
    "DE": "DE", "AT": "DE", "NL": "NL", "BE": "BE", "FR": "BE", "IT": "BE", "LU": "BE",
    "US": "US", "GB": "GB",
}  # fmt: skip
COUNTRY_SHARE = (
    ("DE", 0.30), ("AT", 0.06), ("NL", 0.12), ("BE", 0.07), ("FR", 0.09), ("IT", 0.04),
    ("US", 0.20), ("GB", 0.12),
)  # fmt: skip
CURRENCY = {"DE": "EUR", "AT": "EUR", "NL": "EUR", "BE": "EUR", "FR": "EUR", "IT": "EUR", "LU": "EUR",
            "US": "USD", "GB": "GBP"}  # fmt: skip

#: the tenant's own invoice numbering (one per book, chosen by the seed)
NUMBERINGS = ("RE-{y}-{s:05d}", "INV-{y}-{s:06d}", "{y}{s:06d}", "AR{s:07d}", "F{y}/{s:05d}")
#: name limits of the formats (see the module docstring)
DK_NAME_FIELD = 27
SWIFT_NAME_LINE = 35
ACH_COMPANY_NAME = 16
UK_FIELD = 18
ACH_IND_ID = 15
SEPA_REMITTANCE = 140
CARD_DESCRIPTOR = 22
ACH_ADDENDA = 80

# -- word lists (invented companies; no real firm is meant) -----------------------------------
_SYL = (
    "nord", "wind", "blau", "stein", "berg", "sonn", "alp", "tech", "ora", "vista", "lux", "terra",
    "nova", "kron", "feld", "mar", "hel", "quant", "del", "fox", "glen", "oak", "iron", "gate",
    "silver", "brook", "castle", "pine", "well", "haven", "bright", "star", "moor", "ash", "elm",
)  # fmt: skip
_SURNAMES = {
    "DE": ("Müller", "Schäfer", "Köhler", "Weiß", "Groß", "Jäger", "Krüger", "Schröder", "Günther",
           "Möller", "Brückner", "Fröhlich", "Löffler", "Hoffmann", "Becker", "Wagner", "Lehmann",
           "Zimmermann", "Krause", "Böhm", "Gräf", "Kühn", "Strauß", "Vögele"),
    "NL": ("de Vries", "van der Berg", "Bakker", "Visser", "Smit", "Mulder", "de Boer", "van Dijk",
           "Jansen", "Hendriks", "van Leeuwen", "Kuipers"),
    "FR": ("Dupré", "Lefèvre", "Girard", "Bérard", "Mercier", "Chevalier", "Lambert", "Rousseau",
           "Fontaine", "Géraud", "Lemaître", "Béranger"),
    "IT": ("Rossi", "Bianchi", "Ferrari", "Colombo", "Ricci", "Marino", "Greco", "Bruno", "Galli"),
    "EN": ("Whitfield", "Harrington", "Caldwell", "Prescott", "Ashford", "Kensington", "Holloway",
           "Pemberton", "Langley", "Stanford", "Merriweather", "Blackwood"),
}  # fmt: skip
_TRADES = {
    "DE": ("Präzisionstechnik", "Maschinenbau", "Logistik", "Elektrotechnik", "Gebäudereinigung",
           "Großhandel", "Verpackungstechnik", "Holzbau", "Kältetechnik", "Industriebedarf",
           "Medizintechnik", "Stahlbau", "Druckerei", "Haustechnik", "Fördertechnik", "Bürobedarf"),
    "NL": ("Installatietechniek", "Bouwbedrijf", "Transport", "Groothandel", "Metaalbewerking",
           "Adviesbureau", "Schoonmaakdiensten", "Verpakkingen"),
    "FR": ("Distribution Électrique", "Travaux Publics", "Menuiserie Générale",
           "Équipements Industriels", "Transports Frigorifiques", "Imprimerie", "Matériaux"),
    "IT": ("Costruzioni Meccaniche", "Impianti Elettrici", "Trasporti", "Forniture Industriali"),
    "EN": ("Industrial Supply", "Logistics", "Manufacturing", "Technologies", "Building Services",
           "Medical Devices", "Engineering", "Facilities Management", "Distribution", "Print Solutions"),
}  # fmt: skip
_LEGAL = {
    "DE": ("GmbH", "GmbH & Co. KG", "AG", "KG", "e.K.", "UG (haftungsbeschränkt)"),
    "AT": ("GmbH", "Ges.m.b.H.", "AG", "KG"),
    "NL": ("B.V.", "V.O.F.", "N.V."),
    "BE": ("NV", "BV", "SRL", "SA"),
    "FR": ("SAS", "SARL", "S.A."),
    "IT": ("S.r.l.", "S.p.A."),
    "US": ("Company, Inc.", "Corporation", "LLC", "Inc."),
    "GB": ("Ltd", "Limited", "PLC", "(UK) Limited"),
}
_LANGUAGE = {"DE": "DE", "AT": "DE", "NL": "NL", "BE": "FR", "FR": "FR", "IT": "IT", "LU": "FR",
             "US": "EN", "GB": "EN"}  # fmt: skip
_INVOICE_WORDS = {
    "DE": ("Rechnung ", "Rg. ", "Re. ", "RE-Nr. ", "Rechnungsnr. ", "Rechnung Nr. ", ""),
    "NL": ("Factuur ", "Fact. ", "Factuurnr. ", "factuur ", ""),
    "FR": ("Facture ", "Fact. ", "FACT ", "Règlement facture ", ""),
    "IT": ("Fattura ", "Fatt. ", "Saldo fattura ", ""),
    "EN": ("Invoice ", "INV ", "Inv. ", "Payment invoice ", ""),
}
_PLURAL_WORDS = {
    "DE": ("Rechnungen ", "Rg. ", "RE "), "NL": ("Facturen ", "Fact. "), "FR": ("Factures ", "Fact. "),
    "IT": ("Fatture ", "Fatt. "), "EN": ("Invoices ", "INV ", "Inv "),
}  # fmt: skip
_GENERIC = {
    "DE": ("Zahlung", "Überweisung", "Ihre Rechnung", "Zahlung lt. Vereinbarung", "Begleichung",
           "Vielen Dank", "Lieferung", "Auftrag"),
    "NL": ("Betaling", "Betaling factuur", "Overboeking", "Bedankt"),
    "FR": ("Paiement", "Virement", "Règlement", "Merci"),
    "IT": ("Pagamento", "Bonifico", "Saldo"),
    "EN": ("Payment", "Thank you", "Invoice payment", "Payment as agreed", "Settlement"),
}  # fmt: skip
_BATCH_WORDS = {
    "DE": ("Sammelzahlung", "Ausgleich offene Posten", "Zahlung offene Posten", "Sammelüberweisung"),
    "NL": ("Verzamelbetaling", "Betaling openstaande posten"), "FR": ("Règlement relevé", "Paiement groupé"),
    "IT": ("Pagamento cumulativo",), "EN": ("Payment of open items", "Consolidated payment", "Statement payment"),
}  # fmt: skip
_ADVICE_WORDS = {
    "DE": ("Zahlungsavis {a}", "AVIS {a}", "lt. Avis {a}", "Sammelzahlung Avis Nr. {a}"),
    "NL": ("Betalingsadvies {a}", "Advies {a}"), "FR": ("Avis de paiement {a}", "AVIS {a}"),
    "IT": ("Avviso di pagamento {a}",),
    "EN": ("Remittance advice {a}", "REMITTANCE {a}", "See advice {a}", "Payment run {a}"),
}  # fmt: skip
_PARTIAL_WORDS = {
    "DE": ("Teilzahlung ", "{k}. Rate ", "Anzahlung ", "Abschlag "), "NL": ("Deelbetaling ", "{k}e termijn "),
    "FR": ("Acompte ", "Paiement partiel ", "{k}e échéance "), "IT": ("Acconto ", "Rata {k} "),
    "EN": ("Part payment ", "Instalment {k} ", "Partial payment "),
}  # fmt: skip
_DISCOUNT_WORDS = {
    "DE": (" abzgl. {p}% Skonto", " ./. {p} % Skonto", " Skonto {p}%", ""),
    "NL": (" minus {p}% korting", " {p}% betalingskorting", ""),
    "FR": (" moins escompte {p}%", " escompte {p} %", ""), "IT": (" sconto {p}%", ""),
    "EN": (" less {p}% discount", " {p}% early pay disc", ""),
}  # fmt: skip
_PROCESSORS = {
    "PAYPAL": ("PayPal Europe S.a r.l. et Cie S.C.A.", "LU", Decimal("2.49"), Decimal("0.35"),
               Decimal("2.99"), Decimal("0.49")),
    "STRIPE": ("Stripe Payments Europe Ltd", "IE", Decimal("1.5"), Decimal("0.25"),
               Decimal("2.9"), Decimal("0.30")),
    "SQUARE": ("Square Inc", "US", Decimal("1.75"), Decimal("0"), Decimal("2.6"), Decimal("0.10")),
}  # fmt: skip
_SHOPS = ("TANKSTELLE 4411", "BAUMARKT 203", "BUEROWELT", "ELEKTRO MARKT", "HOTEL ZUR POST", "AIRLINE",
          "OFFICE DEPOT", "SHELL 4411", "HOME DEPOT", "STAPLES", "AMAZON MKTPL")  # fmt: skip
_PEOPLE = ("Anna Schmidt", "Jonas Weber", "Marie Dubois", "Lukas Jansen", "Sofia Rossi", "Paul Martin",
           "Emma Wilson", "Noah Brown", "Lena Fischer")  # fmt: skip


# -- generated records ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrueAllocation:
    """What one transaction truly paid on one invoice.

    ``amount`` is the money of the transaction (its currency, positive); ``settles`` what it
    settles on the invoice: more than ``amount`` when a discount, a deducted fee or a write-off
    closes the difference.
    """

    invoice_id: str
    amount: Decimal
    settles: Decimal


@dataclass(frozen=True, slots=True)
class Label:
    """The truth about one transaction."""

    transaction_id: str
    kind: str
    family: str  # the text format family, e.g. "dk_mt940", "us_ach"
    outcome: str  # "invoices" | "ambiguous" | "internal_transfer" | "bank_charge" | "none"
    allocations: tuple[TrueAllocation, ...] = ()
    alternatives: tuple[str, ...] = ()  # ambiguous: every invoice that would be as right
    difference: str = ""  # "discount" | "bank_fee" | "processor_fee" | "write_off"
    difference_amount: Decimal = Decimal(0)
    raw_text: str = ""  # the bank's text as written in the statement file
    facts: Mapping[str, str] = field(default_factory=dict)  # what tests and reports may check

    @property
    def acceptable(self) -> frozenset[str]:
        """Invoices a proposal for this transaction may name and be right."""
        return frozenset(self.alternatives or (a.invoice_id for a in self.allocations))

    @property
    def expected_pairs(self) -> int:
        """How many (transaction, invoice) pairs a complete answer has."""
        return 1 if self.outcome == "ambiguous" else len(self.allocations)


@dataclass(frozen=True, slots=True)
class PaymentTerms:
    """Payment terms printed on an invoice, with the early-payment discount."""

    invoice_id: str
    text: str  # as printed, e.g. "2/10 net 30" or "2 % Skonto bei Zahlung bis 14 Tage, 30 Tage netto"
    discount_percent: Decimal
    discount_days: int
    net_days: int
    discount_until: date
    due: date
    discounted_amount: Decimal  # amount x (1 - pct), rounded half up to the cent


@dataclass(frozen=True, slots=True)
class AdviceLine:
    """One invoice of a remittance advice."""

    invoice_number: str  # as the payer writes it (an importer matches by it)
    invoice_id: str  # the truth, for scoring
    amount: Decimal  # paid for this invoice
    discount: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class RemittanceAdvice:
    """A payer's list of what one (batch) payment pays: a camt.054, a CSV file or an API call."""

    id: str  # the advice number the payment's text quotes
    channel: str  # "camt054" | "csv" | "api"
    payer_name: str
    payer_account: str
    currency: str
    total: Decimal
    payment_date: date
    payment_reference: str  # the text the payment carries to point at this advice
    end_to_end_id: str
    lines: tuple[AdviceLine, ...]
    transaction_id: str  # the truth: the bank transaction it explains

    def render(self) -> str:
        """The advice as its channel delivers it (camt.054 XML, a CSV file, a JSON body)."""
        if self.channel == "csv":
            rows = ["advice;payer;invoice;amount;discount;currency"]
            rows += [
                f"{self.id};{self.payer_name};{line.invoice_number};{line.amount};{line.discount};{self.currency}"
                for line in self.lines
            ]
            return "\n".join(rows) + "\n"
        if self.channel == "api":
            return json.dumps(
                {
                    "advice_id": self.id,
                    "payer": self.payer_name,
                    "currency": self.currency,
                    "total": str(self.total),
                    "payment_date": self.payment_date.isoformat(),
                    "end_to_end_id": self.end_to_end_id,
                    "lines": [
                        {
                            "invoice": line.invoice_number,
                            "amount": str(line.amount),
                            "discount": str(line.discount),
                        }
                        for line in self.lines
                    ],
                },
                indent=1,
            )
        details = "".join(
            f'<TxDtls><Amt Ccy="{self.currency}">{line.amount}</Amt><RmtInf><Strd><RfrdDocInf><Tp><CdOrPrtry><Cd>CINV</Cd>'
            f'</CdOrPrtry></Tp><Nb>{escape(line.invoice_number)}</Nb></RfrdDocInf><RfrdDocAmt><DscntApldAmt Ccy="{self.currency}">{line.discount}</DscntApldAmt>'
            f'<RmtdAmt Ccy="{self.currency}">{line.amount}</RmtdAmt></RfrdDocAmt></Strd></RmtInf></TxDtls>'
            for line in self.lines
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"><BkToCstmrDbtCdtNtfctn>'
            f"<GrpHdr><MsgId>{escape(self.id)}</MsgId></GrpHdr><Ntfctn><Id>{escape(self.id)}</Id>"
            f'<Ntry><Amt Ccy="{self.currency}">{self.total}</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
            f"<BookgDt><Dt>{self.payment_date.isoformat()}</Dt></BookgDt><NtryDtls><Btch>"
            f"<NbOfTxs>{len(self.lines)}</NbOfTxs></Btch>{details}</NtryDtls>"
            f"<AddtlNtryInf>{escape(self.payer_name)} {escape(self.end_to_end_id)}</AddtlNtryInf>"
            "</Ntry></Ntfctn></BkToCstmrDbtCdtNtfctn></Document>\n"
        )


@dataclass(frozen=True, slots=True)
class AliasFact:
    """A payer name (and account) that stands for a customer: what confirming
    ``learned_from`` would teach an engine that learns aliases."""

    counterparty_id: str
    alias: str
    account: str
    learned_from: str  # the first transaction paid under this alias


@dataclass(frozen=True, slots=True)
class OwnAccount:
    """One of the tenant's bank accounts and how its bank delivers statements."""

    key: str  # country of the bank
    identifier: str  # IBAN or account number
    currency: str
    statement_format: str  # "mt940-dk" | "mt940-abn" | "camt053" | "csv-us" | "csv-uk"
    bic: str


@dataclass
class RealisticBook:
    """A generated book: engine inputs, the truth, and the data future inputs will carry."""

    seed: int
    size: int
    profile: str
    invoices: list[InvoiceInput]
    transactions: list[TransactionInput]
    labels: dict[str, Label]  # transaction id -> label
    terms: list[PaymentTerms]
    advices: list[RemittanceAdvice]
    alias_facts: list[AliasFact]
    balances: list[StatementBalance]
    own_accounts: list[OwnAccount]
    statements: dict[str, bytes]  # file name -> content, as the banks deliver them
    settings: EngineSettings = field(default_factory=lambda: BENCH_SETTINGS)

    @property
    def truth_pairs(self) -> set[tuple[str, str]]:
        """(transaction_id, invoice_id) pairs truly paid (ambiguous ones: the one the generator chose)."""
        return {
            (label.transaction_id, a.invoice_id) for label in self.labels.values() for a in label.allocations
        }

    def digest(self) -> str:
        """A fingerprint of everything generated, to check determinism across processes."""
        hasher = hashlib.sha256()
        for record in (*self.invoices, *self.transactions, *self.labels.values(), *self.terms,
                       *self.advices, *self.alias_facts, *self.balances):  # fmt: skip
            hasher.update(repr(record).encode())
        for name, content in self.statements.items():
            hasher.update(name.encode() + content)
        return hasher.hexdigest()


# -- text helpers ----------------------------------------------------------------------------------

_SWIFT_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "AE", "Ö": "OE", "Ü": "UE", "ß": "ss"})
# SWIFT "x" character set: letters, digits, space and / - ? : ( ) . , ' +
_SWIFT_X = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 /-?:().,'+")


def strip_accents(text: str) -> str:
    """Accents dropped (ü -> u, é -> e), as many payment systems do."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def transliterate(text: str, how: str) -> str:
    """``swift``: ü -> ue, é -> e; ``strip``: ü -> u; ``lossy``: every non-ASCII letter -> '?'."""
    if how == "swift":
        return strip_accents(text.translate(_SWIFT_UMLAUTS))
    if how == "strip":
        return strip_accents(text)
    if how == "lossy":
        return "".join(c if c.isascii() else "?" for c in text)
    return text


def swift_x(text: str, keep_umlauts: bool = False) -> str:
    """Text in the SWIFT x character set as MT940 carries it (``&`` -> ``+``, others -> space)."""
    if not keep_umlauts:
        text = transliterate(text, "swift")
    text = text.replace("&", "+")
    return "".join(c if c in _SWIFT_X or (keep_umlauts and c in "äöüÄÖÜß") else " " for c in text)


def one_typo(rng: random.Random, number: str) -> str:
    """``number`` with one typo on a digit: replaced, swapped with its neighbour, dropped or doubled."""
    digits = [k for k, ch in enumerate(number) if ch.isdigit()]
    k = rng.choice(digits[1:] if len(digits) > 1 else digits)
    roll = rng.random()
    if roll < 0.4:
        return number[:k] + rng.choice([d for d in "0123456789" if d != number[k]]) + number[k + 1 :]
    if roll < 0.7 and k + 1 < len(number) and number[k + 1].isdigit() and number[k + 1] != number[k]:
        return number[:k] + number[k + 1] + number[k] + number[k + 2 :]
    if roll < 0.85:
        return number[:k] + number[k + 1 :]
    return number[:k] + number[k] + number[k:]


def _digits(seed_text: str, count: int) -> str:
    """Deterministic digits derived from a text (bank references that need no randomness)."""
    value = int(hashlib.sha256(seed_text.encode()).hexdigest(), 16)
    return str(value)[-count:].rjust(count, "0")


def _wrap(text: str, width: int = 65) -> str:
    """MT940 lines of at most ``width`` characters; no line may start like a tag or a trailer."""
    lines: list[str] = []
    while text:
        cut = min(width, len(text))
        # A line must not start like a tag (":61:") or the trailer ("-"), and must not end in a
        # space: readers strip trailing blanks, which would glue two words together.
        while cut < len(text) and cut > 1 and (text[cut] in ":-" or text[cut - 1] == " "):
            cut -= 1
        lines.append(text[:cut])
        text = text[cut:]
    return "\n".join(lines)


def _mt940_amount(amount: Decimal) -> str:
    return f"{abs(amount):.2f}".replace(".", ",")


def _business_day(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def discounted(amount: Decimal, percent: Decimal) -> Decimal:
    """``amount`` less ``percent`` %, rounded half up to the cent (how payers compute Skonto)."""
    return (amount * (1 - percent / 100)).quantize(CENT, rounding=ROUND_HALF_UP)


def processor_fee(gross: Decimal, percent: Decimal, fixed: Decimal) -> Decimal:
    """A processor's fee on one sale: percent of it plus a fixed part, half up to the cent."""
    return (gross * percent / 100 + fixed).quantize(CENT, rounding=ROUND_HALF_UP)


# -- parties -------------------------------------------------------------------------------------


@dataclass
class _Parent:
    name: str
    iban: str
    registered: bool
    first_paid: str = ""  # the first transaction paid under this name


@dataclass
class _Party:
    id: str
    name: str
    country: str
    currency: str
    direction: str  # "receivable" (a customer) or "payable" (a vendor)
    iban: str  # the payer's account as statements show it ("" in the US and UK)
    iban_on_record: bool
    bic: str
    customer_number: str
    trade_alias: str = ""  # registered trading name
    parent: _Parent | None = None
    processor: str = ""
    terms: tuple[Decimal, int, int] | None = None  # (percent, discount days, net days)
    subscription: Decimal | None = None
    vendor_format: str = ""
    seq: int = 0

    @property
    def language(self) -> str:
        return _LANGUAGE[self.country]

    @property
    def aliases(self) -> tuple[str, ...]:
        known = [self.trade_alias] if self.trade_alias else []
        if self.parent and self.parent.registered:
            known.append(self.parent.name)
        return tuple(known)


@dataclass
class _Text:
    """What the counterparty's side sent, before a format's limits are applied."""

    name: str = ""
    account: str = ""
    bic: str = ""
    purpose: str = ""
    structured: str = ""  # RF or OGM creditor reference
    structured_issuer: str = ""  # "ISO" (RF) or "BBA" (OGM)
    e2e: str = ""
    ultimate: str = ""  # on whose behalf (ABWA+ / UltmtDbtr)
    rmr: tuple[tuple[str, Decimal, Decimal, Decimal], ...] = ()  # ACH: number, paid, total, discount
    name_limit: int = 0  # cut the name here (0: the format's own limit)
    translit: str = ""  # forced transliteration of the name: swift / strip / lossy
    posting: str = ""  # the bank's booking text
    gvc: str = ""  # DK business transaction code
    plain: bool = False  # a bank-made line (fees, card): free text only
    international: bool = False  # arrived by SWIFT (MT103): 35-character name lines
    sec: str = ""  # ACH standard entry class
    ach_descr: str = ""  # ACH company entry description
    ach_ind_id: str = ""  # ACH individual identification (15)
    wire: bool = False  # US: Fedwire instead of ACH; UK: Bacs instead of Faster Payments


@dataclass
class _Line:
    id: str
    account: str  # own account key
    family: str
    booking: date
    value: date
    amount: Decimal  # signed: credits positive
    currency: str
    text: _Text
    kind: str
    outcome: str
    allocations: tuple[TrueAllocation, ...] = ()
    alternatives: tuple[str, ...] = ()
    difference: str = ""
    difference_amount: Decimal = Decimal(0)
    facts: dict[str, str] = field(default_factory=dict)
    raw: str = ""


class _Builder:
    """One book: parties, invoices, payments (lines), then statement files read back."""

    def __init__(self, n: int, seed: int, mix: Mapping[str, float]) -> None:
        self.r = random.Random(seed)
        self.n = n
        self.mix = dict(mix)
        self.numbering = self.r.choice(NUMBERINGS)
        self.dk_keeps_umlauts = self.r.random() < 0.5
        self.invoices: list[InvoiceInput] = []
        self.terms: list[PaymentTerms] = []
        self.advices: list[RemittanceAdvice] = []
        self.alias_facts: list[AliasFact] = []
        self.lines: list[_Line] = []
        self.inv_seq = 0
        self.tx_seq = 0
        self.number_seq = self.r.randrange(100, 5000)
        self.used_names: set[str] = set()
        self.our_name = f"{self._stem('EN')} {self.r.choice(_TRADES['DE'])} GmbH"
        self.accounts = {key: self._own_account(key) for key in ACCOUNT_FORMATS}
        # each processor pays out from one account of its own
        self.processor_accounts = {
            name: self._iban(country) if country != "US" else ""
            for name, (_, country, *_rates) in _PROCESSORS.items()
        }
        self.parties: list[_Party] = []
        for k in range(max(16, n // 7)):
            self.parties.append(self._party(k))

    # -- parties ------------------------------------------------------------------------------

    def _iban(self, country: str) -> str:
        r = self.r
        digits = lambda k: "".join(r.choice("0123456789") for _ in range(k))  # noqa: E731
        letters = lambda k: "".join(r.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(k))  # noqa: E731
        if country == "BE":
            body = digits(10)
            bban = body + f"{int(body) % 97 or 97:02d}"
        elif country == "FR":
            bank, branch, account = digits(5), digits(5), digits(11)
            key = 97 - (89 * int(bank) + 15 * int(branch) + 3 * int(account)) % 97
            bban = f"{bank}{branch}{account}{key:02d}"
        else:
            bban = {
                "DE": lambda: digits(18), "AT": lambda: digits(16), "NL": lambda: letters(4) + digits(10),
                "IT": lambda: letters(1) + digits(10) + digits(12), "LU": lambda: digits(3) + digits(13),
                "GB": lambda: letters(4) + digits(14), "IE": lambda: letters(4) + digits(14),
            }[country]()  # fmt: skip
        return f"{country}{stdnum_iban.calc_check_digits(country + '00' + bban)}{bban}"

    def _bic(self, country: str) -> str:
        r = self.r
        return (
            "".join(r.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(4))
            + country
            + r.choice(("FF", "MM", "2A", "XX", "BB"))
            + r.choice(("", "XXX"))
        )

    def _own_account(self, key: str) -> OwnAccount:
        statement_format, currency = ACCOUNT_FORMATS[key]
        identifier = (
            self._iban(key)
            if key in ("DE", "NL", "BE", "GB")
            else "".join(self.r.choice("0123456789") for _ in range(12))
        )
        return OwnAccount(key, identifier, currency, statement_format, self._bic(key) if key != "US" else "")

    def _stem(self, language: str) -> str:
        r = self.r
        if r.random() < 0.55:
            return r.choice(_SURNAMES[language if language in _SURNAMES else "EN"])
        return (r.choice(_SYL) + r.choice(_SYL)).capitalize()

    def _company_name(self, country: str, long: bool = False) -> tuple[str, str]:
        """A fresh company name and its distinctive part (the family or invented name)."""
        r = self.r
        language = _LANGUAGE[country]
        trades = _TRADES[language if language in _TRADES else "EN"]
        for _ in range(1000):
            stem = self._stem(language)
            trade = r.choice(trades)
            legal = r.choice(_LEGAL[country])
            if long or r.random() < 0.3:
                other = r.choice([t for t in trades if t != trade])
                joiner = {"DE": "und", "NL": "en", "FR": "et", "IT": "e"}.get(language, "and")
                name = f"{stem} {trade} {joiner} {other} {legal}"
            elif r.random() < 0.15 and language == "DE":
                name = f"Gebrüder {stem} {trade} {legal}"
            elif r.random() < 0.2 and language == "FR":
                name = f"Établissements {stem} {trade} {legal}"
            else:
                name = f"{stem} {trade} {legal}"
            if name not in self.used_names:
                self.used_names.add(name)
                return name, stem
        raise RuntimeError("no fresh company name")  # pragma: no cover - 1000 tries

    def _party(self, k: int, *, country: str | None = None, direction: str | None = None,
               **forced: object) -> _Party:  # fmt: skip
        r = self.r
        countries, shares = zip(*COUNTRY_SHARE, strict=True)
        if country is None and direction == "payable":  # the tenant pays its vendors from its EUR accounts
            country = r.choice(("DE", "DE", "AT", "NL", "BE", "FR"))
        country = country or r.choices(countries, shares)[0]
        if direction is None:
            direction = (
                "payable" if r.random() < 0.2 and country in ("DE", "AT", "NL", "BE", "FR") else "receivable"
            )
        name, stem = self._company_name(country, long=bool(forced.get("long")))
        sepa = country not in ("US", "GB")
        party = _Party(
            id=f"cp{k:06d}",
            name=name,
            country=country,
            currency=CURRENCY[country],
            direction=direction,
            iban=self._iban(country) if sepa else "",
            iban_on_record=sepa and r.random() < 0.7,
            bic=self._bic(country) if sepa else "",
            customer_number=str(r.randrange(10000, 99999)),
            vendor_format=r.choice(("F{y}-{s:04d}", "{s:07d}", "BILL-{s}", "SO/{y}/{s:05d}", "R{y}{s:05d}")),
            seq=r.randrange(0, 60000),
        )
        if "iban_on_record" in forced:
            party.iban_on_record = bool(forced["iban_on_record"]) and sepa
        if r.random() < 0.15:
            party.trade_alias = f"{stem} {r.choice(('Service', 'Trading', 'Shop', 'Group'))}"
        if direction == "receivable":
            if r.random() < 0.14 or "parent" in forced:
                registered = bool(forced.get("parent", r.random() < 0.5))
                stem = stem if r.random() < 0.5 else self._stem(party.language)
                parent_name = (
                    f"{stem} {r.choice(('Holding', 'Group', 'Beteiligungs', 'Industries'))} "
                    + r.choice(_LEGAL[country])
                )
                party.parent = _Parent(parent_name, self._iban(country) if sepa else "", registered)
            if r.random() < 0.08 or forced.get("processor"):
                choices = {
                    "EUR": ("PAYPAL", "STRIPE"),
                    "USD": ("PAYPAL", "STRIPE", "SQUARE"),
                    "GBP": ("SQUARE", "STRIPE"),
                }
                party.processor = r.choice(choices[party.currency])
            if r.random() < 0.12 or forced.get("subscription"):
                party.subscription = Decimal(r.choice((49, 99, 149, 199, 249, 490, 1200)))
        if r.random() < 0.2 or forced.get("terms"):
            party.terms = (Decimal(r.choice((2, 2, 2, 3))), r.choice((10, 14)), r.choice((30, 30, 45)))
        return party

    def _pool(self, kind: str, direction: str = "receivable") -> list[_Party]:
        """Parties a payment of ``kind`` can come from."""
        base = [p for p in self.parties if p.direction == direction]
        test = {
            "truncated_name": lambda p: (
                not p.iban_on_record
                and p.country not in ("NL", "GB")
                and len(p.name) > (DK_NAME_FIELD if RECEIVING_ACCOUNT[p.country] == "DE" else SWIFT_NAME_LINE)
            ),
            "transliterated_name": lambda p: (
                not p.iban_on_record and not p.name.isascii() and p.country not in ("US", "GB")
            ),
            "parent_company": lambda p: p.parent is not None and p.parent.registered,
            "learned_alias": lambda p: p.parent is not None and not p.parent.registered,
            "processor": lambda p: bool(p.processor),
            "discount": lambda p: p.terms is not None,
            "fee_deducted": lambda p: p.currency in ("EUR", "USD"),
            "ambiguous": lambda p: p.subscription is not None,
            "batch_quoted": lambda p: p.country != "GB",
        }.get(kind)
        return [p for p in base if test(p)] if test else base

    def _party_for(self, kind: str, direction: str = "receivable") -> _Party:
        pool = self._pool(kind, direction)
        if not pool:  # a small book: make one that fits
            forced: dict[str, object] = {
                "truncated_name": {"long": True, "iban_on_record": False, "country": "DE"},
                "transliterated_name": {"iban_on_record": False, "country": "DE"},
                "parent_company": {"parent": True}, "learned_alias": {"parent": False},
                "processor": {"processor": True}, "discount": {"terms": True},
                "ambiguous": {"subscription": True}, "fee_deducted": {"country": "DE"},
            }.get(kind, {})  # fmt: skip
            for _ in range(200):
                extra = dict(forced)
                country = extra.pop("country", None)
                party = self._party(len(self.parties), country=country, direction=direction, **extra)  # type: ignore[arg-type]
                self.parties.append(party)
                if party in self._pool(kind, direction):
                    return party
            raise RuntimeError(f"cannot make a party for {kind}")  # pragma: no cover
        return self.r.choice(pool)

    # -- invoices --------------------------------------------------------------------------------

    def _amount(self, party: _Party) -> Decimal:
        r = self.r
        if r.random() < 0.12:
            return Decimal(r.choice((100, 150, 250, 500, 750, 1000, 1500, 2500, 5000)))
        cents = int(r.lognormvariate(11.2, 1.1))  # median ~730.00, long tail
        return Decimal(max(cents, 1500)).scaleb(-2)

    def _invoice(
        self, party: _Party, amount: Decimal | None = None, issue: date | None = None
    ) -> InvoiceInput:
        r = self.r
        self.inv_seq += 1
        issue = issue or START + timedelta(days=r.randrange(330))
        net = party.terms[2] if party.terms else r.choice((14, 30, 30, 45, 60))
        if party.direction == "receivable":
            self.number_seq += r.choice((1, 1, 1, 2, 3))
            number = self.numbering.format(y=issue.year, s=self.number_seq)
            reference = ""
            if party.currency == "EUR" and r.random() < (0.6 if party.country == "BE" else 0.25):
                reference = (
                    ogm_vcs.compact(
                        f"{self.number_seq:010d}" + ogm_vcs.calc_check_digits(f"{self.number_seq:010d}")
                    )
                    if party.country == "BE"
                    else make_rf(f"{self.inv_seq:09d}")
                )
        else:
            party.seq += r.choice((1, 1, 2, 7))
            number = party.vendor_format.format(y=issue.year, s=party.seq)
            reference = ""
        amount = amount if amount is not None else self._amount(party)
        invoice = InvoiceInput(
            id=f"inv{self.inv_seq:07d}",
            number=number,
            amount=amount,
            outstanding=amount,
            currency=party.currency,
            issue_date=issue,
            due_date=issue + timedelta(days=net),
            counterparty_id=party.id,
            counterparty_name=party.name,
            counterparty_aliases=party.aliases,
            counterparty_account=party.iban if party.iban_on_record else "",
            structured_reference=reference,
            direction=party.direction,
        )
        self.invoices.append(invoice)
        if party.terms is not None:
            percent, days, net_days = party.terms
            words = (
                f"{percent:g}/{days} net {net_days}"
                if party.language == "EN"
                else f"{percent:g} % Skonto bei Zahlung innerhalb {days} Tagen, {net_days} Tage netto"
            )
            self.terms.append(
                PaymentTerms(
                    invoice_id=invoice.id,
                    text=words,
                    discount_percent=percent,
                    discount_days=days,
                    net_days=net_days,
                    discount_until=issue + timedelta(days=days),
                    due=issue + timedelta(days=net_days),
                    discounted_amount=discounted(invoice.amount, percent),
                )
            )
        return invoice

    def _decoy(self, invoice: InvoiceInput) -> None:
        """An open invoice of another party with the same amount (what amount-only matching falls for)."""
        others = [p for p in self.parties if p.currency == invoice.currency and p.id != invoice.counterparty_id
                  and p.direction == invoice.direction]  # fmt: skip
        if others:
            assert invoice.issue_date is not None
            self._invoice(
                self.r.choice(others),
                invoice.amount,
                invoice.issue_date + timedelta(days=self.r.randint(-40, 40)),
            )

    # -- texts -----------------------------------------------------------------------------------

    def _quote(self, number: str) -> str:
        """An invoice number as payers write it."""
        r = self.r
        roll = r.random()
        if roll < 0.55:
            return number
        if roll < 0.67:
            return number.lower()
        if roll < 0.79:
            return "".join(ch for ch in number if ch.isalnum())
        if roll < 0.90:
            return " ".join("".join(ch if ch.isalnum() else " " for ch in number).split())
        return number.replace("-", "/")

    def _invoice_text(self, party: _Party, number: str, quoted: str | None = None) -> str:
        r = self.r
        quoted = quoted if quoted is not None else self._quote(number)
        words = _INVOICE_WORDS[party.language]
        text = r.choice(words) + quoted
        roll = r.random()
        if roll < 0.15:
            text += (
                r.choice((" Kd-Nr. ", " Kundennr ", " cust ", " klant ", " client ")) + party.customer_number
            )
        elif roll < 0.22:
            text += f" PO 4500{r.randrange(100000, 999999)}"
        elif roll < 0.28:
            text = f"{r.choice(_GENERIC[party.language])} {text}"
        return text

    def _generic(self, party: _Party) -> str:
        r = self.r
        text = r.choice(_GENERIC[party.language])
        roll = r.random()
        if roll < 0.25:
            text += f" Kd {party.customer_number}" if party.language == "DE" else f" {party.customer_number}"
        elif roll < 0.35:
            text += f" PO 4500{r.randrange(100000, 999999)}"
        elif roll < 0.45:
            text += f" {r.randint(1, 12):02d}/{r.choice((2024, 2025))}"
        return text

    def _family(self, party: _Party, *, wire: bool | None = None) -> tuple[str, str, bool]:
        """(own account, family, wire) for a payment from ``party``."""
        account = (
            RECEIVING_ACCOUNT[party.country]
            if party.direction == "receivable"
            else ("DE" if party.country in ("DE", "AT", "NL") else "BE")
        )
        if wire is None:
            wire = self.r.random() < (0.3 if account == "US" else 0.2 if account == "GB" else 0.0)
        family = {
            "DE": "dk_mt940", "NL": "abn_mt940", "BE": "camt053",
            "US": "us_fedwire" if wire else "us_ach", "GB": "uk_bacs" if wire else "uk_fps",
        }[account]  # fmt: skip
        return account, family, wire

    def _e2e(self, party: _Party, number: str = "") -> str:
        r = self.r
        roll = r.random()
        if roll < 0.5:
            return ""
        if roll < 0.62 and number:
            return number  # ERPs (SAP's payment run among them) often send the document number
        return f"{r.choice(('ZL', 'PAY', 'E2E', 'F110'))}{r.randrange(10**6, 10**9)}"

    def _pay_day(self, invoice: InvoiceInput, *, late: bool | None = None, until: date | None = None) -> date:
        r = self.r
        assert invoice.issue_date is not None and invoice.due_date is not None
        if until is not None:
            return invoice.issue_date + timedelta(
                days=r.randint(1, max(1, (until - invoice.issue_date).days))
            )
        if late is None:
            late = r.random() < 0.12
        if late:
            return invoice.due_date + timedelta(days=r.randint(6, 75))
        return invoice.issue_date + timedelta(
            days=r.randint(2, (invoice.due_date - invoice.issue_date).days + 4)
        )

    def _line(self, amount: Decimal, currency: str, day: date, text: _Text, kind: str, outcome: str, *,
              account: str, family: str, **label: object) -> _Line:  # fmt: skip
        """A bank line paid on ``day`` (its value date), booked 0-2 business days later."""
        self.tx_seq += 1
        booking = _business_day(day + timedelta(days=self.r.choice((0, 0, 1, 1, 2))))
        line = _Line(
            id=f"tx{self.tx_seq:07d}",
            account=account,
            family=family,
            booking=booking,
            value=day if self.r.random() < 0.7 else booking,
            amount=amount,
            currency=currency,
            text=text,
            kind=kind,
            outcome=outcome,
            **label,  # type: ignore[arg-type]
        )
        self.lines.append(line)
        return line

    def _payer_text(self, party: _Party, purpose: str, *, e2e: str = "", structured: str = "",
                    wire: bool = False) -> _Text:  # fmt: skip
        return _Text(
            name=party.name,
            account=party.iban,
            bic=party.bic,
            purpose=purpose,
            structured=structured,
            structured_issuer="BBA" if structured and not structured.startswith("RF") else "ISO",
            e2e=e2e,
            wire=wire,
        )

    # -- payment kinds ---------------------------------------------------------------------------

    def _single(self, kind: str, party: _Party) -> None:
        """One invoice paid by one transaction: exact, typo, cut, no reference, names, parent,
        processor, discount, fees, short payments."""
        r = self.r
        invoice = self._invoice(party)
        amount = invoice.amount
        # International transfers and 35-character name lines arrive by wire in the US.
        wire = True if kind in ("fee_deducted", "truncated_name") and party.currency == "USD" else None
        account, family, wire = self._family(party, wire=wire)
        if kind == "reference_cut" and family == "us_fedwire":
            account, family, wire = self._family(party, wire=False)
        quoted = self._quote(invoice.number)
        purpose = self._invoice_text(party, invoice.number, quoted)
        shown = quoted  # the invoice reference as the text carries it ("" when none)
        structured = ""
        e2e = self._e2e(party, invoice.number)
        facts: dict[str, str] = {"direction": party.direction}
        difference, difference_amount = "", Decimal(0)
        day = self._pay_day(invoice)
        if kind == "exact" and invoice.structured_reference and r.random() < 0.7:
            structured, shown = invoice.structured_reference, ""
            purpose = self._generic(party) if r.random() < 0.5 else ""
        if kind == "reference_typo":
            shown = one_typo(r, invoice.number)
            purpose = self._invoice_text(party, invoice.number, shown)
            e2e = e2e if e2e != invoice.number else ""
            facts["typo"] = shown
        elif kind == "reference_cut":
            purpose, limit, left = self._cut_reference(party, invoice.number, family)
            shown = purpose
            e2e = e2e if e2e != invoice.number else ""
            facts.update(field_limit=str(limit), shown=left)
        elif kind in ("no_reference", "truncated_name", "transliterated_name"):
            purpose, shown, e2e = self._generic(party), "", e2e if e2e != invoice.number else ""
        elif kind in ("parent_company", "learned_alias"):
            if r.random() < 0.55:
                purpose, shown, e2e = self._generic(party), "", ""
        elif kind == "processor":
            return self._processor(party, invoice)
        elif kind == "discount":
            assert party.terms is not None and invoice.issue_date is not None
            percent, days, _net = party.terms
            amount = discounted(invoice.amount, percent)
            difference, difference_amount = "discount", invoice.amount - amount
            day = self._pay_day(invoice, until=invoice.issue_date + timedelta(days=days))
            purpose += r.choice(_DISCOUNT_WORDS[party.language]).format(p=f"{percent:g}")
            facts["discount_percent"] = str(percent)
        elif kind == "fee_deducted":
            fee = Decimal(r.choice((r.randint(750, 3500), r.randint(50, 500)))).scaleb(-2)
            amount = invoice.amount - min(fee, invoice.amount - CENT)
            difference, difference_amount = "bank_fee", invoice.amount - amount
        elif kind == "short_payment":
            roll = r.random()
            cents = (
                r.randint(1, 100)
                if roll < 0.5
                else r.randint(100, 2000)
                if roll < 0.85
                else r.randint(2000, 7500)
            )
            short = min(Decimal(cents).scaleb(-2), invoice.amount - CENT)
            amount = invoice.amount - short
            difference, difference_amount = "write_off", short
            if r.random() < 0.3:
                purpose += r.choice(
                    (" abzgl. Gebühren", " less bank charges", " minus kosten", " moins frais")
                )
        if kind != "reference_cut":
            purpose = self._fit(family, purpose, shown)
        text = self._payer_text(party, purpose, e2e=e2e, structured=structured, wire=wire)
        if kind == "truncated_name":
            text.name_limit = DK_NAME_FIELD if family == "dk_mt940" else SWIFT_NAME_LINE
            text.international = family != "dk_mt940"
            facts.update(full_name=party.name, name_limit=str(text.name_limit))
        elif kind == "transliterated_name":
            text.translit = r.choice(("swift", "swift", "strip", "lossy" if family == "camt053" else "strip"))
            facts.update(full_name=party.name, transliteration=text.translit)
        elif kind in ("parent_company", "learned_alias"):
            assert party.parent is not None
            text.name, text.account = party.parent.name, party.parent.iban
            text.ultimate = party.name if r.random() < 0.4 else ""
            facts["alias"] = party.parent.name
        elif kind == "fee_deducted":
            text.international = True
        if family == "us_ach":
            discount = difference_amount if difference == "discount" else Decimal(0)
            self._ach_fields(text, party, shown, amount, invoice.amount, discount, kind)
        sign = 1 if party.direction == "receivable" else -1
        line = self._line(
            sign * amount, party.currency, day, text, kind, "invoices", account=account, family=family,
            allocations=(TrueAllocation(invoice.id, amount, invoice.amount if difference else amount),),
            difference=difference, difference_amount=difference_amount, facts=facts,
        )  # fmt: skip
        if kind == "learned_alias":
            assert party.parent is not None
            if not party.parent.first_paid:
                party.parent.first_paid = line.id
                self.alias_facts.append(AliasFact(party.id, party.parent.name, party.parent.iban, line.id))
                line.facts["alias_first_seen"] = "yes"
        if kind in ("exact", "no_reference") and r.random() < DECOY_SHARE:
            self._decoy(invoice)

    def _cut_reference(self, party: _Party, number: str, family: str) -> tuple[str, int, str]:
        """A purpose whose invoice number a field limit cuts: (text as sent, limit, what is left)."""
        r = self.r
        limit = {"uk_fps": UK_FIELD, "uk_bacs": UK_FIELD, "us_ach": ACH_IND_ID}.get(family, DK_NAME_FIELD)
        low = max(3, (len(number) * 2 + 4) // 5)
        heads = [w for w in _INVOICE_WORDS[party.language] if w] + [
            f"{party.customer_number} ", f"Kd {party.customer_number} Re ", f"CUST {party.customer_number} INV ",
            "PAYMENT INV ", "Zahlung Rechnung ", "Payment for invoice no ", "Rechnungsnummer ",
            "Begleichung Rechnung Nr. ", "Paiement facture numero ",
        ]  # fmt: skip
        fits = [h for h in heads if low <= limit - len(h) <= len(number) - 1]
        if not fits:  # a short number: pad the head until the cut falls into it
            head = "Zahlung zu Rechnung Nr. " if party.language == "DE" else "Payment for invoice number "
            fits = [head[: max(0, limit - low)]]
        head = r.choice(fits)
        shown = (head + number)[:limit]
        return shown, limit, shown[len(head) :]

    def _ach_fields(self, text: _Text, party: _Party, shown: str, paid: Decimal, total: Decimal,
                    discount: Decimal, kind: str) -> None:  # fmt: skip
        """Where an ACH credit carries the reference: an X12 RMR addenda (CCD+), the individual id
        (15) or a free-text addenda; ``shown`` is the reference as the payer writes it."""
        r = self.r
        text.ach_descr = r.choice(
            ("PAYMENT", "VENDOR PAY", "AP PAYMENT", "INV PMT", "PAYABLES", "EDI PYMNTS")
        )
        text.sec = "CCD"
        if kind == "reference_cut":
            text.ach_ind_id, text.purpose = text.purpose, ""
        elif shown and r.random() < 0.75:
            text.rmr = ((shown, paid, total, discount),)
            text.purpose, text.ach_ind_id = "", party.customer_number
        elif shown and r.random() < 0.5:
            text.ach_ind_id, text.purpose = shown[:ACH_IND_ID], ""
        else:
            text.sec = r.choice(("CCD", "PPD"))
            text.ach_ind_id = party.customer_number
            if not shown and r.random() < 0.7:
                text.purpose = ""

    def _fit(self, family: str, purpose: str, shown: str) -> str:
        """A UK reference holds 18 characters: payers who quote an invoice write just its number."""
        if family in ("uk_fps", "uk_bacs") and len(purpose) > UK_FIELD:
            return shown if shown and len(shown) <= UK_FIELD else purpose[:UK_FIELD]
        return purpose

    def _processor(self, party: _Party, invoice: InvoiceInput) -> None:
        r = self.r
        legal, _country, eu_pct, eu_fixed, us_pct, us_fixed = _PROCESSORS[party.processor]
        percent, fixed = (eu_pct, eu_fixed) if party.currency != "USD" else (us_pct, us_fixed)
        fee = processor_fee(invoice.amount, percent, fixed)
        net = invoice.amount - fee
        short = "".join(ch for ch in transliterate(party.name, "swift").upper() if ch.isalnum() or ch == " ")
        head = {"PAYPAL": "PAYPAL *", "SQUARE": "SQ *", "STRIPE": "STRIPE PAYMENT "}[party.processor]
        descriptor = head + short.replace(" ", "" if party.processor != "STRIPE" else " ")
        if party.processor != "STRIPE":
            descriptor = descriptor[:CARD_DESCRIPTOR]
        else:
            descriptor = f"{descriptor[:30]} py_{_digits(invoice.id, 10)}"
        if r.random() < 0.3:
            descriptor += f" {invoice.number}"
        account, family, _wire = self._family(party, wire=False)
        text = _Text(name=legal, account=self.processor_accounts[party.processor], purpose=descriptor,
                     ach_descr="TRANSFER", sec="CCD", ach_ind_id=_digits(party.id, 12))  # fmt: skip
        if family == "us_ach":
            text.name, text.purpose = party.processor, descriptor
        self._line(
            net, party.currency, self._pay_day(invoice, late=False), text, "processor", "invoices",
            account=account, family=family, allocations=(TrueAllocation(invoice.id, net, invoice.amount),),
            difference="processor_fee", difference_amount=fee,
            facts={"processor": party.processor, "fee_percent": str(percent), "fee_fixed": str(fixed),
                   "gross": str(invoice.amount), "direction": "receivable"},
        )  # fmt: skip

    def _partial(self, party: _Party) -> None:
        r = self.r
        invoice = self._invoice(party)
        parts = r.choice((2, 2, 3))
        total = invoice.amount if r.random() < 0.75 else (invoice.amount * Decimal("0.6")).quantize(CENT)
        cents = int(total * 100)
        cuts = sorted({int(cents * r.uniform(0.25, 0.75)) for _ in range(parts - 1)})
        amounts = [
            Decimal(b - a).scaleb(-2) for a, b in zip([0, *cuts], [*cuts, cents], strict=True) if b > a
        ]
        day = self._pay_day(invoice, late=False)
        account, family, wire = self._family(party)
        sign = 1 if party.direction == "receivable" else -1
        for k, amount in enumerate(amounts, start=1):
            shown = self._quote(invoice.number) if r.random() < 0.85 else ""
            head = r.choice(_PARTIAL_WORDS[party.language]).format(k=k)
            purpose = self._fit(family, head + shown if shown else self._generic(party), shown)
            text = self._payer_text(party, purpose, e2e=self._e2e(party), wire=wire)
            if family == "us_ach":
                self._ach_fields(text, party, shown, amount, invoice.amount, Decimal(0), "partial")
            self._line(sign * amount, party.currency, day, text, "partial", "invoices", account=account,
                       family=family, allocations=(TrueAllocation(invoice.id, amount, amount),),
                       facts={"instalment": str(k), "of": str(len(amounts)), "direction": party.direction})  # fmt: skip
            day += timedelta(days=r.randint(10, 35))

    def _batch_invoices(self, party: _Party, count: int) -> list[InvoiceInput]:
        first = self._invoice(party)
        assert first.issue_date is not None
        return [first] + [
            self._invoice(party, issue=first.issue_date + timedelta(days=self.r.randint(-45, 20)))
            for _ in range(count - 1)
        ]

    def _batch_advice(self, party: _Party) -> None:
        r = self.r
        count = min(20, 2 + int(r.expovariate(1 / 4)))
        invoices = self._batch_invoices(party, count)
        lines: list[AdviceLine] = []
        allocations: list[TrueAllocation] = []
        for invoice in invoices:
            amount, discount = invoice.amount, Decimal(0)
            if party.terms is not None and r.random() < 0.5:
                amount = discounted(invoice.amount, party.terms[0])
                discount = invoice.amount - amount
            elif r.random() < 0.08:
                amount = (invoice.amount * Decimal(r.choice(("0.5", "0.3")))).quantize(
                    CENT
                )  # partly paid, says the advice
            lines.append(AdviceLine(self._quote(invoice.number), invoice.id, amount, discount))
            allocations.append(TrueAllocation(invoice.id, amount, amount + discount))
        total = sum((line.amount for line in lines), Decimal(0))
        advice_id = f"{r.choice(('AV', '', 'RA', 'ZA'))}{r.randrange(10**5, 10**8)}"
        account, family, wire = self._family(party)
        purpose = self._fit(family, r.choice(_ADVICE_WORDS[party.language]).format(a=advice_id), advice_id)
        e2e = advice_id if r.random() < 0.4 else self._e2e(party)
        text = self._payer_text(party, purpose, e2e=e2e, wire=wire)
        if family == "us_ach":
            text.sec, text.ach_descr, text.ach_ind_id = "CTX", "EDI PYMNTS", advice_id[:ACH_IND_ID]
        day = max(self._pay_day(invoice, late=False) for invoice in invoices)
        line = self._line(total, party.currency, day, text, "batch_advice", "invoices", account=account,
                          family=family, allocations=tuple(allocations),
                          facts={"advice": advice_id, "invoices": str(len(invoices)), "direction": "receivable"})  # fmt: skip
        self.advices.append(
            RemittanceAdvice(
                id=advice_id,
                channel=r.choice(("camt054", "csv", "csv", "api")),
                payer_name=party.name,
                payer_account=party.iban,
                currency=party.currency,
                total=total,
                payment_date=line.value,
                payment_reference=purpose,
                end_to_end_id=e2e,
                lines=tuple(lines),
                transaction_id=line.id,
            )
        )

    def _batch_quoted(self, party: _Party) -> None:
        r = self.r
        count = r.choice((2, 2, 3, 3, 4, 5, 6, 7, 8, 10))
        invoices = self._batch_invoices(party, count)
        account, family, wire = self._family(party, wire=None)
        numbers = [invoice.number for invoice in invoices]
        if r.random() < 0.2 and len(numbers) > 1:  # "RE 2024-00123/124/125": the same head once
            head = numbers[0]
            shown = [head] + [n[-3:] if n[:-3] == head[:-3] else n for n in numbers[1:]]
        else:
            shown = [self._quote(n) for n in numbers]
        separator = r.choice((", ", " ", "/", "; "))
        purpose = r.choice(_PLURAL_WORDS[party.language]) + separator.join(shown)
        limit = SEPA_REMITTANCE if family != "us_ach" else ACH_ADDENDA
        purpose = purpose[:limit]
        total = sum((invoice.amount for invoice in invoices), Decimal(0))
        text = self._payer_text(party, purpose, e2e=self._e2e(party), wire=wire)
        quoted = sum(number in purpose for number in shown)
        if family == "us_ach":  # CTX: one RMR segment per invoice; the export shows four records
            text.sec, text.ach_descr, text.ach_ind_id, text.purpose = (
                "CTX",
                "EDI PYMNTS",
                party.customer_number,
                "",
            )
            text.rmr = tuple((self._quote(i.number), i.amount, i.amount, Decimal(0)) for i in invoices)
            segments = [len(f"RMR*IV*{n}*PI*{paid}\\") for n, paid, _total, _discount in text.rmr]
            quoted = sum(sum(segments[: k + 1]) <= 4 * ACH_ADDENDA for k in range(count))
        sign = 1 if party.direction == "receivable" else -1
        self._line(sign * total, party.currency, max(self._pay_day(i, late=False) for i in invoices), text,
                   "batch_quoted", "invoices", account=account, family=family,
                   allocations=tuple(TrueAllocation(i.id, i.amount, i.amount) for i in invoices),
                   facts={"invoices": str(count), "direction": party.direction, "quoted_in_full": str(quoted)})  # fmt: skip

    def _subset_sum(self, party: _Party) -> None:
        r = self.r
        count = r.choice((2, 2, 3, 3, 4, 5, 6))
        invoices = self._batch_invoices(party, count)
        account, family, wire = self._family(party)
        total = sum((invoice.amount for invoice in invoices), Decimal(0))
        purpose = r.choice(_BATCH_WORDS[party.language])
        if r.random() < 0.3:
            purpose += f" {party.customer_number}"
        text = self._payer_text(party, purpose, e2e=self._e2e(party), wire=wire)
        if family == "us_ach":
            self._ach_fields(text, party, "", total, total, Decimal(0), "subset_sum")
        self._line(total, party.currency, max(self._pay_day(i, late=False) for i in invoices), text,
                   "subset_sum", "invoices", account=account, family=family,
                   allocations=tuple(TrueAllocation(i.id, i.amount, i.amount) for i in invoices),
                   facts={"invoices": str(count), "direction": "receivable"})  # fmt: skip

    def _ambiguous(self, party: _Party) -> None:
        """2-4 invoices of the same amount, issued 1-3 weeks apart (monthly fees, repeat
        orders), all open when 1-3 payments without reference arrive: nothing says which one
        each pays (the generator's truth is the oldest first, any of them counts as right)."""
        r = self.r
        assert party.subscription is not None
        count = r.choice((2, 2, 3, 4))
        issued = START + timedelta(days=r.randrange(300))
        invoices = []
        for _ in range(count):
            invoices.append(self._invoice(party, party.subscription, issued))
            issued += timedelta(days=r.randint(7, 21))
        last_issued = invoices[-1].issue_date
        assert last_issued is not None
        paid = r.randint(1, count - 1)
        account, family, wire = self._family(party)
        group = tuple(invoice.id for invoice in invoices)
        day = last_issued + timedelta(days=r.randint(2, 12))
        for invoice in invoices[:paid]:
            text = self._payer_text(party, self._generic(party), e2e=self._e2e(party), wire=wire)
            if family == "us_ach":
                self._ach_fields(text, party, "", invoice.amount, invoice.amount, Decimal(0), "ambiguous")
            self._line(invoice.amount, party.currency, day, text, "ambiguous", "ambiguous", account=account,
                       family=family, allocations=(TrueAllocation(invoice.id, invoice.amount, invoice.amount),),
                       alternatives=group, facts={"equal_invoices": str(count), "direction": "receivable"})  # fmt: skip
            day += timedelta(days=r.randint(0, 6))

    def _payable(self) -> None:
        """The tenant pays a vendor's bill: exact, with discount, a batch or in parts."""
        r = self.r
        party = self._party_for("exact", "payable")
        kind = r.choices(("exact", "discount", "batch_quoted", "partial"), (0.55, 0.25, 0.13, 0.07))[0]
        if kind == "discount" and party.terms is None:
            kind = "exact"
        if kind == "batch_quoted":
            return self._batch_quoted(party)
        if kind == "partial":
            return self._partial(party)
        invoice = self._invoice(party)
        account, family, _wire = self._family(party)
        purpose = (
            f"RE-NR. {invoice.number} KD-NR. {party.customer_number}"
            if r.random() < 0.5
            else (f"{r.choice(('Rechnung', 'Invoice', 'Re'))} {invoice.number}")
        )
        amount, difference, difference_amount = invoice.amount, "", Decimal(0)
        day = self._pay_day(invoice)
        if kind == "discount":
            assert party.terms is not None
            amount = discounted(invoice.amount, party.terms[0])
            difference, difference_amount = "discount", invoice.amount - amount
            day = self._pay_day(invoice, until=invoice.issue_date + timedelta(days=party.terms[1]))  # type: ignore[operator]
            purpose += f" ABZGL. {party.terms[0]:g}% SKONTO"
        text = _Text(name=party.name, account=party.iban, bic=party.bic, purpose=purpose,
                     e2e=f"ZAHLLAUF{r.randrange(10**5, 10**6)}" if r.random() < 0.6 else "")  # fmt: skip
        self._line(-amount, party.currency, day, text, kind, "invoices", account=account, family=family,
                   allocations=(TrueAllocation(invoice.id, amount, invoice.amount),), difference=difference,
                   difference_amount=difference_amount, facts={"direction": "payable"})  # fmt: skip

    # -- transactions without invoice -------------------------------------------------------------

    def _internal_transfer(self) -> None:
        r = self.r
        source, target = r.sample(("DE", "NL", "BE"), 2)
        amount = Decimal(r.choice((5000, 10000, 15000, 20000, 25000, 50000)) + r.choice((0, 0, 0, 250)))
        day = START + timedelta(days=r.randrange(400))
        legs = []
        for key, sign, other in ((source, -1, target), (target, 1, source)):
            family = {"DE": "dk_mt940", "NL": "abn_mt940", "BE": "camt053"}[key]
            purpose = r.choice(("Umbuchung", "Übertrag Tagesgeld", "Liquiditaetsausgleich", "Cash pooling",
                                "Interne overboeking", "Transfert interne"))  # fmt: skip
            text = _Text(name=self.our_name, account=self.accounts[other].identifier,
                         bic=self.accounts[other].bic, purpose=purpose,
                         posting="UMBUCHUNG" if key == "DE" else "", gvc="166" if sign > 0 else "177")  # fmt: skip
            legs.append(self._line(sign * amount, "EUR", day, text, "internal_transfer", "internal_transfer",
                                   account=key, family=family))  # fmt: skip
        legs[0].facts["other_leg"], legs[1].facts["other_leg"] = legs[1].id, legs[0].id

    def _bank_charge(self) -> None:
        r = self.r
        key = r.choice(("DE", "DE", "NL", "BE", "US", "GB"))
        family = {"DE": "dk_mt940", "NL": "abn_mt940", "BE": "camt053", "US": "us_ach", "GB": "uk_fps"}[key]
        day = START + timedelta(days=r.randrange(400))
        month = f"{day.month:02d}/{day.year}"
        purpose = {
            "DE": r.choice(
                (f"Entgelt Kontofuehrung {month}", f"Abschluss {month}", "Entgelt Auslandszahlung")
            ),
            "NL": r.choice(("ABN AMRO Bank N.V. Basispakket zakelijk", f"Kosten betalingsverkeer {month}")),
            "BE": r.choice((f"Frais de tenue de compte {month}", "FRAIS VIREMENT INTERNATIONAL")),
            "US": r.choice(("MONTHLY SERVICE FEE", "WIRE TRANSFER FEE", "ACH ORIGINATION FEE")),
            "GB": r.choice(("ACCOUNT FEE", "COMMISSION CHARGES", "INTERNATIONAL PAYMENT FEE")),
        }[key]
        amount = Decimal(r.choice((r.randint(250, 4500), r.randint(1500, 2500)))).scaleb(-2)
        text = _Text(purpose=purpose, plain=True, posting="ENTGELTABSCHLUSS", gvc="805")
        self._line(-amount, ACCOUNT_FORMATS[key][1], day, text, "bank_charge", "bank_charge", account=key,
                   family=family)  # fmt: skip

    def _unrelated(self) -> None:
        r = self.r
        key = r.choices(("DE", "NL", "BE", "US", "GB"), (0.4, 0.15, 0.15, 0.2, 0.1))[0]
        family = {"DE": "dk_mt940", "NL": "abn_mt940", "BE": "camt053", "US": "us_ach", "GB": "uk_fps"}[key]
        currency = ACCOUNT_FORMATS[key][1]
        day = START + timedelta(days=r.randrange(400))
        month = f"{day.month:02d}/{day.year}"
        what = r.choices(
            (
                "payroll",
                "tax",
                "card",
                "direct_debit",
                "refund",
                "interest",
                "closed_invoice",
                "unknown_credit",
            ),
            (0.22, 0.08, 0.2, 0.16, 0.1, 0.04, 0.12, 0.08),
        )[0]
        cents = int(r.lognormvariate(10.6, 1.2)) + 500
        amount = (
            Decimal(cents).scaleb(-2) if r.random() > 0.2 else Decimal(r.choice((100, 250, 500, 1000, 1500)))
        )
        sign = -1
        name, purpose, plain, gvc, posting = "", "", False, "", ""
        iban = ""
        if what == "payroll":
            name, purpose, gvc, posting = r.choice(_PEOPLE), f"Lohn/Gehalt {month}", "153", "LOHN GEHALT"
            iban = self._iban("DE")
        elif what == "tax":
            name = {"DE": "Finanzamt Musterstadt", "NL": "Belastingdienst", "BE": "SPF Finances",
                    "US": "IRS USATAXPYMT", "GB": "HMRC VAT"}[key]  # fmt: skip
            purpose = (
                f"UST-VA {month} Steuernr {r.randrange(10**9, 10**10)}" if key == "DE" else f"VAT {month}"
            )
        elif what == "card":
            plain = True
            shop = r.choice(_SHOPS)
            purpose = (f"BEA NR:{_digits(str(r.random()), 6)} {day:%d.%m.%y}/{r.randint(8, 19):02d}.{r.randint(0, 59):02d} "
                       f"{shop},PAS{r.randint(100, 999)}") if key == "NL" else f"KARTENZAHLUNG {shop} {day:%d.%m}" if key == "DE" else f"CARD PURCHASE {shop}"  # fmt: skip
            gvc, posting = "106", "KARTENZAHLUNG"
        elif what == "direct_debit":
            name = r.choice(("Stadtwerke Nordhafen", "Leasing Partner Bank", "Versicherung Allianz-Nord",
                             "Telekommunikation Sued", "Energie West"))  # fmt: skip
            purpose = f"Lastschrift {month} Vertrag {r.randrange(10**6, 10**8)}"
            gvc, posting = "105", "SEPA-BASISLASTSCHRIFT"
            iban = self._iban("DE")
        elif what == "refund":
            vendors = [p for p in self.parties if p.direction == "payable" and p.currency == currency]
            party = r.choice(vendors) if vendors else None
            name, iban = (party.name, party.iban) if party else ("Online Shop GmbH", "")
            purpose, sign = f"Gutschrift Retoure {r.randrange(10**5, 10**7)}", 1
        elif what == "interest":
            plain, purpose, sign, gvc, posting = True, f"Habenzinsen {month}", 1, "804", "ZINSEN"
        else:  # a customer pays something the books do not hold open (paid already, another entity)
            customers = [
                p for p in self.parties if p.direction == "receivable" and RECEIVING_ACCOUNT[p.country] == key
            ]
            if not customers:
                return self._unrelated()
            party = r.choice(customers)
            name, iban, sign = party.name, party.iban, 1
            if what == "closed_invoice":
                ghost = self.numbering.format(y=day.year, s=self.r.randrange(10, 99))  # an old, closed number
                purpose = self._invoice_text(party, ghost)
            else:
                purpose = r.choice(("Anzahlung Auftrag", "Deposit order", "Vorauskasse", "Prepayment"))
                purpose += f" {r.randrange(1000, 9999)}"
        text = _Text(name=name, account=iban, purpose=purpose, plain=plain, gvc=gvc, posting=posting,
                     sec="PPD", ach_descr={"payroll": "PAYROLL", "tax": "TAX PYMT"}.get(what, "PAYMENT"))  # fmt: skip
        self._line(sign * amount, currency, day, text, "unrelated", "none", account=key, family=family,
                   facts={"what": what})  # fmt: skip

    # -- the run ---------------------------------------------------------------------------------

    def run(self) -> None:
        r = self.r
        kinds = [k for k in PAYMENT_KINDS if self.mix.get(k, 0) > 0] + (
            ["payables"] if self.mix.get("payables") else []
        )
        weights = [self.mix[k] for k in kinds]
        makers = {
            "partial": self._partial, "batch_advice": self._batch_advice, "batch_quoted": self._batch_quoted,
            "subset_sum": self._subset_sum, "ambiguous": self._ambiguous,
        }  # fmt: skip
        while len(self.invoices) < self.n:
            if not kinds or r.random() < UNPAID_SHARE:
                self._invoice(r.choice(self.parties))  # stays open
                continue
            kind = r.choices(kinds, weights)[0]
            if kind == "payables":
                self._payable()
            elif kind in makers:
                makers[kind](self._party_for(kind))
            else:
                self._single(kind, self._party_for(kind))
        payments = len(self.lines)
        others = [(kind, self.mix.get(kind, 0.0)) for kind in NON_INVOICE_KINDS]
        share = sum(s for _, s in others)
        extra = int(payments * share / max(1e-9, 1 - share))
        names, weights2 = zip(*others, strict=True)
        for _ in range(extra if share else 0):
            {"unrelated": self._unrelated, "internal_transfer": self._internal_transfer,
             "bank_charge": self._bank_charge}[r.choices(names, weights2)[0]]()  # fmt: skip


# -- statement files -----------------------------------------------------------------------------


def _name_for(line: _Line, limit: int, *, swift: bool, keep_umlauts: bool = False) -> str:
    text = line.text
    name = transliterate(text.name, text.translit) if text.translit else text.name
    if swift:
        name = swift_x(name, keep_umlauts=keep_umlauts and not text.translit)
    limit = min(limit, text.name_limit or limit, SWIFT_NAME_LINE if text.international else limit)
    shown = name[:limit].rstrip()
    if line.kind in ("truncated_name", "transliterated_name"):
        line.facts["name_shown"] = shown
    return shown


def _dk_86(line: _Line, keep_umlauts: bool) -> str:
    """The ``:86:`` value of a German bank (DK structure), see the module docstring."""
    text = line.text
    credit = line.amount > 0
    gvc = text.gvc or ("202" if text.international else "166" if credit else "177")
    posting = text.posting or ("AUSLANDSZAHLUNG" if text.international else "SEPA-GUTSCHRIFT" if credit
                               else "SEPA-UEBERWEISUNG")  # fmt: skip
    clean = lambda value: swift_x(value, keep_umlauts).replace("?", ".")  # noqa: E731 - ? separates sub-fields
    if text.plain:
        sections = [clean(text.purpose)]
    else:
        purpose = text.purpose
        if text.structured:
            grouped = " ".join(text.structured[k : k + 4] for k in range(0, len(text.structured), 4))
            purpose = f"{grouped} {purpose}".strip()
        sections = [f"EREF+{clean(text.e2e) or 'NOTPROVIDED'}", f"SVWZ+{clean(purpose)[:SEPA_REMITTANCE]}"]
        if text.ultimate:
            sections.append(f"ABWA+{clean(text.ultimate)[:70]}")
    pieces = [section[k : k + 27] for section in sections for k in range(0, len(section), 27)]
    keys = [*range(20, 30), *range(60, 64)]
    body = "".join(f"?{key}{piece}" for key, piece in zip(keys, pieces, strict=False))
    name = _name_for(line, DK_NAME_FIELD * 2, swift=True, keep_umlauts=keep_umlauts).replace("?", ".")
    parties = f"?30{text.bic}?31{text.account}" if text.account else ""
    if name:
        parties += f"?32{name[:27]}" + (f"?33{name[27:54]}" if name[27:54] else "")
    return _wrap(f"{gvc}?00{posting[:27]}?10{_digits(line.id, 4)}{body}{parties}")


def _abn_86(line: _Line) -> str:
    """The ``:86:`` value of ABN AMRO: SWIFT-style codes, or plain text for card lines and fees."""
    text = line.text
    if text.plain or not (text.account or text.name):
        return _wrap(swift_x(text.purpose))
    purpose = text.purpose
    if text.structured:
        purpose = f"{text.structured} {purpose}".strip()
    name = _name_for(line, 70, swift=True)
    parts = [
        "/TRTP/SEPA OVERBOEKING" if line.amount > 0 or text.account else "/TRTP/SEPA INCASSO",
        f"/IBAN/{text.account}" if text.account else "",
        f"/BIC/{text.bic}" if text.bic else "",
        f"/NAME/{name}",
        f"/REMI/{swift_x(purpose)[:SEPA_REMITTANCE]}",
        f"/EREF/{swift_x(text.e2e) or 'NOTPROVIDED'}",
    ]
    return _wrap("".join(parts))


def _statement_blocks(
    lines: list[_Line], opening: Decimal
) -> Iterable[tuple[date, list[_Line], Decimal, Decimal]]:
    """Lines per booking day with the day's opening and closing balance."""
    day_lines: dict[date, list[_Line]] = {}
    for line in lines:
        day_lines.setdefault(line.booking, []).append(line)
    balance = opening
    for day in sorted(day_lines):
        closing = balance + sum((line.amount for line in day_lines[day]), Decimal(0))
        yield day, day_lines[day], balance, closing
        balance = closing


def _mt940_balance(tag: str, day: date, currency: str, amount: Decimal) -> str:
    return f":{tag}:{'C' if amount >= 0 else 'D'}{day:%y%m%d}{currency}{_mt940_amount(amount)}"


def _mt940_file(account: OwnAccount, lines: list[_Line], opening: Decimal, keep_umlauts: bool,
                balances: list[StatementBalance]) -> bytes:  # fmt: skip
    out: list[str] = []
    number = 0
    account_id = (
        account.identifier
        if account.statement_format == "mt940-abn"
        else (f"{account.identifier[4:12]}/{account.identifier[12:]}")
    )
    for day, day_lines, open_balance, close_balance in _statement_blocks(lines, opening):
        number += 1
        out += [f":20:STMT{day:%y%m%d}{number:04d}", f":25:{account_id}", f":28C:{number:05d}/1",
                _mt940_balance("60F", day, account.currency, open_balance)]  # fmt: skip
        for line in day_lines:
            mark = "C" if line.amount > 0 else "D"
            code = "NTRF" if not line.text.plain else ("NCHG" if line.kind == "bank_charge" else "NMSC")
            customer = "NONREF"
            out.append(
                f":61:{line.value:%y%m%d}{line.booking:%m%d}{mark}{_mt940_amount(line.amount)}{code}{customer}"
                f"//{_digits(line.id + 'bank', 16)}"
            )
            line.raw = _dk_86(line, keep_umlauts) if account.statement_format == "mt940-dk" else _abn_86(line)
            out.append(f":86:{line.raw}")
        out += [_mt940_balance("62F", day, account.currency, close_balance), "-"]
        balances += [StatementBalance(account.identifier, "OPBD", open_balance, account.currency, day),
                     StatementBalance(account.identifier, "CLBD", close_balance, account.currency, day)]  # fmt: skip
    return ("\r\n".join(out) + "\r\n").encode("utf-8")


_CAMT_DOMAINS = {
    "credit": ("RCDT", "ESCT"), "debit": ("ICDT", "ESCT"), "bank_charge": ("CCRD", "CHRG"),
    "card": ("CCRD", "POSD"), "internal_transfer": ("ICDT", "BOOK"),
}  # fmt: skip


def _camt_entry(line: _Line) -> str:
    text = line.text
    credit = line.amount > 0
    role = "Dbtr" if credit else "Cdtr"
    if line.kind == "bank_charge":
        domain = _CAMT_DOMAINS["bank_charge"]
    elif text.plain:
        domain = _CAMT_DOMAINS["card"]
    elif line.kind == "internal_transfer":
        domain = _CAMT_DOMAINS["internal_transfer"]
    else:
        domain = _CAMT_DOMAINS["credit" if credit else "debit"]
    parties = ""
    name = _name_for(line, 70, swift=False)
    if name or text.account:
        parties = f"<RltdPties><{role}><Nm>{escape(name)}</Nm></{role}>"
        if text.account:
            parties += f"<{role}Acct><Id><IBAN>{text.account}</IBAN></Id></{role}Acct>"
        if text.ultimate:
            parties += f"<Ultmt{role}><Nm>{escape(text.ultimate[:70])}</Nm></Ultmt{role}>"
        parties += "</RltdPties>"
    remittance = ""
    if text.structured:
        remittance = (
            "<RmtInf><Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry>"
            f"<Issr>{text.structured_issuer}</Issr></Tp><Ref>{text.structured}</Ref></CdtrRefInf></Strd>"
            + (f"<Ustrd>{escape(text.purpose[:SEPA_REMITTANCE])}</Ustrd>" if text.purpose else "")
            + "</RmtInf>"
        )
    elif text.purpose and not text.plain:
        remittance = f"<RmtInf><Ustrd>{escape(text.purpose[:SEPA_REMITTANCE])}</Ustrd></RmtInf>"
    booked_as = (
        text.purpose if text.plain else "VIREMENT INTERNATIONAL RECU" if text.international
        else "VIREMENT SEPA RECU" if credit else "VIREMENT SEPA EMIS"
    )  # fmt: skip
    amount = f"{abs(line.amount):.2f}"
    return (
        f'<Ntry><Amt Ccy="{line.currency}">{amount}</Amt><CdtDbtInd>{"CRDT" if credit else "DBIT"}</CdtDbtInd>'
        f"<Sts>BOOK</Sts><BookgDt><Dt>{line.booking.isoformat()}</Dt></BookgDt>"
        f"<ValDt><Dt>{line.value.isoformat()}</Dt></ValDt><AcctSvcrRef>{_digits(line.id + 'bank', 16)}</AcctSvcrRef>"
        f"<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>{domain[0]}</Cd><SubFmlyCd>{domain[1]}</SubFmlyCd></Fmly></Domn>"
        f"</BkTxCd><NtryDtls><TxDtls><Refs><EndToEndId>{escape(text.e2e) or 'NOTPROVIDED'}</EndToEndId></Refs>"
        f"{parties}{remittance}</TxDtls></NtryDtls><AddtlNtryInf>{escape(booked_as)}</AddtlNtryInf></Ntry>"
    )


def _camt_balance(kind: str, amount: Decimal, currency: str, day: date) -> str:
    return (
        f'<Bal><Tp><CdOrPrtry><Cd>{kind}</Cd></CdOrPrtry></Tp><Amt Ccy="{currency}">{abs(amount):.2f}</Amt>'
        f"<CdtDbtInd>{'CRDT' if amount >= 0 else 'DBIT'}</CdtDbtInd><Dt><Dt>{day.isoformat()}</Dt></Dt></Bal>"
    )


def _camt_file(
    account: OwnAccount, lines: list[_Line], opening: Decimal, balances: list[StatementBalance]
) -> bytes:
    statements = []
    for day, day_lines, open_balance, close_balance in _statement_blocks(lines, opening):
        entries = []
        for line in day_lines:
            line.raw = _camt_entry(line)
            entries.append(line.raw)
        statements.append(
            f"<Stmt><Id>{account.key}{day:%Y%m%d}</Id><CreDtTm>{day.isoformat()}T20:00:00</CreDtTm>"
            f"<Acct><Id><IBAN>{account.identifier}</IBAN></Id><Ccy>{account.currency}</Ccy></Acct>"
            + _camt_balance("OPBD", open_balance, account.currency, day)
            + _camt_balance("CLBD", close_balance, account.currency, day)
            + "".join(entries)
            + "</Stmt>"
        )
        balances += [StatementBalance(account.identifier, "OPBD", open_balance, account.currency, day),
                     StatementBalance(account.identifier, "CLBD", close_balance, account.currency, day)]  # fmt: skip
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">'
        f"<BkToCstmrStmt><GrpHdr><MsgId>CAMT{account.key}</MsgId></GrpHdr>{''.join(statements)}</BkToCstmrStmt>"
        "</Document>\n"
    ).encode()


def _us_text(line: _Line, our_name: str) -> str:
    """A US bank's export line for an ACH credit or debit, a Fedwire, or a bank-made line."""
    text = line.text
    if text.plain or not text.name:
        return text.purpose
    if text.wire:
        obi = text.purpose
        obi = "".join(obi[k : k + 35] for k in range(0, min(len(obi), 140), 35))
        name = _name_for(line, SWIFT_NAME_LINE, swift=False).upper()
        if "name_shown" in line.facts:
            line.facts["name_shown"] = name
        return (
            f"FEDWIRE CREDIT VIA: {_digits(line.id + 'via', 4)} NATIONAL BANK/{_digits(line.id + 'aba', 9)} "
            f"B/O: {name} OBI: {obi} IMAD: {line.value:%Y%m%d}QMGFT{_digits(line.id + 'imad', 6)} "
            f"TRN: {_digits(line.id + 'trn', 10)}FF"
        )
    name = strip_accents(text.name).upper()[:ACH_COMPANY_NAME]
    out = (
        f"ORIG CO NAME:{name} ORIG ID:{_digits(text.name, 10)} DESC DATE:{line.value:%y%m%d} "
        f"CO ENTRY DESCR:{(text.ach_descr or 'PAYMENT')[:10]} SEC:{text.sec or 'CCD'} "
        f"TRACE#:{_digits(line.id + 'trace', 15)} EED:{line.booking:%y%m%d} "
        f"IND ID:{text.ach_ind_id[:ACH_IND_ID]} IND NAME:{strip_accents(our_name).upper()[:22]}"
    )
    if text.rmr:
        segments = "".join(
            f"RMR*IV*{number}*PI*{paid}" + (f"*{total}*{discount}" if discount else "") + "\\"
            for number, paid, total, discount in text.rmr
        )
        limit = ACH_ADDENDA if text.sec == "CCD" else 4 * ACH_ADDENDA  # the export shows the first records
        out += f" PMT INFO:{segments[:limit]}"
    elif text.purpose:
        out += f" PMT INFO:{text.purpose[:ACH_ADDENDA]}"
    return out + f" TRN: {_digits(line.id + 'trn', 10)}TC"


def _uk_text(line: _Line) -> str:
    text = line.text
    if text.plain or not text.name:
        return text.purpose
    name = strip_accents(text.name).upper()[:UK_FIELD].rstrip()
    reference = strip_accents(text.purpose).upper()[:UK_FIELD].rstrip()
    if line.amount < 0:
        return f"FASTER PAYMENT TO {name} REF.{reference}"
    if text.wire:
        return f"BANK GIRO CREDIT REF {reference}, {name}"
    return f"FASTER PAYMENTS RECEIPT REF.{reference} FROM {name}"


def _csv_file(account: OwnAccount, lines: list[_Line], opening: Decimal, our_name: str,
              balances: list[StatementBalance]) -> bytes:  # fmt: skip
    us = account.statement_format == "csv-us"
    buffer = io.StringIO()
    buffer.write("Date,Description,Amount,Balance\n")
    for day, day_lines, open_balance, close_balance in _statement_blocks(lines, opening):
        balance = open_balance
        for line in day_lines:
            balance += line.amount
            line.raw = _us_text(line, our_name) if us else _uk_text(line)
            shown = line.raw.replace('"', "'")
            buffer.write(f"{day:%m/%d/%Y}" if us else f"{day:%d/%m/%Y}")
            buffer.write(f',"{shown}",{line.amount:.2f},{balance:.2f}\n')
        balances += [StatementBalance(account.identifier, "OPBD", open_balance, account.currency, day),
                     StatementBalance(account.identifier, "CLBD", close_balance, account.currency, day)]  # fmt: skip
    return buffer.getvalue().encode("utf-8")


_PARSE_AS = {
    "mt940-dk": ("mt940", None), "mt940-abn": ("mt940", None), "camt053": ("camt053", None),
    "csv-us": ("csv", CsvOptions(currency="USD", date_format="%m/%d/%Y", decimal=".")),
    "csv-uk": ("csv", CsvOptions(currency="GBP", date_format="%d/%m/%Y", decimal=".")),
}  # fmt: skip
_EXTENSION = {"mt940-dk": "sta", "mt940-abn": "sta", "camt053": "xml", "csv-us": "csv", "csv-uk": "csv"}


def _transaction(line: _Line, parsed: ParsedTransaction) -> TransactionInput:
    return TransactionInput(
        id=line.id,
        amount=parsed.amount,
        currency=parsed.currency,
        booking_date=parsed.booking_date,
        value_date=parsed.value_date,
        description=parsed.description,
        counterparty_name=parsed.counterparty_name,
        counterparty_account=parsed.counterparty_account,
        external_id=parsed.external_id,
        end_to_end_id=parsed.end_to_end_id,
        structured_reference=parsed.structured_reference,
    )


def generate(n: int = 2000, seed: int = 0, profile: str | Mapping[str, float] = "realistic") -> RealisticBook:
    """About ``n`` open invoices and the statements of the tenant's five accounts, labelled."""
    mix = PROFILES[profile] if isinstance(profile, str) else profile
    builder = _Builder(n, seed, mix)
    builder.run()
    statements: dict[str, bytes] = {}
    balances: list[StatementBalance] = []
    transactions: dict[str, TransactionInput] = {}
    for key, account in builder.accounts.items():
        lines = sorted(
            (line for line in builder.lines if line.account == key), key=lambda line: (line.booking, line.id)
        )
        opening = Decimal(builder.r.randrange(5_000_00, 250_000_00)).scaleb(-2)
        if not lines:  # a small one-kind book may leave an account without movements
            continue
        if account.statement_format.startswith("mt940"):
            content = _mt940_file(account, lines, opening, builder.dk_keeps_umlauts, balances)
        elif account.statement_format == "camt053":
            content = _camt_file(account, lines, opening, balances)
        else:
            content = _csv_file(account, lines, opening, builder.our_name, balances)
        name = f"{key}-{account.statement_format}.{_EXTENSION[account.statement_format]}"
        statements[name] = content
        statement_format, options = _PARSE_AS[account.statement_format]
        parsed = list(iter_statement(io.BytesIO(content), format=statement_format, csv_options=options))
        if [p.amount for p in parsed] != [line.amount for line in lines]:
            raise RuntimeError(f"{name}: the parser read other amounts than were written")  # a generator bug
        for line, row in zip(lines, parsed, strict=True):
            transactions[line.id] = _transaction(line, row)
    labels = {
        line.id: Label(
            transaction_id=line.id,
            kind=line.kind,
            family=line.family,
            outcome=line.outcome,
            allocations=line.allocations,
            alternatives=line.alternatives,
            difference=line.difference,
            difference_amount=line.difference_amount,
            raw_text=line.raw,
            facts=dict(line.facts),
        )
        for line in builder.lines
    }
    return RealisticBook(
        seed=seed,
        size=n,
        profile=profile if isinstance(profile, str) else "custom",
        invoices=builder.invoices,
        transactions=[transactions[line.id] for line in builder.lines],
        labels=labels,
        terms=builder.terms,
        advices=builder.advices,
        alias_facts=builder.alias_facts,
        balances=balances,
        own_accounts=list(builder.accounts.values()),
        statements=statements,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Generate a realistic labelled book and show what it holds.")
    parser.add_argument("n", type=positive_int, nargs="?", default=2000, help="invoices (default 2000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", choices=sorted(PROFILES), default="realistic")
    parser.add_argument("--show", metavar="KIND", help="print a few transactions of this kind (or 'all')")
    parser.add_argument(
        "--write-files", metavar="DIR", type=Path, help="write the statement files and advices"
    )
    args = parser.parse_args(argv)
    book = generate(args.n, args.seed, args.profile)
    print(
        f"seed {book.seed}, profile {book.profile}: {len(book.invoices)} invoices, {len(book.transactions)} "
        f"transactions, {len(book.truth_pairs)} true pairs, {len(book.terms)} payment terms, "
        f"{len(book.advices)} advices, {len(book.alias_facts)} alias facts, {len(book.balances)} balances"
    )
    counts: dict[tuple[str, str], int] = {}
    for label in book.labels.values():
        counts[(label.kind, label.family)] = counts.get((label.kind, label.family), 0) + 1
    families = sorted({family for _, family in counts})
    print(f"{'kind':20s}" + "".join(f"{family:>11s}" for family in families) + f"{'all':>7s}")
    for kind in KINDS:
        row = [counts.get((kind, family), 0) for family in families]
        if sum(row):
            print(f"{kind:20s}" + "".join(f"{c:11d}" for c in row) + f"{sum(row):7d}")
    if args.show:
        by_id = {t.id: t for t in book.transactions}
        shown: dict[str, int] = {}
        for label in book.labels.values():
            if args.show not in ("all", label.kind) or shown.get(label.family + label.kind, 0) >= 2:
                continue
            shown[label.family + label.kind] = shown.get(label.family + label.kind, 0) + 1
            tx = by_id[label.transaction_id]
            print(
                f"\n{label.transaction_id} {label.kind} ({label.family}) {tx.amount} {tx.currency}: {label.facts}"
            )
            print(f"  bank text : {label.raw_text}")
            print(f"  engine    : name={tx.counterparty_name!r} account={tx.counterparty_account!r} "
                  f"e2e={tx.end_to_end_id!r} sref={tx.structured_reference!r}\n              text={tx.description!r}")  # fmt: skip
    if args.write_files:
        args.write_files.mkdir(parents=True, exist_ok=True)
        for name, content in book.statements.items():
            (args.write_files / name).write_bytes(content)
        for advice in book.advices:
            suffix = {"camt054": "xml", "csv": "csv", "api": "json"}[advice.channel]
            (args.write_files / f"advice-{advice.id}.{suffix}").write_text(advice.render(), encoding="utf-8")
        print(
            f"wrote {len(book.statements)} statements and {len(book.advices)} advices to {args.write_files}"
        )


if __name__ == "__main__":
    main()
