"""The console's deposits: the list with its filters, a deposit's page, Confirm (credits once,
whatever double clicks or second tabs send) and Reject (with a note), each audited, and a 403 for
every role without the `deposits` capability."""

import re
import threading
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from staff import make_staff, signed_in

from smmpanel.accounts.models import AuditRecord, User
from smmpanel.ledger.models import LedgerEntry
from smmpanel.payments.models import Payment

pytestmark = pytest.mark.django_db

ROLES = ["administrator", "support", "finance"]
HOSTILE = '"><img src=x onerror=alert(1)><script>alert(2)</script>'


def page_of(response: Any) -> str:
    return response.content.decode()


def listed(text: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr data-payment="(\d+)">', text)]


@pytest.fixture
def fay() -> User:
    return make_staff("fay", "finance")


@pytest.fixture
def finance(fay: User):
    return signed_in(fay)


@pytest.fixture
def transfer(alice) -> Payment:
    return Payment.objects.create(user=alice.user, amount=Decimal("25.50"))


def deposits_of(user: User) -> list[LedgerEntry]:
    return list(
        LedgerEntry.objects.filter(user=user, kind=LedgerEntry.Kind.DEPOSIT, reference__startswith="payment:")
    )


# --- The list ----------------------------------------------------------------------------------------


def test_the_list_filters_by_status_method_customer_and_date(finance, alice, bob):
    a = Payment.objects.create(user=alice.user, amount=Decimal(10))
    b = Payment.objects.create(user=bob.user, amount=Decimal(20), status=Payment.Status.CONFIRMED)
    old = Payment.objects.create(user=bob.user, amount=Decimal(30))
    Payment.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    get = lambda **q: listed(page_of(finance.get(reverse("console:deposits"), q)))  # noqa: E731
    assert get() == [old.pk, b.pk, a.pk]
    assert get(status="pending") == [old.pk, a.pk]
    assert get(status="confirmed") == [b.pk]
    assert get(method="bank_transfer") == [old.pk, b.pk, a.pk]
    assert get(customer="BOB") == [old.pk, b.pk]
    since = (timezone.now() - timedelta(days=7)).date().isoformat()
    assert get(since=since) == [b.pk, a.pk]
    until = (timezone.now() - timedelta(days=30)).date().isoformat()
    assert get(until=until) == [old.pk]
    assert get(status="nonsense") == []


def test_the_list_shows_50_a_page(finance, alice):
    Payment.objects.bulk_create(
        [Payment(user=alice.user, amount=Decimal(1), reference=f"SMM-T{n:07d}") for n in range(51)]
    )
    text = page_of(finance.get(reverse("console:deposits")))
    assert len(listed(text)) == 50 and "Page 1 of 2" in text
    assert reverse("console:deposits") in text  # the menu entry


def test_hostile_usernames_and_notes_are_inert(finance, fay, alice):
    mallory = User.objects.create_user(f"m{HOSTILE}"[:150])
    payment = Payment.objects.create(user=mallory, amount=Decimal(5))
    finance.post(reverse("console:deposit_reject", args=[payment.pk]), {"note": HOSTILE})
    for text in (
        page_of(finance.get(reverse("console:deposits"))),
        page_of(finance.get(reverse("console:deposit", args=[payment.pk]))),
    ):
        assert "<script>alert" not in text and "<img src=x" not in text
        assert "&lt;script&gt;alert(2)&lt;/script&gt;" in text


# --- Confirm -----------------------------------------------------------------------------------------


def test_confirming_credits_the_balance_once_with_a_ledger_entry_and_an_audit_record(
    finance, fay, alice, transfer
):
    page = page_of(finance.get(reverse("console:deposit", args=[transfer.pk])))
    assert 'id="confirm-deposit"' in page and transfer.reference in page
    response = finance.post(reverse("console:deposit_confirm", args=[transfer.pk]))
    assert response["Location"] == reverse("console:deposit", args=[transfer.pk])
    transfer.refresh_from_db()
    assert (transfer.status, transfer.decided_by) == ("confirmed", fay)
    assert alice.balance() == Decimal("125.50")
    (entry,) = deposits_of(alice.user)
    assert (entry.amount, entry.actor, entry.reference) == (
        Decimal("25.5"),
        fay,
        f"payment:{transfer.pk}:deposit",
    )
    (record,) = AuditRecord.objects.filter(action="deposit.confirm")
    assert (record.actor, record.object_type, record.object_id) == (fay, "deposit", str(transfer.pk))
    assert (record.before, record.after) == (
        {"status": "pending"},
        {"status": "confirmed", "amount": "25.500000"},
    )
    page = page_of(finance.get(reverse("console:deposit", args=[transfer.pk])))
    assert 'id="confirm-deposit"' not in page and "Confirmed" in page


def test_confirming_twice_credits_once(finance, alice, transfer):
    first = finance.post(reverse("console:deposit_confirm", args=[transfer.pk]), follow=True)
    second = finance.post(reverse("console:deposit_confirm", args=[transfer.pk]), follow=True)  # a second tab
    assert "credited to alice" in page_of(first)
    assert "confirmed already: nothing was credited again" in page_of(second)
    assert alice.balance() == Decimal("125.50")
    assert len(deposits_of(alice.user)) == 1
    assert AuditRecord.objects.filter(action="deposit.confirm").count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="real parallel transactions: PostgreSQL")
