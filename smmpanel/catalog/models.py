from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models

from smmpanel.catalog.types import ServiceType
from smmpanel.ledger.money import charge_for, convert, price_validators
from smmpanel.saving import SavesChangedFields


class Provider(SavesChangedFields):
    """An upstream panel (or the operator, or the simulator) that fulfils orders."""

    class Kind(models.TextChoices):
        API_V2 = "api_v2", "API v2 panel"
        MANUAL = "manual", "Manual (the operator fulfils)"
        SIMULATED = "simulated", "Simulated (demo and tests only)"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.API_V2)
    url = models.URLField(max_length=500, blank=True)
    # The upstream's key must be sent as is, so it cannot be hashed like ours.
    api_key = models.CharField(max_length=200, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    enabled = models.BooleanField(default=True)
    honours_idempotency = models.BooleanField(
        default=False,
        help_text="The provider returns the first order for a repeated Idempotency-Key "
        "(another smmpanel does): orders whose send is in doubt are settled automatically.",
    )
    requests_per_second = models.FloatField(
        default=5, help_text="At most this many calls a second, all workers together."
    )
    timeout_seconds = models.FloatField(default=30, help_text="Total time allowed for one call.")
    # What one unit of the provider's currency is worth in the panel's (SMMPANEL_CURRENCY), as the
    # operator last set it, and when: costs are converted with it on import, sync and each order.
    exchange_rate = models.DecimalField(
        max_digits=20,
        decimal_places=8,
        default=Decimal(1),
        validators=[MinValueValidator(Decimal("0.00000001"))],
        help_text="What one unit of the provider's currency is worth in the panel's currency.",
    )
    exchange_rate_set_at = models.DateTimeField(null=True, blank=True)
    last_balance = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    last_balance_at = models.DateTimeField(null=True, blank=True)
    # The last balance call's error, if it failed ("" after a good one): the console shows it
    # beside the last balance that was read.
    balance_error = models.CharField(max_length=500, blank=True)
    # The pricing rule its services are imported and repriced with (catalog/pricing.py): a
    # percent or a fixed markup over cost, rounded up to a step.
    price_rule = models.CharField(
        max_length=10,
        choices=[("percent", "Percent over cost"), ("fixed", "Fixed amount over cost")],
        default="percent",
    )
    price_markup = models.DecimalField(
        max_digits=20,
        decimal_places=6,
        default=Decimal(40),
        validators=[MinValueValidator(Decimal(0))],
        help_text="Percent, or an amount in the panel's currency, added to each cost per 1000.",
    )
    price_step = models.DecimalField(
        max_digits=20,
        decimal_places=6,
        default=Decimal("0.01"),
        validators=[MinValueValidator(Decimal("0.000001"))],
        help_text="Prices are rounded up to a multiple of this.",
    )
    # When its service list was last read (by the worker or from the console), and whether that
    # read found changes not yet decided (providers.models.ListingChange).
    listing_read_at = models.DateTimeField(null=True, blank=True)
    listing_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name

    @property
    def counts_in_panel_currency(self) -> bool:
        return self.currency.strip().upper() == settings.SMMPANEL_CURRENCY.strip().upper()

    def in_panel_currency(self, amount: Decimal) -> Decimal:
        """An amount in the provider's currency, in the panel's, at the rate the operator set."""
        return amount if self.counts_in_panel_currency else convert(amount, self.exchange_rate)

    def exchange_rate_is_stale(self, now: datetime) -> bool:
        """A foreign currency whose rate was never set, or set longer ago than the setting allows."""
        if self.counts_in_panel_currency:
            return False
        max_age = timedelta(days=settings.SMMPANEL_EXCHANGE_RATE_MAX_AGE_DAYS)
        return self.exchange_rate_set_at is None or now - self.exchange_rate_set_at > max_age


class ProviderService(SavesChangedFields):
    """A service as the provider lists it in its own `services` answer."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="services")
    external_id = models.CharField(max_length=50)
    name = models.CharField(max_length=500)
    type = models.CharField(max_length=40, choices=ServiceType.choices)
    category = models.CharField(max_length=500, blank=True)
    rate = models.DecimalField(
        max_digits=20, decimal_places=6, validators=price_validators(), help_text="Cost per 1000."
    )
    min = models.PositiveBigIntegerField()
    max = models.PositiveBigIntegerField()
    dripfeed = models.BooleanField(default=False)
    refill = models.BooleanField(default=False)
    cancel = models.BooleanField(default=False)
    raw = models.JSONField(default=dict, blank=True)
    available = models.BooleanField(default=True, help_text="Off when the provider no longer lists it.")
    seen_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "external_id"], name="provider_service_unique")
        ]

    def __str__(self) -> str:
        return f"{self.provider} #{self.external_id} {self.name}"

    def cost_of(self, units: int, *, package: bool = False) -> Decimal:
        """What the provider's list says `units` cost, in the provider's currency."""
        return charge_for(self.rate, units, package=package)


class Category(SavesChangedFields):
    name = models.CharField(max_length=500, unique=True)
    sort_order = models.IntegerField(default=0)
    enabled = models.BooleanField(default=True, help_text="Off: hidden from customers, with its services.")

    class Meta:
        ordering = ["sort_order", "id"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Service(SavesChangedFields):
    """A service the panel sells, at its own price."""

    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="services")
    name = models.CharField(max_length=500)
    type = models.CharField(max_length=40, choices=ServiceType.choices, default=ServiceType.DEFAULT)
    rate = models.DecimalField(
        max_digits=20,
        decimal_places=6,
        validators=price_validators(),
        help_text="Price per 1000 units; for package types, the price of one package.",
    )
    min = models.PositiveBigIntegerField(default=1)
    max = models.PositiveBigIntegerField(default=1000)
    dripfeed = models.BooleanField(default=False)
    refill = models.BooleanField(default=False)
    cancel = models.BooleanField(default=False)
    refill_days = models.PositiveIntegerField(
        default=30, help_text="How long after completion a refill may be asked for."
    )
    description = models.TextField(blank=True)
    # The name and description in each site language other than the default ({"es": "..."}); the
    # API and a language without its own show `name` and `description`.
    names = models.JSONField(default=dict, blank=True)
    descriptions = models.JSONField(default=dict, blank=True)
    average_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="The average delivery time shown to customers, in minutes."
    )
    enabled = models.BooleanField(default=True)
    sort_order = models.IntegerField(default=0)
    stuck_after_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="An order without progress for longer is listed as stuck in the console; "
        "empty: the panel's default (SMMPANEL_STUCK_AFTER_MINUTES).",
    )

    class OnRefusal(models.TextChoices):
        CANCEL = "cancel", "Cancel the order and refund it"
        RETRY = "retry", "Retry later"
        HOLD = "hold", "Hold it for the operator"

    on_refusal = models.CharField(
        max_length=10,
        choices=OnRefusal.choices,
        default=OnRefusal.CANCEL,
        help_text="What to do when the provider refuses an order.",
    )
    provider = models.ForeignKey(
        Provider, on_delete=models.PROTECT, null=True, blank=True, related_name="sold_services"
    )
    provider_service = models.ForeignKey(
        ProviderService, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Another provider's service the order goes to when the first provider refuses it or is
    # disabled (each order is sent at most once to each).
    fallback_service = models.ForeignKey(
        ProviderService, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["category__sort_order", "category_id", "sort_order", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(min__lte=models.F("max")), name="service_min_le_max"),
            models.CheckConstraint(condition=models.Q(rate__gte=0), name="service_rate_not_negative"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.name}"

    def name_in(self, language: str) -> str:
        """The name customers reading `language` see."""
        return str(self.names.get(language) or "") or self.name

    def description_in(self, language: str) -> str:
        return str(self.descriptions.get(language) or "") or self.description


class CustomRate(SavesChangedFields):
    """A customer's own price for one service, overriding the service's rate."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="custom_rates")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="custom_rates")
    rate = models.DecimalField(max_digits=20, decimal_places=6, validators=price_validators())

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "service"], name="custom_rate_unique"),
            models.CheckConstraint(condition=models.Q(rate__gte=0), name="custom_rate_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.user} pays {self.rate} for {self.service}"


class CustomerDiscount(SavesChangedFields):
    """A percent off every service's price for one customer (a custom rate, where set, wins)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="discount"
    )
    percent = models.DecimalField(max_digits=5, decimal_places=2)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(percent__gt=0, percent__lt=100), name="customer_discount_in_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.percent} % off"


class ServiceUpdate(models.Model):
    """One change customers are told about on the Updates page (/updates/): a new service, a
    price change, a service disabled or enabled again. Append-only; written by catalog/updates.py
    in the transaction of the change, whoever made it (the console, a sync, the loss guard)."""

    class Kind(models.TextChoices):
        NEW = "new", "New service"
        PRICE = "price", "Price changed"
        DISABLED = "disabled", "Disabled"
        ENABLED = "enabled", "Enabled again"

    class Source(models.TextChoices):
        CONSOLE = "console", "The console"
        SYNC = "sync", "A provider sync"
        IMPORT = "import", "An import"
        LOSS_GUARD = "loss_guard", "The loss guard"
        COMMAND = "command", "A shell command"

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="updates")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    old_rate = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    new_rate = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    source = models.CharField(max_length=12, choices=Source.choices)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.service_id} {self.kind} at {self.created_at}"
