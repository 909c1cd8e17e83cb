"""RF references and account clean-up (amounts: tests/common/finance/test_amounts.py)."""

from __future__ import annotations

import pytest

from banking.statements._text import (
    compact_account,
    find_rf_reference,
    normalize_reference,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Rechnung RF18 5390 0754 7034 danke", "RF18539007547034"),
        ("ref rf18539007547034.", "RF18539007547034"),
        ("Invoice RF38INV2024042", "RF38INV2024042"),
        ("RF38 INV2 0240 42 second line", "RF38INV2024042"),
        ("RF19 5390 0754 7034", ""),  # wrong check digits
        ("no reference here", ""),
        ("", ""),
        ("PERFECT 12", ""),
    ],
)
def test_find_rf_reference(text: str, expected: str) -> None:
    assert find_rf_reference(text) == expected


def test_normalize_reference_and_accounts() -> None:
    assert normalize_reference("rf18 5390 0754 7034") == "RF18539007547034"
    assert compact_account(" de89 3704 0044 0532 0130 00 ") == "DE89370400440532013000"
    assert compact_account("12 34 56") == "123456"
    assert compact_account("") == ""
