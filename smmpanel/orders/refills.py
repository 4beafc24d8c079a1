"""A refill with its provider: forwarded, refused, then followed until it ends.

The engine asks the provider (outside any transaction) and hands the answer
here; each change checks the refill's current state and leaves an event in its
order's history.
"""

from collections.abc import Mapping
from datetime import datetime, timedelta

from django.db import transaction

from smmpanel.orders import events
from smmpanel.orders.models import Refill

R = Refill.Status
RETRY = timedelta(minutes=5)
CHECK_EVERY = timedelta(minutes=10)


def _locked_new(refill_id: int) -> Refill | None:
    """The refill, locked, if it still waits to be forwarded."""
    return (
        Refill.objects.select_for_update()
        .filter(pk=refill_id, status=R.PENDING, provider_refill_id="")
        .first()
    )


def forwarded(refill_id: int, provider_refill_id: str, now: datetime) -> bool:
    """The provider took the refill, under its own id: followed from now on."""
    with transaction.atomic():
        refill = _locked_new(refill_id)
        if refill is None:
            return False
        refill.provider_refill_id, refill.provider_error = provider_refill_id, ""
        refill.next_check_at = now + CHECK_EVERY
        refill.save(update_fields=["provider_refill_id", "provider_error", "next_check_at", "updated_at"])
        events.record(refill.order_id, events.Kind.REFILL_FORWARDED, now, refill=refill.pk)
    return True


def refused(refill_id: int, reason: str, now: datetime) -> bool:
    """The provider said no: the refill is rejected, with its reason."""
    with transaction.atomic():
        refill = _locked_new(refill_id)
        if refill is None:
            return False
        refill.status, refill.provider_error = R.REJECTED, reason[:2000]
        refill.save(update_fields=["status", "provider_error", "updated_at"])
        events.record(refill.order_id, events.Kind.REFILL_REFUSED, now, refill=refill.pk, reason=reason[:500])
    return True


def not_forwarded(refill_id: int, reason: str, now: datetime) -> bool:
    """The provider could not be reached: the refill is sent again later."""
    updated = Refill.objects.filter(pk=refill_id, status=R.PENDING, provider_refill_id="").update(
        provider_error=reason[:2000], next_check_at=now + RETRY, updated_at=now
    )
    return updated == 1


def checked(answers: Mapping[int, str | None], now: datetime) -> int:
    """Record a status check of forwarded refills ({refill id: its status, None if not told}).

    A refill still open is asked again later; one that ended leaves an event. Returns how
    many refills were checked.
    """
    checked = 0
    with transaction.atomic():
        for refill in Refill.objects.select_for_update().filter(pk__in=list(answers), status__in=Refill.OPEN):
            status = answers[refill.pk] or refill.status
            ended = status not in Refill.OPEN
            refill.status = status
            refill.next_check_at = None if ended else now + CHECK_EVERY
            refill.save(update_fields=["status", "next_check_at", "updated_at"])
            if ended:
                events.record(refill.order_id, events.Kind.REFILL_ENDED, now, refill=refill.pk, status=status)
            checked += 1
    return checked
