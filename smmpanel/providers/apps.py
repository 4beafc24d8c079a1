from django.apps import AppConfig


class ProvidersConfig(AppConfig):
    name = "smmpanel.providers"
    label = "providers"
    verbose_name = "Upstream providers"
