"""Forms of the reconciliation workbench."""

from __future__ import annotations

from django import forms

from tenants.forms import ExactDecimalFormField


class WorkbenchFilterForm(forms.Form):
    """Narrow the workbench: dates, amounts (absolute, in any currency), confidence, text."""

    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    min_amount = ExactDecimalFormField(
        required=False, min_value=0, decimal_places=4, max_digits=18, label="Amount from"
    )
    max_amount = ExactDecimalFormField(
        required=False, min_value=0, decimal_places=4, max_digits=18, label="Amount to"
    )
    min_confidence = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=100,
        label="Confidence ≥ %",
        help_text="Only transactions with a proposal at least this confident.",
    )
    q = forms.CharField(
        required=False,
        max_length=200,
        label="Search",
        widget=forms.TextInput(attrs={"placeholder": "Counterparty, text, invoice number…"}),
    )

    def clean(self) -> dict:
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            self.add_error("date_to", "The end date is before the start date.")
        if (
            data.get("min_amount") is not None
            and data.get("max_amount") is not None
            and data["max_amount"] < data["min_amount"]
        ):
            self.add_error("max_amount", "The upper amount is below the lower amount.")
        return data