def test_two_confirms_at_once_credit_once(fay, alice, transfer):
    clients = [signed_in(fay), signed_in(fay)]
    start = threading.Barrier(2)
    codes: list[int] = []

    def confirm(client: Any) -> None:
        start.wait()
        try:
            codes.append(client.post(reverse("console:deposit_confirm", args=[transfer.pk])).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=confirm, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes == [302, 302]
    assert alice.balance() == Decimal("125.50")
    assert len(deposits_of(alice.user)) == 1
    assert AuditRecord.objects.filter(action="deposit.confirm").count() == 1


def test_a_rejected_deposit_cannot_be_confirmed(finance, alice, transfer):
    Payment.objects.filter(pk=transfer.pk).update(status=Payment.Status.REJECTED)
    response = finance.post(reverse("console:deposit_confirm", args=[transfer.pk]), follow=True)
    assert "Only a pending payment can be confirmed." in page_of(response)
    assert alice.balance() == Decimal(100) and not deposits_of(alice.user)
    assert not AuditRecord.objects.exists()


def test_nobody_confirms_a_deposit_of_their_own(finance, fay):
    own = Payment.objects.create(user=fay, amount=Decimal(10))
    response = finance.post(reverse("console:deposit_confirm", args=[own.pk]), follow=True)
    assert "another operator must" in page_of(response)
    assert Payment.objects.get(pk=own.pk).status == "pending" and not AuditRecord.objects.exists()


# --- Reject ------------------------------------------------------------------------------------------


def test_rejecting_records_the_note_credits_nothing_and_is_audited(finance, fay, alice, transfer):
    finance.post(reverse("console:deposit_reject", args=[transfer.pk]), {"note": "No such transfer arrived"})
    transfer.refresh_from_db()
    assert (transfer.status, transfer.note, transfer.decided_by) == (
        "rejected",
        "No such transfer arrived",
        fay,
    )
    assert alice.balance() == Decimal(100) and not deposits_of(alice.user)
    (record,) = AuditRecord.objects.filter(action="deposit.reject")
    assert (record.after, record.note) == ({"status": "rejected"}, "No such transfer arrived")
    # and once rejected, it stays so: a second reject changes nothing
    response = finance.post(
        reverse("console:deposit_reject", args=[transfer.pk]), {"note": "again"}, follow=True
    )
    assert "rejected already" in page_of(response)
    assert Payment.objects.get(pk=transfer.pk).note == "No such transfer arrived"


@pytest.mark.parametrize("note", ["", "   "])
def test_a_reject_without_a_note_is_refused(finance, alice, transfer, note):
    response = finance.post(reverse("console:deposit_reject", args=[transfer.pk]), {"note": note})
    assert response.status_code == 400 and "This field is required." in page_of(response)
    assert Payment.objects.get(pk=transfer.pk).status == "pending" and not AuditRecord.objects.exists()


def test_a_confirmed_deposit_cannot_be_rejected(finance, alice, transfer):
    finance.post(reverse("console:deposit_confirm", args=[transfer.pk]))
    response = finance.post(
        reverse("console:deposit_reject", args=[transfer.pk]), {"note": "oops"}, follow=True
    )
    assert "Only a pending payment can be rejected." in page_of(response)
    assert Payment.objects.get(pk=transfer.pk).status == "confirmed" and alice.balance() == Decimal("125.50")


# --- Who may ------------------------------------------------------------------------------------------


PAGES = ["deposits", "deposit"]
ACTIONS = {"deposit_confirm": {}, "deposit_reject": {"note": "not received"}}
MAY = {"administrator", "finance"}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", PAGES)
def test_the_pages_open_to_each_role_with_the_capability_only(role, name, transfer):
    client = signed_in(make_staff("sam", role))
    args = [transfer.pk] if name == "deposit" else []
    response = client.get(reverse(f"console:{name}", args=args))
    assert response.status_code == (200 if role in MAY else 403)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", list(ACTIONS))
def test_each_action_is_refused_to_each_role_without_the_capability(role, name, alice, transfer):
    client = signed_in(make_staff("sam", role))
    response = client.post(reverse(f"console:{name}", args=[transfer.pk]), ACTIONS[name])
    status = Payment.objects.get(pk=transfer.pk).status
    if role in MAY:
        assert response.status_code == 302 and status != "pending"
        assert AuditRecord.objects.filter(object_type="deposit").count() == 1
    else:
        assert response.status_code == 403 and "Nothing was changed" in page_of(response)
        assert status == "pending" and alice.balance() == Decimal(100)
        assert not AuditRecord.objects.exists()


def test_the_actions_take_post_only(finance, alice, transfer):
    assert finance.get(reverse("console:deposit_confirm", args=[transfer.pk])).status_code == 405
    assert Payment.objects.get(pk=transfer.pk).status == "pending"
