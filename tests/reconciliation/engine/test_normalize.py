"""Reference, account and name normalisation (RF references: tests/common/finance/test_references.py)."""

from __future__ import annotations

import pytest

from reconciliation.engine.normalize import (
    invoice_keys,
    normalize_account,
    normalize_name,
    text_refs,
)


def matches(number: str, text: str) -> bool:
    keys, numeric = invoice_keys(number)
    windows = text_refs(text).windows
    return any(k in windows for k in keys) or (numeric is not None and numeric in windows)


@pytest.mark.parametrize(
    "text",
    ["INV-000123", "inv 123", "INV123", "Invoice: inv-123, thanks", "INV/000123", "inv.000123"],
)
def test_invoice_number_forms_match(text: str) -> None:
    assert matches("INV-000123", text)


@pytest.mark.parametrize(
    "text",
    ["11234", "INV-0001234", "INV-000123-2", "XINV123", "INV1234", "123"],
)
def test_token_boundaries_prevent_substring_hits(text: str) -> None:
    assert not matches("INV-000123", text)


def test_short_bare_numbers_do_not_match_random_digits() -> None:
    # "123" has fewer than four significant characters: only its prefixed form counts.
    assert invoice_keys("123") == ((), None)
    assert not matches("123", "order 123")
    assert matches("12345", "order 12345")


def test_digits_without_prefix_need_four_significant_digits() -> None:
    assert invoice_keys("INV-012345")[1] == ("12345",)
    assert invoice_keys("INV-000123")[1] is None
    assert matches("INV-012345", "paid 12345")


def test_separator_stripped_and_zero_padded_forms() -> None:
    assert matches("INV-2024-0001", "INV20240001")
    assert matches("INV-2024-0001", "inv 2024 1")
    assert matches("0000364", "Rechnung 0000364")  # too short without its zeros...
    assert not matches("0000364", "Rechnung 364")  # ...so only the padded form counts


def test_accounts_and_names() -> None:
    assert normalize_account("de89 3704-0044 0532 0130 00") == "DE89370400440532013000"
    assert normalize_account("12") == ""
    assert normalize_name("Müller & Söhne GmbH") == "muller sohne"
    assert normalize_name("ACME, Inc.") == "acme"
    assert normalize_name("Dupont S.A.R.L.") == "dupont"
    assert normalize_name("Foo B.V.") == "foo"
