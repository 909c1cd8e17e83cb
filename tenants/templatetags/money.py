"""``{% load money %}`` ``{{ tx.amount|money:tx.currency }}``: money in templates, written by
the financial kernel's one format for people (``common.finance.format_money``)."""

from __future__ import annotations

from decimal import Decimal

from django import template

from common.finance import format_money

register = template.Library()


@register.filter(name="money")
def money_filter(amount: Decimal | int | None, currency: str) -> str:
    """``"1,234.50 EUR"``; "—" when there is no amount."""
    return "—" if amount is None else format_money(amount, currency)
