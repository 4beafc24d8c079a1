"""Adding a provider and changing its settings, for `smmpanel provider` and the console alike.

The balance check (providers/connection.py) is the caller's, made before and outside the
transaction these functions write in; the balance it read is stored with the provider. The key is
never part of what these functions return for the audit log: only whether one is set, and that
it was replaced."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from smmpanel.catalog.models import Provider
from smmpanel.ledger.money import normalised
from smmpanel.providers.connection import Balance

RATE_PLACES = Decimal("0.00000001")
# The settings a person edits, besides the key (copied to the row as they are).
EDITED = (
    "name",
    "kind",
    "url",
    "currency",
    "requests_per_second",
    "timeout_seconds",
    "honours_idempotency",
)
KEY_SET, KEY_NOT_SET, KEY_REPLACED = "set", "not set", "replaced"


def parse_exchange_rate(text: str) -> Decimal:
    """A rate typed by the operator: a positive plain decimal of at most 8 places; ValueError
    with the reason otherwise."""
    try:
        rate = Decimal(text.strip())
    except InvalidOperation:
        rate = Decimal("NaN")
    if not rate.is_finite() or "e" in text.lower() or rate <= 0 or rate != rate.quantize(RATE_PLACES):
        raise ValueError(f"the rate wants a positive number of at most 8 decimals, like 1.08, not {text!r}")
    if rate >= 10**12:
        raise ValueError(f"the rate {text!r} is too large")
    return rate


@dataclass
class Settings:
    """A provider's settings as a person gave them (a blank key keeps the stored one)."""

    name: str
    kind: str
    url: str
    currency: str
    requests_per_second: float
    timeout_seconds: float
    honours_idempotency: bool
    exchange_rate: Decimal | None = None  # None: leave it as it is
    key: str = ""


def needs_check(settings: Settings, provider: Provider | None = None) -> bool:
    """An API provider is asked for its balance when it is added, and when its kind, URL or key
    change: a wrong address or key is then found before anything is stored."""
    if settings.kind != Provider.Kind.API_V2:
        return False
    if provider is None:
        return True
    return bool(settings.key) or settings.url != provider.url or provider.kind != settings.kind


def snapshot(provider: Provider) -> dict[str, Any]:
    """What the audit log keeps of a provider: every setting, and of the key only whether it is set."""
    values: dict[str, Any] = {name: getattr(provider, name) for name in EDITED}
    values["enabled"] = provider.enabled
    values["exchange_rate"] = normalised(provider.exchange_rate)
    values["exchange_rate_set_at"] = provider.exchange_rate_set_at
    values["api key"] = KEY_SET if provider.api_key else KEY_NOT_SET
    return values


def _apply(provider: Provider, settings: Settings, balance: Balance | None, now: datetime) -> None:
    for name in EDITED:
        setattr(provider, name, getattr(settings, name))
    if settings.key:
        provider.api_key = settings.key
    rate = settings.exchange_rate
    if rate is not None and not provider.counts_in_panel_currency and rate != provider.exchange_rate:
        provider.exchange_rate, provider.exchange_rate_set_at = rate, now
    elif rate is not None and not provider.counts_in_panel_currency and provider.exchange_rate_set_at is None:
        provider.exchange_rate_set_at = now  # the default rate, now confirmed by a person
    if balance is not None:
        provider.last_balance, provider.last_balance_at, provider.balance_error = balance.amount, now, ""


def create(settings: Settings, balance: Balance | None, now: datetime) -> Provider:
    """A new provider row with the balance its check read; call it inside a transaction."""
    provider = Provider(kind=settings.kind)
    _apply(provider, settings, balance, now)
    provider.save(force_insert=True)  # a new row: never a write over an existing one
    return provider


@dataclass(frozen=True)
class Change:
    before: dict[str, Any]
    after: dict[str, Any]

    @property
    def changed(self) -> bool:
        return bool(self.after)


def update(pk: int, settings: Settings, balance: Balance | None, now: datetime) -> Change:
    """Apply `settings` to the provider, locked, writing only what changed; the audit's before and
    after hold only the settings that changed. Call it inside a transaction."""
    provider = Provider.objects.select_for_update().get(pk=pk)
    before, old_key = snapshot(provider), provider.api_key
    _apply(provider, settings, balance, now)
    after = snapshot(provider)
    if provider.api_key != old_key:
        after["api key"] = KEY_REPLACED
    fields = provider.changed_fields()
    if fields:
        provider.save(update_fields=fields)
    changed = [k for k in after if after[k] != before[k]]
    return Change({k: before[k] for k in changed}, {k: after[k] for k in changed})


def set_rate(provider: Provider, rate: Decimal, now: datetime) -> None:
    """A new exchange rate, dated now (`provider rate`)."""
    provider.exchange_rate, provider.exchange_rate_set_at = rate, now
    provider.save(update_fields=["exchange_rate", "exchange_rate_set_at"])


def set_enabled(pk: int, enabled: bool) -> bool:
    """Switch a provider on or off; False when it already was (nothing written). Disabling only
    switches: its services' new orders are refused or go to their fallback (orders/), and orders
    already sent go on."""
    return bool(Provider.objects.filter(pk=pk).exclude(enabled=enabled).update(enabled=enabled))
