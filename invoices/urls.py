"""Relative to ``/v1/tenants/<uuid:tenant_id>/`` (see config/urls.py)."""

from django.urls import path

from . import apis

urlpatterns = [
    path("invoices", apis.InvoiceListCreateApi.as_view(), name="invoice-list"),
    path("invoices/<uuid:invoice_id>", apis.InvoiceDetailApi.as_view(), name="invoice-detail"),
    path("vendors", apis.VendorListCreateApi.as_view(), name="vendor-list"),
    path("vendors/<uuid:vendor_id>", apis.VendorDetailApi.as_view(), name="vendor-detail"),
    path(
        "vendors/<uuid:vendor_id>/learned-evidence",
        apis.VendorLearnedEvidenceListApi.as_view(),
        name="vendor-learned-evidence-list",
    ),
    path(
        "vendors/<uuid:vendor_id>/learned-evidence/<uuid:evidence_id>",
        apis.VendorLearnedEvidenceDetailApi.as_view(),
        name="vendor-learned-evidence-detail",
    ),
]
