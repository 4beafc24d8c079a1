from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "smmpanel.console"
    label = "console"
    verbose_name = "Operator console"
