"""A provider's balance, read and stored: on demand (`provider balance`, the console's "Test the
connection") and by the worker for each enabled API provider every
SMMPANEL_BALANCE_CHECK_MINUTES (0: never).

A read that works stores `last_balance` and `last_balance_at` and clears `balance_error`; one that
fails keeps the last balance and its time and stores the error. The worker knows a provider was
tried lately from its call records (every balance call is one), so a provider that keeps failing
is asked once per period, not once per round."""

import contextlib
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from smmpanel.catalog.models import Provider
from smmpanel.providers.connection import Balance, CheckFailed, balance_from
from smmpanel.providers.models import UpstreamCall
from smmpanel.providers.pacing import Pacer
from smmpanel.providers.records import client_for

ERROR_LENGTH = 500  # Provider.balance_error's max_length
PER_ROUND = 20  # providers read in one worker round at most; the next round takes the rest


def ask(provider: Provider) -> Balance:
    """Ask the provider for its balance (the call is recorded); raises CheckFailed. A network
    call: never inside a transaction."""
    with client_for(provider) as client:
        return balance_from(client)


def store(provider: Provider, outcome: Balance | CheckFailed, now: datetime) -> None:
    """Keep what a balance call gave: the balance and its time, or the error beside the last one."""
    if isinstance(outcome, CheckFailed):
        provider.balance_error = str(outcome)[:ERROR_LENGTH]
        Provider.objects.filter(pk=provider.pk).update(balance_error=provider.balance_error)
        return
    provider.last_balance, provider.last_balance_at, provider.balance_error = outcome.amount, now, ""
    Provider.objects.filter(pk=provider.pk).update(
        last_balance=outcome.amount, last_balance_at=now, balance_error=""
    )


def read(provider: Provider, now: datetime | None = None) -> Balance:
    """Ask and store; raises CheckFailed once its error is stored. Call it outside any transaction."""
    now = now or timezone.now()
    try:
        balance = ask(provider)
    except CheckFailed as failure:
        store(provider, failure, now)
        raise
    store(provider, balance, now)
    return balance


def due(now: datetime) -> list[Provider]:
    """Enabled API providers whose balance is older than the period (or never read) and that were
    not asked for it within the period either; the longest unread first."""
    minutes = settings.SMMPANEL_BALANCE_CHECK_MINUTES
    if minutes <= 0:
        return []
    since = now - timedelta(minutes=minutes)
    asked = UpstreamCall.objects.filter(provider=OuterRef("pk"), action="balance", created_at__gte=since)
    found = (
        Provider.objects.filter(enabled=True, kind=Provider.Kind.API_V2)
        .exclude(url="")
        .filter(Q(last_balance_at__isnull=True) | Q(last_balance_at__lt=since))
        .filter(~Exists(asked))
        .order_by(F("last_balance_at").asc(nulls_first=True), "pk")
    )
    return list(found[:PER_ROUND])


def refresh_due(now: datetime, pacer: Pacer | None = None) -> int:
    """Read the balance of each provider due (see `due`), each call waiting for its turn under the
    provider's pacing; returns how many were asked (a failed read counts: it was asked)."""
    asked = 0
    for provider in due(now):
        if pacer is not None:
            (turn,) = pacer.turns(provider, 1)
            pacer.wait_until(turn)
        with contextlib.suppress(CheckFailed):  # stored as its balance_error; the console shows it
            read(provider, now)
        asked += 1
    return asked
