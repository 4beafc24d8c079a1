from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "smmpanel.payments"
    verbose_name = "Payments"
