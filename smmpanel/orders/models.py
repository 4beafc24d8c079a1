from django.conf import settings
from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from smmpanel.catalog.models import Provider, Service
from smmpanel.saving import SavesChangedFields


class Order(SavesChangedFields):
    """What a customer asked for, what it cost, and where it stands upstream."""

    class Kind(models.TextChoices):
        SINGLE = "single", "Order"
        DRIPFEED = "dripfeed", "Drip-feed (parent)"
        RUN = "run", "Drip-feed run"
        SUBSCRIPTION = "subscription", "Subscription (parent)"
        POST = "post", "Subscription post"

    class Status(models.TextChoices):
        """The customer-visible status; labels are the API's exact strings."""

        PENDING = "pending", "Pending"
        IN_PROGRESS = "in_progress", "In progress"
        PROCESSING = "processing", "Processing"
        COMPLETED = "completed", "Completed"
        PARTIAL = "partial", "Partial"
        CANCELED = "canceled", "Canceled"
        # Subscriptions only.
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        EXPIRED = "expired", "Expired"

    # The one definition of where an order stands; every status is in exactly one of
    # UNFINISHED and FINAL. RUNNING: an order a provider works on (a subscription's
    # Active and Paused are unfinished too, but are followed by their posts, not synced).
    RUNNING = (Status.PENDING, Status.IN_PROGRESS, Status.PROCESSING)
    UNFINISHED = (*RUNNING, Status.ACTIVE, Status.PAUSED)
    FINAL = (Status.COMPLETED, Status.PARTIAL, Status.CANCELED, Status.EXPIRED)

    class ProviderState(models.TextChoices):
        QUEUED = "queued", "Queued (not sent yet)"
        SENDING = "sending", "Sending (add request in flight)"
        SENT = "sent", "Sent (provider gave an id)"
        UNKNOWN = "unknown", "Unknown (needs reconciliation)"
        FAILED = "failed", "Failed (provider refused)"

    class Source(models.TextChoices):
        API = "api", "API"
        WEB = "web", "Website"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="orders")
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.SINGLE)
    link = models.TextField(blank=True)
    # Units of one order; for a drip-feed parent, the quantity of each run.
    quantity = models.PositiveBigIntegerField()
    runs = models.PositiveIntegerField(null=True, blank=True)
    interval_minutes = models.PositiveIntegerField(null=True, blank=True)
    # Type-specific parameters, in the form a provider adapter forwards them.
    params = models.JSONField(default=dict, blank=True)
    charge = models.DecimalField(max_digits=20, decimal_places=6)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.API)
    api_key = models.ForeignKey(
        "accounts.ApiKey", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)

    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, null=True, blank=True)
    provider_state = models.CharField(
        max_length=20, choices=ProviderState.choices, default=ProviderState.QUEUED
    )
    provider_order_id = models.CharField(max_length=100, blank=True)
    provider_error = models.TextField(blank=True)
    cost = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    # Set when the customer asks to cancel; the refund waits for the order to end.
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    cancel_forwarded_at = models.DateTimeField(
        null=True, blank=True, help_text="When the provider was asked."
    )
    # Engine bookkeeping.
    # db_default: the hot path inserts orders with plain SQL and leaves these out.
    attempts = models.PositiveIntegerField(db_default=0, help_text="Times the add request was sent.")
    claimed_at = models.DateTimeField(null=True, blank=True, help_text="When sending began.")
    unchanged_checks = models.PositiveIntegerField(db_default=0, help_text="Status checks without progress.")
    start_count = models.BigIntegerField(default=0)
    remains = models.BigIntegerField(default=0)

    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    next_check_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["user", "-id"], name="order_user_recent"),
            # What the engine looks for: orders to send, and orders to follow.
            models.Index(fields=["id"], condition=models.Q(provider_state="queued"), name="order_to_send"),
            models.Index(
                fields=["next_check_at"],
                condition=models.Q(
                    provider_state="sent", status__in=["pending", "in_progress", "processing"]
                ),
                name="order_to_check",
            ),
            # The dashboard's days and its orders by status (orders/figures.py): read from the index
            # alone on PostgreSQL, a tenth of the table's size.
            models.Index(
                fields=["created_at"], include=["parent_id", "cost", "status"], name="order_created"
            ),
            # What waits for a person (orders/queues.py; the console's dashboard counts them each
            # time it is shown): small sets, each found without reading every order.
            models.Index(fields=["id"], condition=models.Q(provider_state="unknown"), name="order_in_doubt"),
            models.Index(
                fields=["id"],
                condition=models.Q(provider_state="failed")
                & ~models.Q(status__in=["completed", "partial", "canceled", "expired"]),
                name="order_refused_open",
            ),
            models.Index(
                fields=["id"],
                condition=models.Q(cancel_requested_at__isnull=False)
                & ~models.Q(status__in=["completed", "partial", "canceled", "expired"]),
                name="order_cancel_asked_open",
            ),
            # The console's search by the provider's order id (orders/listing.py). Its search in links
            # has a trigram index on PostgreSQL (migration 0005), which Django's Meta cannot state.
            models.Index(fields=["provider_order_id"], name="order_provider_order_id"),
            # The one-active-order-per-link rule looks here; links are too long to index.
            models.Index(
                fields=["user", "service"],
                condition=models.Q(status__in=["pending", "in_progress", "processing", "active", "paused"]),
                name="order_user_service_active",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(charge__gte=0), name="order_charge_not_negative"),
        ]

    def __str__(self) -> str:
        return f"Order #{self.pk}"

    @property
    def upstream(self) -> Provider | None:
        """The provider that has (or is getting) this order: fixed when it was claimed for sending."""
        return self.provider if self.provider_id is not None else self.service.provider


