"""Bounds on what clients and files may send: every text field's maximum length, in one place.

Each constant is the single home of a field's bound: the model field (and so the database
column or a CHECK constraint), the REST serializers, the services that validate GraphQL, admin,
command and statement-file input, and the GraphQL cost estimate all read it from here. Lengths
are in characters (PostgreSQL ``char_length``), as Django's ``max_length`` counts them.

Why these numbers:

* ``DESCRIPTION`` (invoices and bank transactions), 2,000: the longest text a bank statement
  carries for one transaction is ISO 20022's remittance information, several 140-character
  ``Ustrd`` lines plus ``AddtlTxInf`` and ``AddtlNtryInf`` (500 each), which the CAMT parser
  joins; MT940's ``:86:`` holds at most 6 x 65. The real samples in ``shared/samples`` stay
  below 250. An invoice memo is shorter still. 2,000 keeps any real text and bounds a list page
  (500 rows) at a few megabytes.
* ``NAME``, 200: vendor, counterparty and tenant names and vendor aliases. ISO 20022 names are
  at most 140 characters (``Max140Text``); 200 leaves room for names typed by people.
* ``INVOICE_NUMBER`` 64, ``INVOICE_REFERENCE`` 35 (ISO 20022 ``CdtrRefInf/Ref`` is Max35Text;
  an ISO 11649 RF reference has at most 25), ``TRANSACTION_REFERENCE`` 128 and
  ``STRUCTURED_REFERENCE`` 64 (bank references: ``AcctSvcrRef``/``EndToEndId`` are Max35Text,
  OFX ``FITID`` up to 255 in theory but short in practice), ``ACCOUNT`` 64 (IBAN is at most 34;
  other account ids are shorter), ``RETURN_REASON`` 16 (ISO return codes have 4).
* ``FILE_NAME`` 255: an uploaded statement's name, as most file systems bound it. Django cuts
  longer upload names to 255 itself; ``api.uploads`` keeps the name as sent so the import
  can refuse it (400 naming ``file``) rather than store an altered one.
* ``SEARCH`` 200: a search term longer than any name it could match is no search.
* ``ALIASES_PER_VENDOR`` 20: the other names a vendor appears under on statements; a handful
  in practice. With 50 (the API's earlier bound) one vendor could hold 10,000 characters of
  aliases, and a page of 500 vendors 30 MB; with 20 a full page fits the GraphQL cost limit.
* ``LEARNED_EVIDENCE_PER_VENDOR`` 50: payer names and accounts the team taught the engine for
  one customer (confirmed matches). Past it, confirming still works and learns nothing more for
  that customer (a person removes stale ones). ``LEARNED_TEACHERS`` 20: the confirmed matches
  remembered as having taught one of them; evidence goes when every remembered teacher is undone.
* ``WEBHOOK_URL`` 2,000: a webhook endpoint's URL (the de-facto limit of browsers and proxies;
  real ones are far shorter). ``WEBHOOK_ERROR`` 500 and ``WEBHOOK_RESPONSE_EXCERPT`` 1,000: what
  a delivery attempt keeps of a failure and of the receiver's answer (enough to debug, bounded
  whatever the receiver sends). ``WEBHOOK_ENDPOINTS_PER_TENANT`` 20: every event is written once
  per subscribed endpoint, so the number bounds the work an event costs.

Existing columns kept their historic bounds (a migration narrowing a column could refuse rows
already stored); the two free texts that had none, both descriptions, got a CHECK constraint
whose migration refuses, naming the table, when older rows are longer (see
``tenants.migration_operations.AddTextBound``).
"""

from __future__ import annotations

DESCRIPTION = 2_000
NAME = 200
INVOICE_NUMBER = 64
INVOICE_REFERENCE = 35
TRANSACTION_REFERENCE = 128
STRUCTURED_REFERENCE = 64
ACCOUNT = 64
RETURN_REASON = 16
STATEMENT_SEQUENCE = 35  # a statement's sequence number as written (ISO 20022 Number, MT940 5n/5n)
FILE_NAME = 255
SEARCH = 200
ALIASES_PER_VENDOR = 20
LEARNED_EVIDENCE_PER_VENDOR = 50
LEARNED_TEACHERS = 20
WEBHOOK_URL = 2_000
WEBHOOK_ERROR = 500
WEBHOOK_RESPONSE_EXCERPT = 1_000
WEBHOOK_ENDPOINTS_PER_TENANT = 20


def too_long_message(limit: int) -> str:
    """The message every interface uses for a text over its bound (DRF's wording)."""
    return f"Ensure this field has no more than {limit} characters."


NUL_MESSAGE = "Null characters are not allowed."  # DRF's wording; PostgreSQL text cannot hold NUL


def text_problem(value: str, limit: int) -> str | None:
    """Why ``value`` cannot be stored in a text field bounded by ``limit`` (None when it can)."""
    if len(value) > limit:
        return too_long_message(limit)
    if "\x00" in value:
        return NUL_MESSAGE
    return None
