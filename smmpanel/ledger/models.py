from typing import Any

from django.conf import settings
from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from smmpanel.ledger.money import MAX_AMOUNT


class Account(models.Model):
    """A customer's balance, in a row of its own.

    A projection of their ledger entries, changed only by ledger.services with a
    conditional UPDATE in the same transaction as the entry that explains it. It
    lives apart from the user row so that nothing that saves a user (a settings
    form, Django's password views, the admin, a stale instance) can ever write
    it; and it refuses to be saved at all. A customer has one from their first
    ledger entry on; before that their balance is 0.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="account"
    )
    balance = models.DecimalField(max_digits=20, decimal_places=6, default=0)
    # An unsettled dispute: charges are refused (ledger.services.OnHold) until an operator settles
    # it. A charge-back is the only entry that may take the balance below zero.
    on_hold = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(balance__gte=-MAX_AMOUNT, balance__lte=MAX_AMOUNT),
                name="account_balance_in_range",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.balance}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        raise ValueError("a balance changes only through smmpanel.ledger.services.post")


class LedgerEntry(models.Model):
    """One change of one customer's balance. Append-only: the truth about money."""

    class Kind(models.TextChoices):
        DEPOSIT = "deposit", "Deposit"
        CHARGE = "charge", "Charge"
        REFUND = "refund", "Refund"
        ADJUSTMENT = "adjustment", "Adjustment"
        BONUS = "bonus", "Bonus"  # a gateway's deposit bonus (payments/)
        FEE = "fee", "Fee"  # a gateway's deposit fee (payments/)
        DEPOSIT_REFUND = "deposit_refund", "Deposit refund"  # money sent back through the gateway
        CHARGEBACK = "chargeback", "Charge-back"  # a dispute: may take the balance below zero

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="ledger")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # Signed: positive adds to the balance, negative takes from it.
    amount = models.DecimalField(max_digits=20, decimal_places=6)
    balance_after = models.DecimalField(max_digits=20, decimal_places=6)
    order = models.ForeignKey(
        "orders.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="ledger"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who caused the entry; empty for the customer's own orders and the engine.",
    )
    memo = models.CharField(max_length=500, blank=True)
    # Unique: the same charge, refund or deposit can never be written twice.
    reference = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "ledger entries"
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["user", "id"], name="ledger_user_id"),
            # The console's money by day (ledger/totals.py): read from the index alone on PostgreSQL.
            models.Index(fields=["created_at"], include=["kind", "amount"], name="ledger_created"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} ({self.reference})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("ledger entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError("ledger entries are append-only")


# The kinds in the reader's language, for the website (the choices' labels are the stored English):
# one entry's, and a filter's that shows the entries of one kind.
KIND_LABELS: dict[str, Promise] = {
    LedgerEntry.Kind.DEPOSIT: _("Deposit"),
    LedgerEntry.Kind.CHARGE: _("Charge"),
    LedgerEntry.Kind.REFUND: _("Refund"),
    LedgerEntry.Kind.ADJUSTMENT: _("Adjustment"),
    LedgerEntry.Kind.BONUS: _("Bonus"),
    LedgerEntry.Kind.FEE: _("Fee"),
    LedgerEntry.Kind.DEPOSIT_REFUND: _("Deposit refund"),
    LedgerEntry.Kind.CHARGEBACK: _("Charge-back"),
}
KIND_FILTER_LABELS: dict[str, Promise] = {
    LedgerEntry.Kind.DEPOSIT: _("Deposits"),
    LedgerEntry.Kind.CHARGE: _("Charges"),
    LedgerEntry.Kind.REFUND: _("Refunds"),
    LedgerEntry.Kind.ADJUSTMENT: _("Adjustments"),
    LedgerEntry.Kind.BONUS: _("Bonuses"),
    LedgerEntry.Kind.FEE: _("Fees"),
    LedgerEntry.Kind.DEPOSIT_REFUND: _("Deposit refunds"),
    LedgerEntry.Kind.CHARGEBACK: _("Charge-backs"),
}
