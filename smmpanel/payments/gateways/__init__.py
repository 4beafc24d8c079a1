"""The registry of gateways, and each one's settings as they apply now.

A gateway is usable when it is enabled (in the console, or by its keys in the environment) and
every key it needs is set. The environment wins over the console for keys and base URL, so a
deployment managed as code can set them: SMMPANEL_<GATEWAY>_<KEY> and SMMPANEL_<GATEWAY>_URL.
"""

import os

from smmpanel.ledger.money import to_money
from smmpanel.payments.gateways.base import Config, Gateway, Rule
from smmpanel.payments.models import GatewaySetting

GATEWAYS: dict[str, Gateway] = {}


def register(gateway: Gateway) -> Gateway:
    if not gateway.name or gateway.name in GATEWAYS:
        raise ValueError(f"gateway name missing or taken: {gateway.name!r}")
    GATEWAYS[gateway.name] = gateway
    return gateway


def _environment(gateway: Gateway) -> dict[str, str]:
    return {c.name: os.environ.get(c.env, "").strip() for c in gateway.credentials if os.environ.get(c.env)}


def config_for(name: str) -> Config | None:
    """The gateway's settings now (None for a name the panel does not know)."""
    if name not in GATEWAYS:
        return None
    return _config(GATEWAYS[name], GatewaySetting.objects.filter(gateway=name).first())


def _config(gateway: Gateway, row: GatewaySetting | None) -> Config:
    name = gateway.name
    stored = {k: str(v) for k, v in (row.credentials if row else {}).items()}
    environment = _environment(gateway)
    url = os.environ.get(f"SMMPANEL_{name.upper()}_URL", "").strip()
    return Config(
        gateway=name,
        enabled=bool(environment) or (row.enabled if row else gateway.on_by_default),
        credentials={**stored, **environment},
        base_url=(url or (row.base_url if row else "") or gateway.default_url).rstrip("/"),
        from_environment=bool(environment),
        min_amount=to_money(row.min_amount) if row and row.min_amount is not None else None,
        max_amount=to_money(row.max_amount) if row and row.max_amount is not None else None,
        rule=Rule(row.fee_percent, row.fee_fixed, row.bonus_percent, row.bonus_from) if row else Rule(),
        names=dict(row.names) if row else {},
        instructions=dict(row.instructions) if row else {},
    )


def usable(name: str) -> tuple[Gateway, Config] | None:
    """The gateway and its settings when customers may pay through it now, else None."""
    config = config_for(name)
    if config is None or not config.enabled:
        return None
    gateway = GATEWAYS[name]
    return (gateway, config) if gateway.ready(config) else None


def all_usable() -> list[tuple[Gateway, Config]]:
    """Every gateway customers may pay through now, in the registry's order."""
    rows = {row.gateway: row for row in GatewaySetting.objects.all()}
    found = []
    for name, gateway in GATEWAYS.items():
        config = _config(gateway, rows.get(name))
        if config.enabled and gateway.ready(config):
            found.append((gateway, config))
    return found


# Each gateway module registers itself (cryptomus: Cryptomus and Heleket).
from smmpanel.payments.gateways import (  # noqa: E402
    bank,
    cryptomus,
    nowpayments,
    stripe_checkout,
)

__all__ = [
    "GATEWAYS",
    "all_usable",
    "bank",
    "config_for",
    "cryptomus",
    "nowpayments",
    "register",
    "stripe_checkout",
    "usable",
]
