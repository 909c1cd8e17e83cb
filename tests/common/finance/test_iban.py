"""IBANs and account ids: one normaliser for the importers, one validator for vendors (issue 16).
Django-free, like the kernel."""

from __future__ import annotations

import pytest
from stdnum import iban as stdnum_iban

from common.finance import (
    IbanError,
    compact_account,
    compact_iban,
    iban_problem,
    looks_like_iban,
    validate_iban,
)


def with_check_digits(country: str, bban: str) -> str:
    """``country`` + the ISO 7064 check digits that make ``bban`` pass mod 97 (stdnum's)."""
    return country + stdnum_iban.calc_check_digits(country + "00" + bban) + bban


@pytest.mark.parametrize(
    ("raw", "compact"),
    [
        ("DE89 3704 0044 0532 0130 00", "DE89370400440532013000"),
        ("gb82west12345698765432", "GB82WEST12345698765432"),
        ("NO93 8601 1117 947", "NO9386011117947"),  # the shortest IBANs (15)
        ("BE68 5390 0754 7034", "BE68539007547034"),  # stdnum's bank-code list is not asked
        ("MT84MALT011000012345MTLCAST001S", "MT84MALT011000012345MTLCAST001S"),
    ],
)
def test_valid_ibans(raw: str, compact: str) -> None:
    assert iban_problem(raw) is None
    assert validate_iban(raw) == compact


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("DE88370400440532013000", "check digits do not match"),
        ("GB82WEST1234569876543Z", "check digits do not match"),
        ("DE89", "country code, 2 check digits and 11 to 30"),
        ("DE89-3704-0044-0532-0130-00", "country code, 2 check digits and 11 to 30"),
        ("", "cannot be empty"),
        # Check digits that hold, but a German IBAN has 22 characters, not 23: the vendor
        # service's own mod-97 check accepted it.
        (with_check_digits("DE", "3704004405320130001"), "length and format of a DE IBAN"),
        # A country without IBANs (the United States), check digits that hold.
        (with_check_digits("US", "12345678901234"), "not a country that uses IBANs"),
        # The BBAN format: Germany's is 18 digits.
        (with_check_digits("DE", "37040044053201300A"), "length and format of a DE IBAN"),
    ],
)
def test_invalid_ibans_say_why(raw: str, problem: str) -> None:
    found = iban_problem(raw)
    assert found is not None and problem in found
    with pytest.raises(IbanError, match=problem):
        validate_iban(raw)


def test_the_old_vendor_check_accepted_what_is_refused_now() -> None:
    """The copy in invoices/services.py checked only the shape and mod 97."""
    import re

    wrong_length = with_check_digits("DE", "3704004405320130001")
    rearranged = wrong_length[4:] + wrong_length[:4]
    old_shape = re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}", wrong_length)
    old_checksum = int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1
    assert old_shape and old_checksum
    assert iban_problem(wrong_length) is not None


@pytest.mark.parametrize(
    ("value", "shaped"),
    [
        ("DE89 3704 0044 0532 0130 00", True),
        ("de89370400440532013000", True),
        ("NO9386011117947", True),  # 15: the shortest real IBAN
        ("AB12CDEFGHIJKL", False),  # 14: the statement parsers' copy took it for an IBAN
        ("12345678", False),
        ("", False),
        ("DE89-3704", False),
        ("DE89370400440532013000" + "1" * 13, False),  # 35 > 34
    ],
)
def test_looks_like_iban(value: str, shaped: bool) -> None:
    assert looks_like_iban(value) is shaped


def test_compact_account_upper_cases_ibans_only() -> None:
    assert compact_account(" de89 3704 0044 0532 0130 00 ") == "DE89370400440532013000"
    assert compact_account("12 34 56") == "123456"
    assert compact_account("acct-12ab") == "acct-12ab"  # a bank's own id is kept as written
    assert compact_account("") == ""
    assert compact_account(None) == ""
    assert compact_iban("gb82 west 1234 5698 7654 32") == "GB82WEST12345698765432"
