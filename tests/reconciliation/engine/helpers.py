"""Small builders for engine tests: readable defaults, override what the test is about."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from reconciliation.engine import InvoiceInput, TransactionInput

D = Decimal


def inv(id: str = "i1", number: str = "INV-000123", amount: str = "150.00", **kw: Any) -> InvoiceInput:
    """An open receivable invoice, issued 2024-01-01 and due 2024-01-31."""
    base: dict[str, Any] = {
        "id": id,
        "number": number,
        "amount": D(amount),
        "outstanding": D(kw.pop("outstanding", amount)),
        "currency": "USD",
        "issue_date": date(2024, 1, 1),
        "due_date": date(2024, 1, 31),
        "counterparty_id": "c-acme",
        "counterparty_name": "ACME GmbH",
        "direction": "receivable",
    }
    base.update(kw)
    return InvoiceInput(**base)


def tx(id: str = "t1", amount: str = "150.00", description: str = "", **kw: Any) -> TransactionInput:
    """An incoming payment booked 2024-01-20."""
    base: dict[str, Any] = {
        "id": id,
        "amount": D(amount),
        "currency": "USD",
        "booking_date": date(2024, 1, 20),
        "description": description,
    }
    base.update(kw)
    return TransactionInput(**base)


def signal(pair, name: str):
    """The SignalScore called ``name`` of a PairScore."""
    return next(s for s in pair.signals if s.signal == name)


def codes(reasons) -> set[str]:
    """The machine codes of some reasons."""
    return {r.code for r in reasons}


def make_rf(body: str) -> str:
    """A valid ISO 11649 reference for ``body``."""
    digits = "".join(str(int(ch, 36)) for ch in body + "RF00")
    return f"RF{98 - int(digits) % 97:02d}{body}"
