from typing import Any

from django.apps import AppConfig
from django.core import checks


class PaymentsConfig(AppConfig):
    name = "smmpanel.payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        checks.register(demo_gateway_off, checks.Tags.security, deploy=True)


def demo_gateway_off(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """`check --deploy` refuses a production environment with the demo gateway on: under
    SMMPANEL_DEMO=1 any customer can credit their own balance (payments/gateways/demo.py)."""
    from smmpanel.payments.gateways.demo import running_demo

    if running_demo():
        return [
            checks.Error(
                "SMMPANEL_DEMO is set: the demo gateway lets any customer credit their own balance.",
                hint="Unset SMMPANEL_DEMO; only `smmpanel demo` sets it, for its own processes.",
                id="smmpanel.E001",
            )
        ]
    return []
