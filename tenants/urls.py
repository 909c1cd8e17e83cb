from django.urls import path

from . import apis

urlpatterns = [
    path("tenants", apis.TenantListCreateApi.as_view(), name="tenant-list"),
    path("tenants/<uuid:tenant_id>", apis.TenantDetailApi.as_view(), name="tenant-detail"),
    path("tenants/<uuid:tenant_id>/settings", apis.TenantSettingsApi.as_view(), name="tenant-settings"),
    path("tenants/<uuid:tenant_id>/members", apis.MemberListCreateApi.as_view(), name="member-list"),
    path(
        "tenants/<uuid:tenant_id>/members/<int:user_id>",
        apis.MemberDeleteApi.as_view(),
        name="member-delete",
    ),
]
