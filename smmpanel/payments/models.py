"""Deposits: money a customer sends to the panel, a row per attempt with its own state, through
a gateway (smmpanel/payments/gateways/) or by bank transfer.

The balance is credited by a ledger deposit written in the same transaction as the deposit's
confirmation, under a reference unique to the gateway's transaction: "paid" is never a flag
trusted on its own, and a deposit is credited once whatever the number of webhooks and polls.
"""

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from smmpanel.saving import SavesChangedFields

# No 0/O, 1/I/L: a reference is read off a screen and typed into a bank's form.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
REFERENCE_LENGTH = 8
REFERENCE_PREFIX = "SMM-"


def new_reference() -> str:
    """A random code such as SMM-7KQ4XZ2P (31^8, about 8.5e11 codes)."""
    return REFERENCE_PREFIX + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


class Payment(SavesChangedFields):
    class Method(models.TextChoices):
        """The gateway a deposit goes through (its name in smmpanel/payments/gateways/)."""

        BANK_TRANSFER = "bank_transfer", _("Bank transfer")
        CRYPTOMUS = "cryptomus", "Cryptomus"
        HELEKET = "heleket", "Heleket"
        NOWPAYMENTS = "nowpayments", "NOWPayments"
        STRIPE = "stripe", _("Card (Stripe)")
        DEMO = "demo", _("Demo gateway")

    class Status(models.TextChoices):
        CREATED = "created", _("Created")  # written, the gateway not asked yet
        PENDING = "pending", _("Pending")  # waiting for the customer's money
        PAID = "paid", _("Paid")  # the gateway has seen money, not final yet
        CONFIRMED = "confirmed", _("Confirmed")  # credited
        REJECTED = "rejected", _("Rejected")  # an operator said the money never came
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("Expired")
        CANCELED = "canceled", _("Canceled")
        REFUNDED = "refunded", _("Refunded")
        CHARGED_BACK = "charged_back", _("Charged back")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payments")
    method = models.CharField(max_length=30, choices=Method.choices, default=Method.BANK_TRANSFER)
    # The amount asked, in SMMPANEL_CURRENCY.
    amount = models.DecimalField(max_digits=20, decimal_places=6)
    reference = models.CharField(max_length=20, unique=True, default=new_reference)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    # The gateway's own id for this deposit (invoice, payment or session): unique per gateway.
    gateway_ref = models.CharField(max_length=200, blank=True, default="")
    # Where the customer pays (the gateway's page); empty for a bank transfer.
    checkout_url = models.URLField(max_length=2000, blank=True, default="")
    currency = models.CharField(max_length=10, blank=True, default="")
    # What the gateway says was paid, in `currency` (after `rate`, when it converted).
    amount_paid = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    rate = models.DecimalField(max_digits=20, decimal_places=10, null=True, blank=True)
    # What the balance gained: the deposit entry, then the bonus and the fee as entries of their own.
    credited = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    bonus = models.DecimalField(max_digits=20, decimal_places=6, default=0)
    fee = models.DecimalField(max_digits=20, decimal_places=6, default=0)
    # The last time the panel asked the gateway about it (webhook, poll or a person's "check now").
    checked_at = models.DateTimeField(null=True, blank=True)
    # A dispute (charge-back) not yet settled by an operator blocks the customer's new orders.
    dispute_settled_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The operator who confirmed or rejected it.",
    )
    note = models.TextField(blank=True, help_text="Why it was rejected, or anything the operator adds.")

    class Meta:
        ordering = ["-id"]
        # Deciding a payment is its own right, apart from viewing or annotating it.
        permissions = [
            ("confirm_payment", "Can confirm a payment (credits the customer's balance)"),
            ("reject_payment", "Can reject a payment"),
        ]
        indexes = [
            models.Index(fields=["user", "-id"], name="payment_user_recent"),
            models.Index(fields=["status", "method", "checked_at"], name="payment_to_poll"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="payment_amount_positive"),
            models.UniqueConstraint(
                fields=["method", "gateway_ref"],
                condition=~models.Q(gateway_ref=""),
                name="payment_gateway_ref_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.amount} ({self.get_status_display()})"

    @property
    def deposit_reference(self) -> str:
        """The ledger entry's reference: unique, so a payment is credited at most once. A gateway's
        deposit is named by the gateway's own transaction id, so two rows claiming one transaction
        cannot both be credited either."""
        if self.method == self.Method.BANK_TRANSFER or not self.gateway_ref:
            return f"payment:{self.pk}:deposit"
        return f"gateway:{self.method}:{self.gateway_ref}:deposit"


class GatewaySetting(SavesChangedFields):
    """One gateway as the operator set it up in the console. Credentials are write-only there;
    the environment (SMMPANEL_<GATEWAY>_...) overrides them for deployments managed as code."""

    gateway = models.CharField(max_length=30, choices=Payment.Method.choices, unique=True)
    enabled = models.BooleanField(default=False)
    # The gateway's keys by name (merchant, key, secret ...), never shown back.
    credentials = models.JSONField(default=dict, blank=True)
    base_url = models.URLField(max_length=500, blank=True, default="")
    min_amount = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    max_amount = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    fee_percent = models.DecimalField(max_digits=9, decimal_places=4, default=0)
    fee_fixed = models.DecimalField(max_digits=20, decimal_places=6, default=0)
    bonus_percent = models.DecimalField(max_digits=9, decimal_places=4, default=0)
    bonus_from = models.DecimalField(max_digits=20, decimal_places=6, default=0)
    # The customer-facing name and instructions, by site language ({"en": "...", "es": "..."}).
    names = models.JSONField(default=dict, blank=True)
    instructions = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.gateway


class GatewayRecord(models.Model):
    """What a gateway said: each webhook delivery (verified or not), and each answer to a call the
    panel made (start, poll, refund). Kept for the operator; money never moves on a record alone."""

    class Kind(models.TextChoices):
        WEBHOOK = "webhook", _("Webhook")
        START = "start", _("Start")
        POLL = "poll", _("Check")
        REFUND = "refund", _("Refund")

    gateway = models.CharField(max_length=30)
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="records"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    at = models.DateTimeField(auto_now_add=True)
    address = models.CharField(max_length=64, blank=True, default="")
    headers = models.JSONField(default=dict, blank=True)
    body = models.TextField(blank=True, default="")
    # What the panel made of it: "credited", "forged signature", "unknown deposit" ...
    verdict = models.CharField(max_length=200, blank=True, default="")
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["gateway", "-id"], name="gateway_record_recent")]

    def __str__(self) -> str:
        return f"{self.gateway} {self.kind} {self.verdict}"


class DemoInvoice(models.Model):
    """The demo gateway's own side (payments/gateways/demo.py): what it was asked and what the
    person playing the customer chose on its page. The panel reads it only through the gateway's
    `fetch`, as it would read a real gateway's answer; it is never the deposit itself."""

    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        PAID = "paid", _("Paid")
        FAILED = "failed", _("Failed")

    ref = models.CharField(max_length=40, unique=True)  # the gateway's id (Payment.gateway_ref)
    reference = models.CharField(max_length=20)  # the panel's reference, as the order id
    amount = models.DecimalField(max_digits=20, decimal_places=6)
    currency = models.CharField(max_length=10)
    paid = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    back_url = models.URLField(max_length=2000)
    webhook_url = models.URLField(max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.ref} {self.status}"
