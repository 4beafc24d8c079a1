"""One date format per language across the site: never "Dec. 2, 2026, 4:52 a.m." next to "12/02/2026"."""

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from conftest import Catalogue, Customer
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from smmpanel.accounts.models import ApiKey
from smmpanel.catalog.offers import offer
from smmpanel.ledger.models import LedgerEntry
from smmpanel.orders import drafting, placement, transitions
from smmpanel.orders.models import Order, OrderEvent
from smmpanel.payments import services as payments
from smmpanel.payments.models import Payment

WHEN = datetime(2026, 12, 2, 16, 52, tzinfo=UTC)
# Anything that reads as a date, in any of the forms Django's locales write.
A_DATE = re.compile(
    r"[A-Z][a-z]{2}\.? \d{1,2}, \d{4}(?:, \d{1,2}(?::\d{2})? ?[ap]\.m\.|, \d{1,2}:\d{2})?"
    r"|\d{1,2}/\d{1,2}/\d{4}(?: \d{1,2}:\d{2}(?: [ap]\.m\.)?)?"
    r"|\d{1,2} de \w+ de \d{4}(?: a las \d{1,2}:\d{2})?"
)
SHOWN = {"en": "Dec 2, 2026, 16:52", "es": "02/12/2026 16:52"}


@pytest.fixture
def history(alice: Customer, catalogue: Catalogue) -> Order:
    """An order, a payment and a key, all at WHEN."""
    terms = offer(alice.user.pk, catalogue.default.pk)
    assert terms is not None
    draft = drafting.draft(terms, {"link": "https://x.com/p/1", "quantity": "100"})
    order = Order.objects.get(pk=placement.place(alice.user.pk, draft, source=Order.Source.WEB))
    now = timezone.now()
    assert transitions.claim(order.pk, now) and transitions.sent(order.pk, "up-1", None, now)
    payments.confirm(payments.request_bank_transfer(alice.user, Decimal("20")).pk, None)
    Order.objects.update(created_at=WHEN, updated_at=WHEN)
    OrderEvent.objects.update(created_at=WHEN)
    Payment.objects.update(created_at=WHEN, decided_at=WHEN)
    LedgerEntry.objects.update(created_at=WHEN)
    ApiKey.objects.update(created_at=WHEN)
    return order


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_page_writes_dates_one_way(
    client: Client, alice: Customer, history: Order, language: str
) -> None:
    client.force_login(alice.user)
    pages = [
        reverse("orders"),
        reverse("order_detail", args=[history.pk]),
        reverse("funds"),
        reverse("payment", args=[Payment.objects.get().pk]),
        reverse("transactions"),
        reverse("api_page"),
    ]
    for url in pages:
        text = client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()
        found = [match.group(0) for match in A_DATE.finditer(text)]
        assert found, f"{url} shows no date"
        assert set(found) == {SHOWN[language]}, url
