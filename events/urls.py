from django.urls import path

from . import apis

urlpatterns = [
    path("webhooks", apis.WebhookListCreateApi.as_view(), name="webhook-list"),
    path("webhooks/<uuid:webhook_id>", apis.WebhookDetailApi.as_view(), name="webhook-detail"),
    path(
        "webhooks/<uuid:webhook_id>/rotate-secret",
        apis.WebhookRotateSecretApi.as_view(),
        name="webhook-rotate-secret",
    ),
    path("events", apis.EventListApi.as_view(), name="event-list"),
    path("events/<uuid:event_id>", apis.EventDetailApi.as_view(), name="event-detail"),
    path("events/<uuid:event_id>/resend", apis.EventResendApi.as_view(), name="event-resend"),
]
