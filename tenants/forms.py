"""Form fields shared by the back office's forms (admin pages and the workbench)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from common.finance import AmountError, exact_decimal


class ExactDecimalFormField(forms.DecimalField):
    """Django's DecimalField that reads the text by the financial kernel's rule first.

    Django parses with ``Decimal(text)``, which takes ``1e2`` for 100, ``15000e-2`` for 150.00
    and ``1_000`` for 1000: a value nobody typed. Here such text is refused on the form (the
    rule of every amount: ``common.finance.exact_decimal``); then Django's own digits, places
    and bounds apply. Every DecimalField of an admin form is this field
    (``BackOfficeAdminMixin.formfield_overrides``), and so are the workbench's amount filters.
    """

    default_error_messages = {"inexact": "Not an exact decimal number: %(reason)s."}

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
        if value in self.empty_values:
            return None
        try:
            exact = exact_decimal(value)
        except AmountError as error:
            raise ValidationError(
                self.error_messages["inexact"], code="inexact", params={"reason": str(error)}
            ) from None
        return super().to_python(exact)
