"""Every amount the panel accepts is stored and read back exactly, on both databases.

SQLite keeps a decimal column as a binary float: past 15 significant digits it
gives back another number, or one Decimal cannot even read. The panel's amounts
are bounded by MAX_AMOUNT (9 digits before the point, 6 after); everything that
takes an amount refuses what lies beyond, with a clear answer and no change.
"""

from decimal import ROUND_DOWN, Decimal
from typing import Any

import pytest
from conftest import Catalogue, Customer
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Model
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from staff import past_second_factor

from smmpanel.accounts.models import User
from smmpanel.catalog.models import CustomRate, Provider, ProviderService, Service
from smmpanel.ledger.models import Account, LedgerEntry
from smmpanel.ledger.money import MAX_AMOUNT, PLACES, to_money
from smmpanel.ledger.services import BalanceLimit, InsufficientFunds, mismatches, post
from smmpanel.orders.models import Order
from smmpanel.payments import services as payments
from smmpanel.payments.models import Payment
from smmpanel.providers import answers

AMOUNTS = st.decimals(min_value=-MAX_AMOUNT, max_value=MAX_AMOUNT, places=6)


def _rows(alice: Customer, catalogue: Catalogue) -> list[tuple[Model, str]]:
    """One row of each model with a money column, and the column."""
    user = alice.user
    provider = Provider.objects.create(name="Upstream", kind=Provider.Kind.SIMULATED)
    upstream = ProviderService.objects.create(
        provider=provider, external_id="1", name="Followers", rate=Decimal("1"), min=1, max=10
    )
    now = timezone.now()
    order = Order.objects.create(
        user=user,
        service=catalogue.default,
        link="https://instagram.com/alice",
        quantity=100,
        charge=Decimal("1"),
        created_at=now,
        updated_at=now,
    )
    with transaction.atomic():
        post(user.pk, Decimal("-1"), LedgerEntry.Kind.CHARGE, "test:range")
    return [
        (provider, "last_balance"),
        (upstream, "rate"),
        (catalogue.default, "rate"),
        (CustomRate.objects.create(user=user, service=catalogue.default, rate=Decimal("1")), "rate"),
        (order, "charge"),
        (order, "cost"),
        (LedgerEntry.objects.get(reference="test:range"), "amount"),
        (LedgerEntry.objects.get(reference="test:range"), "balance_after"),
        (Payment.objects.create(user=user, amount=Decimal("1")), "amount"),
        (Account.objects.get(user=user), "balance"),
    ]


def _allowed(row: Model, field: str, amount: Decimal) -> Decimal:
    # The database's own constraints: a payment is positive; prices, charges and balances are
    # not negative. Ledger amounts and an upstream balance carry a sign.
    if isinstance(row, Payment):
        return max(abs(amount), PLACES)
    if (type(row), field) in {(LedgerEntry, "amount"), (Provider, "last_balance")}:
        return amount
    return abs(amount)


def _raw(row: Model, field: str) -> Any:
    column = row._meta.get_field(field).column  # type: ignore[union-attr]
    table, pk = row._meta.db_table, row._meta.pk.column  # type: ignore[union-attr]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE {pk} = %s", [row.pk])
        return cursor.fetchone()[0]


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(amount=AMOUNTS)
@example(amount=MAX_AMOUNT)
@example(amount=-MAX_AMOUNT)
@example(amount=Decimal("0.000001"))
@example(amount=Decimal("123456789.987654"))
@example(amount=Decimal("999999999.999998"))
def test_every_money_column_keeps_every_accepted_amount_exactly(
    alice: Customer, catalogue: Catalogue, amount: Decimal
) -> None:
    rows = _rows_once(alice, catalogue)
    for row, field in rows:
        value = _allowed(row, field, amount)
        type(row)._default_manager.filter(pk=row.pk).update(**{field: value})
        read = type(row)._default_manager.values_list(field, flat=True).get(pk=row.pk)
        assert (read, to_money(_raw(row, field))) == (value, value), (type(row).__name__, field)


_ROWS: dict[int, list[tuple[Model, str]]] = {}


def _rows_once(alice: Customer, catalogue: Catalogue) -> list[tuple[Model, str]]:
    # Hypothesis runs many examples inside one test (one database transaction): make the rows once.
    key = alice.user.pk
    if key not in _ROWS or not Order.objects.filter(user=alice.user).exists():
        _ROWS.clear()
        _ROWS[key] = _rows(alice, catalogue)
    return _ROWS[key]


# Refused past the bound, with a clear answer and no change --------------------------------

TOO_LARGE = "99999999999999.999999"  # what the panel used to accept


@pytest.fixture
def as_alice(client: Client, alice: Customer) -> Client:
    client.force_login(alice.user)
    return client


def test_a_deposit_past_the_largest_amount_is_refused_clearly(as_alice: Client) -> None:
    response = as_alice.post(reverse("funds"), {"amount": TOO_LARGE})
    assert response.status_code == 200
    assert "The largest amount is 999,999,999.999999 USD." in response.content.decode()
    assert not Payment.objects.exists()


