"""RowRenderer: list pages rendered from ``.values()`` rows equal what the DRF serializers give.

Every list that uses a renderer is compared field by field (values and types) and as rendered
JSON bytes with its output serializer over rows that exercise each format: null dates and
vendors, 0/2/3-decimal currencies, partial payments, signed amounts, non-ASCII text, arrays.
Cursor pagination is walked forwards and backwards through ties in ``created_at`` with both
paths, comparing the whole response (results and next/previous links) at every step.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.utils import timezone
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from api.pagination import CursorPagination, paginated_response
from api.serializers import MoneyField, RowRenderer
from banking import selectors as banking_selectors
from banking.apis import (
    BANK_TRANSACTION_ROWS,
    IMPORT_BATCH_ROWS,
    BankTransactionOutputSerializer,
    ImportBatchOutputSerializer,
)
from banking.models import ImportBatch, ImportSource
from invoices import selectors as invoice_selectors
from invoices.apis import INVOICE_ROWS, VENDOR_ROWS, InvoiceOutputSerializer, VendorOutputSerializer
from invoices.models import Invoice, InvoiceKind, InvoiceStatus, Vendor
from tenants.context import tenant_context
from tests.banking.factories import make_transaction
from tests.invoices.factories import make_invoice, make_vendor

pytestmark = pytest.mark.django_db

LISTS = {
    "invoices": (INVOICE_ROWS, InvoiceOutputSerializer, invoice_selectors.invoice_list),
    "vendors": (VENDOR_ROWS, VendorOutputSerializer, invoice_selectors.vendor_list),
    "bank-transactions": (
        BANK_TRANSACTION_ROWS,
        BankTransactionOutputSerializer,
        banking_selectors.bank_transaction_list,
    ),
    "import-batches": (IMPORT_BATCH_ROWS, ImportBatchOutputSerializer, banking_selectors.import_batch_list),
}


@pytest.fixture
def ledger(world_a, world_b):
    """Rows covering every format the list serializers produce, plus another tenant's rows."""
    tenant = world_a.tenant
    vendor = make_vendor(
        tenant, name="Müller & Söhne", iban="DE89370400440532013000", aliases=["MUELLER", "Müller GmbH"]
    )
    make_vendor(tenant, name="No aliases Ltd", account_reference="ACC-1")
    for n in range(3):
        make_vendor(tenant, name=f"Vendor {n}", aliases=[""] if n == 0 else [])
    gone = make_vendor(tenant, name="Deleted later")
    make_invoice(tenant, amount="150.5", number="INV-1", vendor=vendor, issue_date=None, due_date=None)
    make_invoice(tenant, amount="1500", currency="JPY", description='Café – naïve ✓ "quoted"\n')
    make_invoice(
        tenant,
        amount="12.345",
        currency="KWD",
        number="INV-KWD",
        kind=InvoiceKind.PAYABLE,
        structured_reference="RF18539007547034",
        vendor=gone,
    )
    make_invoice(tenant, amount="0.01", number="INV-CENT", issue_date=dt.date(2024, 2, 29), due_date=None)
    make_invoice(tenant, amount="99999999999999.99", number="INV-BIG")
    with tenant_context(tenant.id):
        Vendor.objects.filter(pk=gone.pk).delete()  # SET NULL: vendor_id and vendor_name null
        Invoice.objects.filter(number="INV-1").update(
            amount_paid=Decimal("50.25"), status=InvoiceStatus.PARTIALLY_PAID
        )
        Invoice.objects.filter(number="INV-KWD").update(amount_paid=F_amount(), status=InvoiceStatus.PAID)
        Invoice.objects.filter(number="INV-CENT").update(status=InvoiceStatus.VOID)
    make_transaction(tenant, amount="-42.10", description="Card payment", value_date=dt.date(2024, 3, 21))
    make_transaction(
        tenant,
        amount="1500",
        currency="JPY",
        counterparty_name="株式会社",
        counterparty_account="JP123",
        external_id="BANK-1",
        end_to_end_id="E2E-1",
        structured_reference="RF18539007547034",
        return_reason="AC04",
    )
    for n in range(3):
        make_transaction(tenant, amount=f"{n + 1}.5", booking_date=dt.date(2024, 1, n + 1))
    with tenant_context(tenant.id):
        ImportBatch.objects.create(
            source=ImportSource.FILE,
            file_name="statement.sta",
            file_format="mt940",
            file_sha256="ab" * 32,
            received_count=3,
            imported_count=2,
            duplicate_count=1,
            created_by=world_a.owner,
        )
    make_invoice(world_b.tenant, amount="1.00", number="B-ONLY")
    make_vendor(world_b.tenant, name="B vendor")
    make_transaction(world_b.tenant, amount="1.00")
    return tenant


def F_amount():  # noqa: N802 - reads like the expression it builds
    from django.db.models import F

    return F("amount")


def rendered_json(data) -> bytes:
    return JSONRenderer().render(data)


