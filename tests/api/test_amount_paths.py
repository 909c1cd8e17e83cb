"""Every API amount path ends in the kernel's rule (issue 13.2): REST import items, invoice
amounts, settings decimals, the GraphQL Decimal scalar and the JSON decoder read an exactly
written amount digit for digit and refuse a letter, exponent, second sign or second separator."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework import serializers

from api.graphql.scalars import parse_decimal
from api.parsers import loads_decimal
from api.serializers import ExactDecimalField
from banking.services import _parse_api_amount
from common.finance import API_AMOUNT, parse_money
from invoices.apis import AmountInputField
from tests.common.finance.strategies import DEFECTS, PROPERTY_SETTINGS, defective_amounts, written_amounts


def _drf(field: serializers.Field) -> Callable[[object], Decimal]:
    def run(value: object) -> Decimal:
        try:
            return field.run_validation(value)
        except serializers.ValidationError as error:
            raise ValueError(str(error.detail)) from None

    return run


PATHS: dict[str, Callable[[object], Decimal]] = {
    "common.finance.parse_money": lambda value: parse_money(value, "CLF"),  # 4 decimals allowed
    "banking import item": _parse_api_amount,
    "graphql Decimal": parse_decimal,
    "invoice AmountInputField": _drf(AmountInputField()),
    "settings ExactDecimalField": _drf(ExactDecimalField(max_digits=18, decimal_places=4)),
}


@pytest.mark.parametrize("path", PATHS)
@settings(**PROPERTY_SETTINGS)
@given(data=st.data())
def test_exact_strings_are_read_as_written(path: str, data: st.DataObject) -> None:
    text, expected = data.draw(written_amounts(API_AMOUNT))
    value = PATHS[path](text)
    assert value == expected
    if path != "settings ExactDecimalField":  # DRF's DecimalField quantizes to its places
        assert value.as_tuple() == expected.as_tuple()


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("defect", DEFECTS)
@settings(**PROPERTY_SETTINGS)
@given(data=st.data())
def test_defective_strings_are_refused(path: str, defect: str, data: st.DataObject) -> None:
    text = data.draw(defective_amounts(API_AMOUNT, defect))
    with pytest.raises(ValueError):  # noqa: PT011 - every path's own message
        PATHS[path](text)


@pytest.mark.parametrize("path", PATHS)
@settings(**PROPERTY_SETTINGS)
@given(data=st.data())
def test_json_numbers_are_read_as_written(path: str, data: st.DataObject) -> None:
    text, expected = data.draw(written_amounts(API_AMOUNT).filter(lambda item: _json_number(item[0])))
    value = PATHS[path](loads_decimal(f"[{text.strip()}]")[0])
    assert value == expected


@pytest.mark.parametrize(
    "value", [True, 1.5, Decimal("1E+2"), Decimal("NaN"), Decimal("1E+1000000"), 10**14, "1e3", " "]
)
@pytest.mark.parametrize("path", PATHS)
def test_inexact_values_are_refused(path: str, value: object) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        PATHS[path](value)


def _json_number(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True
