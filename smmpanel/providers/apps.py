from django.apps import AppConfig


class ProvidersConfig(AppConfig):
    name = "smmpanel.providers"
    label = "providers"
    verbose_name = "Upstream providers"

    def ready(self) -> None:
        from smmpanel.providers import apiv2  # noqa: F401  (registers the api_v2 adapter)
