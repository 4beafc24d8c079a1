"""Payments that wait for a person."""

from django.db.models import QuerySet

from smmpanel.payments.models import Payment


def pending_transfers() -> QuerySet[Payment]:
    """Bank transfers a customer announced that nobody has confirmed or rejected yet, oldest first."""
    return Payment.objects.filter(
        method=Payment.Method.BANK_TRANSFER, status=Payment.Status.PENDING
    ).order_by("id")
