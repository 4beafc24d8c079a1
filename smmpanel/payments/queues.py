"""Payments that wait for a person."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet

from smmpanel.payments.models import Payment


def pending_transfers() -> QuerySet[Payment]:
    """Bank transfers a customer announced that nobody has confirmed or rejected yet, oldest first."""
    return Payment.objects.filter(
        method=Payment.Method.BANK_TRANSFER, status=Payment.Status.PENDING
    ).order_by("id")


def late_gateway_deposits(now: datetime) -> QuerySet[Payment]:
    """Gateway deposits still pending or paid longer than SMMPANEL_DEPOSIT_POLL_SECONDS after they
    were made (the worker should have had its answer by then), oldest first."""
    before = now - timedelta(seconds=settings.SMMPANEL_DEPOSIT_POLL_SECONDS)
    return (
        Payment.objects.filter(
            status__in=(Payment.Status.PENDING, Payment.Status.PAID), created_at__lte=before
        )
        .exclude(method=Payment.Method.BANK_TRANSFER)
        .order_by("id")
    )