def test_the_largest_deposit_shows_on_every_page_that_lists_it(
    as_alice: Client, alice: Customer, db: None
) -> None:
    # Money is sent in cents: the largest deposit anyone can ask is MAX_AMOUNT to the cent below.
    largest = MAX_AMOUNT.quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    response = as_alice.post(reverse("funds"), {"amount": str(largest)})
    payment = Payment.objects.get()
    assert payment.amount == largest
    assert response["Location"] == reverse("payment", args=[payment.pk])
    for url in (reverse("funds"), reverse("payment", args=[payment.pk])):
        page = as_alice.get(url)
        assert page.status_code == 200 and "999,999,999.99" in page.content.decode(), url

    operator = User.objects.create_user("olga", "olga@example.com", "x", is_staff=True)
    operator.user_permissions.add(Permission.objects.get(codename="view_payment"))
    console = past_second_factor(Client(), operator)
    for url in (
        reverse("admin:payments_payment_changelist"),
        reverse("admin:payments_payment_change", args=[payment.pk]),
    ):
        page = console.get(url)
        assert page.status_code == 200 and payment.reference in page.content.decode(), url

    assert as_alice.post(reverse("payment", args=[payment.pk]), {"action": "cancel"}).status_code == 302
    assert Payment.objects.get().status == Payment.Status.CANCELED


def test_confirming_a_deposit_that_would_pass_the_bound_is_refused(alice: Customer) -> None:
    operator = User.objects.create_user("olga", "olga@example.com", "x", is_staff=True)
    payment = payments.request_bank_transfer(alice.user, MAX_AMOUNT)  # alice has 100 already
    with pytest.raises(payments.PaymentError) as refused:
        payments.confirm(payment.pk, operator)
    assert refused.value.code == "balance_limit"
    assert Payment.objects.get().status == Payment.Status.PENDING
    assert alice.balance() == Decimal("100")


def test_the_ledger_refuses_what_it_could_not_keep(alice: Customer) -> None:
    with transaction.atomic():
        post(alice.user.pk, MAX_AMOUNT - 100, LedgerEntry.Kind.ADJUSTMENT, "test:fill")
    assert alice.balance() == MAX_AMOUNT
    for amount, error in (
        (PLACES, BalanceLimit),
        (MAX_AMOUNT + 1, BalanceLimit),
        (-MAX_AMOUNT - 1, InsufficientFunds),
    ):
        with pytest.raises(error), transaction.atomic():
            post(alice.user.pk, amount, LedgerEntry.Kind.ADJUSTMENT, f"test:{amount}")
    assert alice.balance() == MAX_AMOUNT
    assert list(mismatches()) == []


def test_an_order_costing_more_than_the_bound_is_not_enough_funds(
    alice: Customer, catalogue: Catalogue, api: Any, settings: Any
) -> None:
    Service.objects.filter(pk=catalogue.default.pk).update(rate=MAX_AMOUNT)
    answer = api.post(
        "v2",
        key=alice.key,
        action="add",
        service=catalogue.default.pk,
        link="https://instagram.com/alice",
        quantity=10000,
    )
    assert answer == {"error": "Not enough funds on balance"}
    assert not Order.objects.exists()
    assert alice.balance() == Decimal("100")


@pytest.mark.parametrize("rate", ["-0.01", "1000000000", TOO_LARGE])
def test_a_price_out_of_range_is_refused_by_the_console_forms(catalogue: Catalogue, rate: str) -> None:
    service = Service.objects.get(pk=catalogue.default.pk)
    service.rate = Decimal(rate)
    with pytest.raises(ValidationError) as refused:
        service.full_clean()
    assert set(refused.value.message_dict) == {"rate"}


def test_the_operator_is_told_the_range_of_an_adjustment(alice: Customer) -> None:
    root = User.objects.create_superuser("root", "root@example.com", "x")
    console = past_second_factor(Client(), root)
    url = reverse("admin:accounts_user_adjust", args=[alice.user.pk])
    response = console.post(url, {"amount": TOO_LARGE, "memo": "oops"})
    assert "Enter an amount between -999999999.999999 and 999999999.999999." in response.content.decode()
    assert alice.balance() == Decimal("100")


def test_upstream_amounts_past_the_bound_are_unreadable() -> None:
    services = answers.parse_services(
        [
            {"service": 1, "name": "Fine", "rate": "1.5", "min": 10, "max": 100},
            {"service": 2, "name": "Huge", "rate": TOO_LARGE, "min": 10, "max": 100},
            {"service": 3, "name": "Tiny", "rate": "0.0000004", "min": 10, "max": 100},
        ]
    )
    assert [(s.external_id, s.rate) for s in services] == [("1", Decimal("1.5")), ("3", Decimal("0.0000004"))]
    with pytest.raises(answers.Unreachable):
        answers.parse_balance({"balance": TOO_LARGE, "currency": "USD"})
    status = answers.parse_status({"status": "Completed", "charge": TOO_LARGE, "remains": 0})
    assert status.charge is None
