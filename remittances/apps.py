from django.apps import AppConfig


class RemittancesConfig(AppConfig):
    name = "remittances"
    verbose_name = "Remittance advices"
