"""Remittance advices in the back office: upload (idempotent, all or nothing), list, detail, roles."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from common import limits
from remittances.models import RemittanceAdvice
from tenants.context import tenant_context
from tests.invoices.factories import make_invoice

pytestmark = pytest.mark.django_db

CSV = (
    "advice;payer;invoice;amount;discount;currency\n"
    "RA-1001;Contoso;INV-A-1;100.00;0;USD\n"
    "RA-1001;Contoso;INV-A-2;50.00;1.50;USD\n"
)
URL = "/admin/remittances/remittanceadvice/"


def _upload(client, content: bytes, key: str, name: str = "advice.csv"):
    return client.post(
        f"{URL}add/", {"file": SimpleUploadedFile(name, content), "idempotency_key": key}, follow=True
    )


def test_upload_list_and_detail(login, staff_a, staff_b):
    invoice = make_invoice(staff_a.tenant, amount="100.00", number="INV-A-1")
    client = login(staff_a.accountant)
    assert "Upload a remittance advice file" in client.get(f"{URL}add/").content.decode()
    page = _upload(client, CSV.encode(), "key-1").content.decode()
    assert "Advice file imported. advice.csv (csv): 1 advice(s) read, 1 imported, 0 already there." in page
    assert "RA-1001" in page and "INV-A-2" in page and "1.50 USD" in page  # the detail page with its lines
    assert f"/admin/invoices/invoice/{invoice.pk}/change/" in page
    assert "already processed" in _upload(client, CSV.encode(), "key-1").content.decode()
    assert "0 imported, 1 already there" in _upload(client, CSV.encode(), "key-2").content.decode()
    listing = client.get(URL).content.decode()
    assert "RA-1001" in listing and "Upload advice file" in listing
    with tenant_context(staff_a.tenant.id):
        assert RemittanceAdvice.objects.count() == 1
        advice = RemittanceAdvice.objects.get()
        assert advice.channel == "admin" and advice.created_by_id == staff_a.accountant.pk
    with tenant_context(staff_b.tenant.id):
        assert RemittanceAdvice.objects.count() == 0
    other = login(staff_b.accountant).get(f"{URL}{advice.pk}/change/", follow=True)
    assert "RA-1001" not in other.content.decode()


def test_a_rejected_file_imports_nothing_and_says_why(login, staff_a):
    client = login(staff_a.accountant)
    page = _upload(client, CSV.replace("50.00", "50.005").encode(), "key-bad").content.decode()
    assert "Nothing was imported from advice.csv" in page
    assert 'id="upload-rejected"' in page and "invoice 2 (INV-A-2): 50.005 has more decimals" in page
    handle = io.BytesIO(CSV.encode())
    handle.name = "m" * 300 + ".csv"
    page = client.post(
        f"{URL}add/", {"file": handle, "idempotency_key": "key-long"}, follow=True
    ).content.decode()
    assert f"no more than {limits.FILE_NAME} characters" in page
    with tenant_context(staff_a.tenant.id):
        assert RemittanceAdvice.objects.count() == 0


def test_viewers_may_read_but_not_upload(login, staff_a):
    client = login(staff_a.viewer)
    assert client.get(URL).status_code == 200
    assert client.get(f"{URL}add/").status_code == 403
