from django.apps import AppConfig


class ApiConfig(AppConfig):
    """No models: the app exists so that its OpenAPI extensions are registered at start-up."""

    name = "api"
    verbose_name = "HTTP API plumbing"

    def ready(self) -> None:
        from . import schema  # noqa: F401  (registers the OpenAPI auth scheme and serializer hooks)
