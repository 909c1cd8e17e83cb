"""ISO 11649 RF references: the one finder of the statement parsers, the API import and the
engine (issue 16). Django-free, like the kernel."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import iso11649
from stdnum.iso7064 import mod_97_10

from common.finance import (
    compact_reference,
    find_rf_reference,
    find_rf_references,
    fold_upper,
    is_valid_rf,
)

from .strategies import PROPERTY_SETTINGS

# The two bank lines the issue quotes: the statement parsers found the reference, the engine
# found nothing in the first and called the second "RF18539" with an invalid checksum.
ISSUE_EXAMPLES = ["Payment RF18 53900754 7034", "Ref RF18 539 007547034"]


def make_rf(body: str) -> str:
    """A valid reference for ``body``, computed by python-stdnum (not by the code under test)."""
    return "RF" + mod_97_10.calc_check_digits(body + "RF") + body


@pytest.mark.parametrize("text", ISSUE_EXAMPLES)
def test_the_issues_examples_give_the_whole_reference(text: str) -> None:
    assert find_rf_references(text) == [("RF18539007547034", True)]
    assert find_rf_reference(text) == "RF18539007547034"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the statement parsers' cases
        ("Rechnung RF18 5390 0754 7034 danke", "RF18539007547034"),
        ("ref rf18539007547034.", "RF18539007547034"),
        ("Invoice RF38INV2024042", "RF38INV2024042"),
        ("RF38 INV2 0240 42 second line", "RF38INV2024042"),
        ("RF19 5390 0754 7034", ""),  # wrong check digits
        ("no reference here", ""),
        ("", ""),
        ("PERFECT 12", ""),
        # the engine's cases
        ("PAYMENT RF18 5390 0754 7034 THANKS", "RF18539007547034"),
        ("RF18539007547034,", "RF18539007547034"),
        # hyphens group like spaces; other punctuation ends a reference
        ("RF18-5390-0754-7034", "RF18539007547034"),
        ("RF18 5390/0754 7034", ""),
        ("(RF18539007547034)", "RF18539007547034"),
        # not inside a word
        ("XRF18539007547034", ""),
        # accents folded as the engine folds them
        ("Zahlung für RF18 5390 0754 7034", "RF18539007547034"),
        ("MüllerRF18 5390 0754 7034", ""),
    ],
)
def test_find_rf_reference(text: str, expected: str) -> None:
    assert find_rf_reference(text) == expected


def test_invalid_references_are_reported_for_the_engine_but_never_stored() -> None:
    assert find_rf_references("RF18 5390 0754 7035") == [("RF18539007547035", False)]
    assert find_rf_reference("RF18 5390 0754 7035") == ""
    # a bare "RF" + check digits says nothing: not even an invalid reference
    assert find_rf_references("RF18, and more") == []


def test_every_reference_of_a_text_in_order() -> None:
    text = "RF18 5390 0754 7034 and RF38INV2024042 and RF99 1234"
    assert find_rf_references(text) == [
        ("RF18539007547034", True),
        ("RF38INV2024042", True),
        ("RF991234", False),
    ]


def test_the_print_form_wins_over_a_longer_irregular_join() -> None:
    reference = make_rf("539007547034")  # RF18...: 16 characters, printed in groups of four
    printed = iso11649.format(reference)
    # A trailing word (not a group of four) that makes a longer *valid* join: the print form
    # must still win.
    for number in range(100_000):
        word = f"X{number:05d}"
        if is_valid_rf(reference + word):
            break
    assert find_rf_reference(f"{printed} {word}") == reference


def test_the_longest_valid_print_form_join_wins() -> None:
    short = make_rf("1234")
    # a 4-character group after it that keeps the join valid
    for number in range(10_000):
        group = f"{number:04d}"
        if len(short) % 4 == 0 and is_valid_rf(short + group):
            break
    else:
        pytest.skip("no such group")
    assert find_rf_reference(f"{iso11649.format(short)} {group}") == short + group


def test_a_reference_never_grows_beyond_25_characters() -> None:
    reference = make_rf("1" * 21)  # 25 characters, the longest there is
    assert find_rf_reference(f"{iso11649.format(reference)} 1234") == reference
    assert all(len(ref) <= 25 for ref, _ in find_rf_references("RF00" + "1" * 40))


def test_long_texts_are_read_once() -> None:
    """Each start reads at most 25 characters ahead: a text of starts stays linear."""
    text = "RF12 " * 20_000
    found = find_rf_references(text)
    assert len(found) == 19_999  # the last one is a bare "RF12"


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("RF18539007547034", True),
        ("rf18 5390 0754 7034", True),
        ("RF18539007547035", False),
        ("RF1", False),
        ("RF18", False),  # no body
        ("RF00" + "1" * 22, False),  # 26 characters
        # python-stdnum's iso11649 accepts these two; ISO 11649 does not
        ("RFAM539007547034", False),  # letters as check digits
        ("RF18" + "٥٣٩٠٠٧٥٤٧٠٣٤", False),  # Arabic-Indic digits
        ("RF18-5390-0754-7034", False),  # a value, not text: only spaces are separators
    ],
)
def test_is_valid_rf(value: str, valid: bool) -> None:
    assert is_valid_rf(value) is valid


def test_stdnum_accepts_what_the_kernel_refuses() -> None:
    """Why the structure is checked here: stdnum.iso11649 alone would let these through."""
    assert iso11649.is_valid("RFAM539007547034")
    assert iso11649.is_valid("RF18" + "٥٣٩٠٠٧٥٤٧٠٣٤")


def test_compact_reference() -> None:
    assert compact_reference(" rf18 5390\t0754 7034 ") == "RF18539007547034"
    assert compact_reference("") == ""
    assert compact_reference(None) == ""


_BODY = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=21)


@settings(**PROPERTY_SETTINGS)
@given(body=_BODY, data=st.data())
def test_any_reference_is_found_however_it_is_grouped(body: str, data: st.DataObject) -> None:
    """Compact, printed in fours, or cut after its check digits with spaces or hyphens: found
    whole, or (1 time in 97 per join) as a shorter print-form join that is valid too."""
    reference = make_rf(body)
    assert is_valid_rf(reference)
    cuts = sorted(data.draw(st.sets(st.integers(4, len(reference) - 1), max_size=5)))
    pieces = [reference[a:b] for a, b in zip([0, *cuts], [*cuts, len(reference)], strict=True)]
    separator = data.draw(st.sampled_from([" ", "  ", "-", " - ", "\n"]))
    for written in (reference, iso11649.format(reference), separator.join(pieces)):
        found = find_rf_references(f"Payment {written.lower()}. Thanks")
        assert len(found) == 1
        first, valid = found[0]
        assert valid
        assert first == reference or (reference.startswith(first) and is_valid_rf(first))


@settings(**PROPERTY_SETTINGS)
@given(text=st.text(max_size=200))
def test_folded_and_raw_text_read_alike(text: str) -> None:
    """The engine reads folded upper case, the importers raw text: same references."""
    assert find_rf_references(text) == find_rf_references(fold_upper(text))