# The statuses in the reader's language, for the website: the choices' labels above are the
# API's English strings, by contract, and never translated.
STATUS_LABELS: dict[str, Promise] = {
    Order.Status.PENDING: _("Pending"),
    Order.Status.IN_PROGRESS: _("In progress"),
    Order.Status.PROCESSING: _("Processing"),
    Order.Status.COMPLETED: _("Completed"),
    Order.Status.PARTIAL: _("Partial"),
    Order.Status.CANCELED: _("Canceled"),
    Order.Status.ACTIVE: _("Active"),
    Order.Status.PAUSED: _("Paused"),
    Order.Status.EXPIRED: _("Expired"),
}


class OrderEvent(models.Model):
    """One step in an order's history: created, sent, status changed, refunded ...

    Written only by `orders.events`; the labels are what the customer reads in the history.
    """

    class Kind(models.TextChoices):
        CREATED = "created", _("Order placed")
        SENT = "sent", _("Delivery started")
        NOT_SENT = "not_sent", _("Waiting to start")
        IN_DOUBT = "in_doubt", _("Being checked")
        RECONCILED_NOT_SENT = "reconciled_not_sent", _("Checked")
        REFUSED = "refused", _("Not accepted by the supplier")
        CANCELED_BEFORE_SENDING = "canceled_before_sending", _("Canceled before delivery started")
        PROGRESS = "progress", _("Progress")
        FINISHED = "finished", _("Finished")
        REFILL_REQUESTED = "refill_requested", _("Refill requested")
        REFILL_FORWARDED = "refill_forwarded", _("Refill passed on")
        REFILL_REFUSED = "refill_refused", _("Refill not accepted by the supplier")
        REFILL_ENDED = "refill_ended", _("Refill finished")
        CANCEL_REQUESTED = "cancel_requested", _("Cancel requested")
        CANCEL_FORWARDED = "cancel_forwarded", _("Cancel passed on")
        RUN_RELEASED = "run_released", _("Run started")
        CANCELED_UNRELEASED_RUNS = "canceled_unreleased_runs", _("Remaining runs canceled")
        PAUSED = "paused", _("Paused: not enough funds")
        RESUMED = "resumed", _("Resumed")
        TRUED_UP = "trued_up", _("Quantity confirmed by the supplier")
        # The operator's actions (orders.operator); each names its actor. The labels are still
        # the customer's words: events.OPERATOR_ONLY lists those the customer does not see.
        OPERATOR_RESENT = "operator_resent", _("Queued to start again")
        PROVIDER_CHANGED = "provider_changed", _("Supplier changed")
        LINK_EDITED = "link_edited", _("Link corrected")
        START_COUNT_SET = "start_count_set", _("Start count corrected")
        REMAINS_SET = "remains_set", _("Progress corrected")
        MARKED_COMPLETED = "marked_completed", _("Marked completed")
        MARKED_PARTIAL = "marked_partial", _("Marked partially delivered")
        CANCELED_BY_OPERATOR = "canceled_by_operator", _("Canceled by the panel")
        RESOLVED_SENT = "resolved_sent", _("Confirmed received by the supplier")
        RESOLVED_REQUEUED = "resolved_requeued", _("Confirmed not received: queued to start again")
        RESOLVED_CANCELED = "resolved_canceled", _("Confirmed not received: canceled")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=40, choices=Kind.choices)
    data = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.kind} on order #{self.order_id}"


class Refill(SavesChangedFields):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"
        REJECTED = "rejected", "Rejected"
        CANCELED = "canceled", "Canceled"

    OPEN = (Status.PENDING, Status.IN_PROGRESS)
    FINAL = (Status.COMPLETED, Status.REJECTED, Status.CANCELED)

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refills")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="refills")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    provider_refill_id = models.CharField(max_length=100, blank=True)
    provider_error = models.TextField(blank=True)
    next_check_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Refill #{self.pk} of order #{self.order_id}"


class IdempotencyKey(SavesChangedFields):
    """An `Idempotency-Key` a customer sent with `add`: a retry gets the first order back."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key_hash = models.CharField(max_length=64)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, null=True, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key_hash"], name="idempotency_key_unique")]

    def __str__(self) -> str:
        return f"idempotency key of order #{self.order_id}"
