"""The daily reconciliation (payments/reconcile.py) and its console page: a day whose deposits
and ledger agree shows no difference and exact sums per gateway; each kind of difference planted
in the data (credited but no entry, an entry but not confirmed, an entry for no deposit, amounts
that differ) is listed deposit by deposit; the day is the panel's time zone's."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from played_gateway import Played, played_fixture, urls  # noqa: F401  (the fixture `played`)
from staff import make_staff, signed_in

from smmpanel.ledger import services as ledger
from smmpanel.ledger.models import LedgerEntry
from smmpanel.payments import deposits, reconcile, refunds, services
from smmpanel.payments.models import GatewaySetting, Payment

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def setup(played: Played) -> Played:
    GatewaySetting.objects.create(
        gateway="cryptomus",
        enabled=True,
        credentials={"merchant": "m", "key": "k"},
        fee_percent=D("2.5"),
        fee_fixed=D("0.10"),
        bonus_percent=D(5),
        bonus_from=D(100),
    )
    return played


def paid(played: Played, user, amount: str, really: str | None = None) -> Payment:
    payment = deposits.start(user, "cryptomus", D(amount), urls)
    played.pay(payment.gateway_ref, paid=really)
    deposits.check(payment.pk)
    payment.refresh_from_db()
    return payment


def today() -> date:
    return timezone.localdate(timezone=timezone.get_default_timezone())


def line(day: reconcile.Day, gateway: str) -> reconcile.Line:
    return next(found for found in day.lines if found.gateway == gateway)


def kinds(day: reconcile.Day) -> list[tuple[str, str, str]]:
    return sorted((d.kind, d.part, d.ledger_reference) for d in day.differences)


def test_a_day_that_agrees_has_no_difference_and_exact_sums(setup: Played, alice, bob) -> None:
    staff = make_staff("fay", "finance")
    one = paid(setup, alice.user, "120")  # bonus 6, fee 3.10
    two = paid(setup, bob.user, "50", really="49.99")  # underpaid: credits what was paid (the setting)
    transfer = services.request_bank_transfer(bob.user, D("25.5"))
    services.confirm(transfer.pk, staff)
    day = reconcile.reconcile(today())
    assert day.differences == []
    crypto = line(day, "cryptomus")
    assert (crypto.confirmed, crypto.credited, crypto.entries) == (2, D("169.99"), D("169.99"))
    assert (crypto.bonuses, crypto.fees) == (D(6), D("3.1") + D("1.34975").quantize(D("0.000001")))
    bank = line(day, "bank_transfer")
    assert (bank.confirmed, bank.credited, bank.entries, bank.fees) == (1, D("25.5"), D("25.5"), D(0))
    assert one.credited == D(120) and two.credited == D("49.99")
    assert reconcile.reconcile(today() - timedelta(days=1)).differences == []
    assert line(reconcile.reconcile(today() - timedelta(days=1)), "cryptomus").confirmed == 0
    call_command("check_ledger")


def test_credited_but_no_entry_is_listed(setup: Played, alice) -> None:
    payment = paid(setup, alice.user, "30")
    # a deposit marked confirmed by something that never wrote the ledger
    ghost = Payment.objects.create(
        user=alice.user,
        method="cryptomus",
        amount=D(70),
        gateway_ref="inv-ghost",
        status=Payment.Status.CONFIRMED,
        credited=D(70),
        bonus=D("3.5"),
        decided_at=timezone.now(),
    )
    day = reconcile.reconcile(today())
    assert kinds(day) == [
        ("no_entry", "bonus", "gateway:cryptomus:inv-ghost:deposit:bonus"),
        ("no_entry", "deposit", "gateway:cryptomus:inv-ghost:deposit"),
    ]
    assert {d.payment for d in day.differences} == {ghost}
    deposit = next(d for d in day.differences if d.part == "deposit")
    assert (deposit.expected, deposit.found) == (D(70), None)
    crypto = line(day, "cryptomus")
    assert (crypto.confirmed, crypto.credited, crypto.entries) == (2, D(100), D(30))
    assert payment.status == "confirmed"


def test_an_entry_for_a_deposit_not_confirmed_is_listed(setup: Played, alice) -> None:
    pending = deposits.start(alice.user, "cryptomus", D(15), urls)
    with transaction.atomic():
        ledger.post(alice.user.pk, D(15), LedgerEntry.Kind.DEPOSIT, pending.deposit_reference)
    (difference,) = reconcile.reconcile(today()).differences
    assert (difference.kind, difference.part, difference.payment, difference.found) == (
        "not_confirmed",
        "deposit",
        pending,
        D(15),
    )
    assert line(reconcile.reconcile(today()), "cryptomus").entries == D(15)


def test_an_entry_for_no_deposit_at_all_is_listed(setup: Played, alice) -> None:
    with transaction.atomic():
        ledger.post(alice.user.pk, D(9), LedgerEntry.Kind.DEPOSIT, "gateway:cryptomus:never-seen:deposit")
        ledger.post(alice.user.pk, D(4), LedgerEntry.Kind.DEPOSIT, "payment:999999:deposit")
        ledger.post(alice.user.pk, D(1), LedgerEntry.Kind.ADJUSTMENT, "adjust:1")  # not a deposit's: ignored
    day = reconcile.reconcile(today())
    assert kinds(day) == [
        ("no_deposit", "deposit", "gateway:cryptomus:never-seen:deposit"),
        ("no_deposit", "deposit", "payment:999999:deposit"),
    ]
    assert line(day, "cryptomus").entries == D(9) and line(day, "bank_transfer").entries == D(4)


def test_amounts_that_differ_are_listed(setup: Played, alice, bob) -> None:
    one = paid(setup, alice.user, "200")
    two = paid(setup, bob.user, "40")
    Payment.objects.filter(pk=one.pk).update(credited=D("200.01"))
    Payment.objects.filter(pk=two.pk).update(fee=D("1.11"))
    day = reconcile.reconcile(today())
    assert kinds(day) == [
        ("amount", "deposit", one.deposit_reference),
        ("amount", "fee", f"{two.deposit_reference}:fee"),
    ]
    deposit, fee = sorted(day.differences, key=lambda d: d.part)
    assert (deposit.expected, deposit.found) == (D("200.01"), D(200))
    assert (fee.expected, fee.found) == (D("-1.11"), D("-1.1"))


def test_refunds_and_charge_backs_of_the_day_are_summed(setup: Played, alice, bob) -> None:
    one = paid(setup, alice.user, "100")  # +100 +5 bonus -2.60 fee
    paid(setup, bob.user, "20")  # +20 -0.60 fee
    setup.pay(one.gateway_ref, status="charged_back")
    deposits.check(one.pk)
    crypto = line(reconcile.reconcile(today()), "cryptomus")
    assert (crypto.chargebacks, crypto.refunds) == (D("102.4"), D(0))
    assert reconcile.reconcile(today()).differences == []


def test_a_deposit_confirmed_late_belongs_to_the_day_of_its_credit(setup: Played, alice) -> None:
    payment = deposits.start(alice.user, "cryptomus", D(10), urls)
    setup.pay(payment.gateway_ref, status="expired")
    deposits.check(payment.pk)
    Payment.objects.filter(pk=payment.pk).update(decided_at=timezone.now() - timedelta(days=3))
    setup.pay(payment.gateway_ref)  # the money came after all
    deposits.check(payment.pk)
    day = reconcile.reconcile(today())
    assert day.differences == [] and line(day, "cryptomus").confirmed == 1


def test_the_day_is_the_panel_time_zones(setup: Played, alice, settings) -> None:
    settings.TIME_ZONE = "America/New_York"
    payment = paid(setup, alice.user, "10")
    # confirmed at 02:00 UTC on 5 March: 21:00 on 4 March in New York
    at = datetime(2026, 3, 5, 2, 0, tzinfo=ZoneInfo("UTC"))
    Payment.objects.filter(pk=payment.pk).update(decided_at=at)
    LedgerEntry.objects.filter(reference__startswith=payment.deposit_reference).update(created_at=at)
    assert line(reconcile.reconcile(date(2026, 3, 4)), "cryptomus").confirmed == 1
    assert line(reconcile.reconcile(date(2026, 3, 5)), "cryptomus").confirmed == 0
    start, end = reconcile.bounds(date(2026, 3, 4))
    assert (start.isoformat(), end.isoformat()) == ("2026-03-04T00:00:00-05:00", "2026-03-05T00:00:00-05:00")


# --- The page ------------------------------------------------------------------------------------------


def test_the_page_shows_today_by_default_and_no_difference(setup: Played, alice) -> None:
    paid(setup, alice.user, "120")
    client = signed_in(make_staff("fay", "finance"))
    page = client.get(reverse("console:reconcile")).content.decode()
    assert f'value="{today().isoformat()}"' in page
    assert 'data-differences="0"' in page and "No difference" in page
    assert 'data-gateway="cryptomus"' in page and "120.00" in page


def test_the_page_lists_each_difference_and_refuses_a_bad_day(setup: Played, alice) -> None:
    pending = deposits.start(alice.user, "cryptomus", D(15), urls)
    with transaction.atomic():
        ledger.post(alice.user.pk, D(15), LedgerEntry.Kind.DEPOSIT, pending.deposit_reference)
    client = signed_in(make_staff("ada", "administrator"))
    page = client.get(reverse("console:reconcile"), {"day": today().isoformat()}).content.decode()
    assert 'data-differences="1"' in page and 'data-difference="not_confirmed"' in page
    assert pending.reference in page and "but the deposit is not confirmed" in page
    yesterday = (today() - timedelta(days=1)).isoformat()
    page = client.get(reverse("console:reconcile"), {"day": yesterday}).content.decode()
    assert 'data-differences="0"' in page and f'value="{yesterday}"' in page
    response = client.get(reverse("console:reconcile"), {"day": "2026-13-45"})
    assert response.status_code == 400 and "Enter a valid date." in response.content.decode()


@pytest.mark.parametrize("role", ["administrator", "support", "finance"])
def test_the_page_opens_to_the_deposits_roles_only(role: str) -> None:
    client = signed_in(make_staff("sam", role))
    assert client.get(reverse("console:reconcile")).status_code == (403 if role == "support" else 200)


def test_a_refund_and_one_given_back_are_summed_net(setup: Played, alice, bob) -> None:
    staff = make_staff("fay", "finance")
    one = paid(setup, alice.user, "100")  # +100 +5 bonus -2.60 fee
    two = paid(setup, bob.user, "20")
    assert refunds.refund(one.pk, staff) == D("102.4")
    setup.refuse = "not now"
    with pytest.raises(services.PaymentError):
        refunds.refund(two.pk, staff, D(5))  # debited, then given back
    day = reconcile.reconcile(today())
    assert line(day, "cryptomus").refunds == D("102.4") and day.differences == []
    call_command("check_ledger")
