from django.apps import AppConfig


class EngineConfig(AppConfig):
    name = "smmpanel.engine"
    label = "engine"
    verbose_name = "Fulfilment engine"
