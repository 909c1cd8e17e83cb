from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from reconciliation.schema.views import graphql_view
from tenants.admin_site import site as admin_site

from .health import healthz, readyz

handler400 = "api.problems.handler400"
handler403 = "api.problems.handler403"
handler404 = "api.problems.handler404"
handler500 = "api.problems.handler500"

api_v1: list[URLPattern | URLResolver] = [
    path("schema", SpectacularAPIView.as_view(), name="schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("tenants/<uuid:tenant_id>/graphql", graphql_view, name="graphql"),
    path("", include("tenants.urls")),
    path("tenants/<uuid:tenant_id>/", include("invoices.urls")),
    path("tenants/<uuid:tenant_id>/", include("banking.urls")),
    path("tenants/<uuid:tenant_id>/", include("remittances.urls")),
    path("tenants/<uuid:tenant_id>/", include("reconciliation.urls")),
    path("tenants/<uuid:tenant_id>/", include("jobs.urls")),
    path("tenants/<uuid:tenant_id>/", include("events.urls")),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("v1/", include(api_v1)),
    path("admin/", admin_site.urls),  # tenants.admin_site: tenant switcher, RLS, roles
]
