from django.urls import path

from . import apis

urlpatterns = [
    path("remittance-advices", apis.AdviceCreateApi.as_view(), name="remittance-advice-list"),
    path(
        "remittance-advices/import-file", apis.AdviceImportFileApi.as_view(), name="remittance-advice-import"
    ),
    path(
        "remittance-advices/<uuid:advice_id>", apis.AdviceDetailApi.as_view(), name="remittance-advice-detail"
    ),
]