@pytest.mark.parametrize("name", list(LISTS))
def test_rows_render_exactly_like_the_serializer(ledger, name):
    renderer, serializer_class, selector = LISTS[name]
    with tenant_context(ledger.id):
        queryset = selector().order_by("-created_at", "-id")
        expected = serializer_class(list(queryset), many=True).data
        rows = renderer.render(renderer.values(queryset))

    assert len(rows) >= 2
    assert rows == expected
    assert [list(row) for row in rows] == [list(item) for item in expected]  # key order
    for row, item in zip(rows, expected, strict=True):
        assert {key: type(value) for key, value in row.items()} == {
            key: type(value) for key, value in item.items()
        }
    assert rendered_json(rows) == rendered_json(expected)


def test_invoice_rows_cover_the_tricky_values(ledger):
    with tenant_context(ledger.id):
        rows = {row["number"]: row for row in INVOICE_ROWS.render(INVOICE_ROWS.values(Invoice.objects.all()))}
    assert rows["INV-1"]["issue_date"] is None and rows["INV-1"]["due_date"] is None
    assert rows["INV-1"]["vendor_name"] == "Müller & Söhne"
    assert (rows["INV-1"]["amount"], rows["INV-1"]["amount_paid"], rows["INV-1"]["outstanding_amount"]) == (
        "150.50",
        "50.25",
        "100.25",
    )
    assert rows[""]["amount"] == "1500" and rows[""]["currency"] == "JPY"
    assert rows["INV-KWD"]["vendor_id"] is None and rows["INV-KWD"]["vendor_name"] is None
    assert rows["INV-KWD"]["outstanding_amount"] == "0.000" and rows["INV-KWD"]["status"] == "paid"
    assert rows["INV-CENT"]["issue_date"] == "2024-02-29" and rows["INV-CENT"]["amount"] == "0.01"
    assert rows["INV-BIG"]["amount"] == "99999999999999.99"
    assert rows["INV-1"]["created_at"].endswith("Z")


def test_date_times_follow_the_active_time_zone_like_drf(ledger):
    with timezone.override("America/St_Johns"), tenant_context(ledger.id):  # UTC-03:30 / -02:30
        queryset = invoice_selectors.invoice_list()
        expected = InvoiceOutputSerializer(list(queryset), many=True).data
        rows = INVOICE_ROWS.render(INVOICE_ROWS.values(queryset))
    assert rows == expected
    assert rows[0]["created_at"].endswith(("-03:30", "-02:30"))


def drf_request(url: str, params: dict | None = None) -> Request:
    return Request(APIRequestFactory().get(url, params or {}))


@pytest.mark.parametrize("name", ["invoices", "bank-transactions", "vendors"])
def test_cursor_pages_and_links_are_identical_in_both_directions(ledger, name):
    renderer, serializer_class, selector = LISTS[name]
    with tenant_context(ledger.id):
        model = selector().model
        # Ties in the cursor's position (created_at) make the paginator use offsets too.
        first_two = list(model.objects.order_by("created_at").values_list("id", flat=True)[:2])
        model.objects.filter(id__in=first_two).update(created_at=timezone.now() - dt.timedelta(days=1))
    view = SimpleNamespace(pagination_class=CursorPagination)
    url: str | None = f"http://testserver/v1/tenants/{ledger.id}/{name}?page_size=2"
    seen: list[str] = []
    pages = 0
    direction = "next"
    while url is not None:
        request = drf_request(url)
        with tenant_context(ledger.id):
            fast = paginated_response(view, request, selector(), renderer)
            slow = paginated_response(view, drf_request(url), selector(), serializer_class)
        assert rendered_json(fast.data) == rendered_json(slow.data), url
        assert fast.data == slow.data
        if direction == "next":
            seen += [row["id"] for row in fast.data["results"]]
        pages += 1
        url = fast.data[direction]
        if url is None and direction == "next":
            direction, url = "previous", fast.data["previous"]
    with tenant_context(ledger.id):
        assert sorted(seen) == sorted(str(pk) for pk in selector().values_list("id", flat=True))
    assert pages >= 3


def test_filters_narrow_the_rendered_rows_too(ledger):
    view = SimpleNamespace(pagination_class=CursorPagination)
    request = drf_request("http://testserver/x", {"page_size": 50})
    with tenant_context(ledger.id):
        queryset = invoice_selectors.invoice_list(statuses=[InvoiceStatus.OPEN], currency="USD")
        fast = paginated_response(view, request, queryset, INVOICE_ROWS)
    assert {row["number"] for row in fast.data["results"]} == {"INV-BIG"}


def test_a_field_type_it_cannot_reproduce_fails_when_built():
    class WithDecimal(serializers.Serializer):
        amount = serializers.DecimalField(max_digits=10, decimal_places=2)

    class WithMethod(serializers.Serializer):
        label = serializers.SerializerMethodField()

    class WithOtherFormat(serializers.Serializer):
        created_at = serializers.DateTimeField(format="%Y")

    for serializer_class in (WithDecimal, WithMethod, WithOtherFormat):
        with pytest.raises(TypeError):
            RowRenderer(serializer_class)


def test_money_fields_read_amount_and_currency_columns():
    class Priced(serializers.Serializer):
        id = serializers.UUIDField()
        price = MoneyField("amount", "code")

    renderer = RowRenderer(Priced)
    assert renderer.keys == ("id", "amount", "code")
    row_id = uuid.uuid4()
    assert renderer.render([{"id": row_id, "amount": Decimal("5.5000"), "code": "BHD"}]) == [
        {"id": str(row_id), "price": "5.500"}
    ]
