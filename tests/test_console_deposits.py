"""The console's deposits: the list with its filters, a deposit's page, Confirm (credits once,
whatever double clicks or second tabs send) and Reject (with a note), each audited, and a 403 for
every role without the `deposits` capability."""

import json
import re
import threading
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from played_gateway import Played, played_fixture  # noqa: F401  (the fixture `played`)
from played_gateway import urls as played_urls
from staff import make_staff, signed_in

from smmpanel.accounts.models import AuditRecord, User
from smmpanel.ledger.models import Account, LedgerEntry
from smmpanel.payments import deposits
from smmpanel.payments.models import GatewayRecord, GatewaySetting, Payment

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


# --- Gateway deposits -----------------------------------------------------------------------------------
# A gateway played in process (tests/played_gateway.py), as tests/test_deposits.py plays one.


@pytest.fixture
def invoice(played: Played, alice) -> Payment:
    GatewaySetting.objects.create(
        gateway="cryptomus",
        enabled=True,
        credentials={"merchant": "m", "key": "k"},
        fee_percent=Decimal(2),
        bonus_percent=Decimal(5),
        bonus_from=Decimal(20),
    )
    return deposits.start(alice.user, "cryptomus", Decimal(40), played_urls)


def test_the_list_filters_by_gateway_and_searches_reference_customer_and_gateway_id(
    finance, alice, bob, invoice
):
    transfer = Payment.objects.create(user=bob.user, amount=Decimal(10))
    get = lambda **q: listed(page_of(finance.get(reverse("console:deposits"), q)))  # noqa: E731
    assert get(method="cryptomus") == [invoice.pk]
    assert get(method="bank_transfer") == [transfer.pk]
    assert get(method="cryptomus", status="pending") == [invoice.pk]
    assert get(method="cryptomus", status="confirmed") == []
    assert get(q=invoice.gateway_ref) == [invoice.pk]
    assert get(q=invoice.reference.lower()) == [invoice.pk]
    assert get(q="bob") == [transfer.pk]
    assert get(q="alice@example") == [invoice.pk]
    assert get(q="no-such-thing") == []


def test_the_deposit_page_shows_its_amounts_gateway_id_and_records_escaped(finance, played, alice, invoice):
    GatewayRecord.objects.create(
        gateway="cryptomus",
        kind="webhook",
        payment=invoice,
        body=json.dumps({"note": HOSTILE}),
        verdict="forged signature",
        http_status=401,
    )
    played.pay(invoice.gateway_ref, paid="40")
    deposits.check(invoice.pk)
    page = page_of(finance.get(reverse("console:deposit", args=[invoice.pk])))
    assert invoice.gateway_ref in page and "<script>alert" not in page and "<img src=x" not in page
    assert re.search(r'id="deposit-paid">40\.00', page) and re.search(r'id="deposit-credited">40\.00', page)
    assert re.search(r'id="deposit-bonus">2\.00', page) and re.search(r'id="deposit-fee">0\.80', page)
    assert page.count("<tr data-record=") == 3  # the start, the webhook, the check
    assert "forged signature" in page and "401" in page and "credited" in page
    assert "&quot;note&quot;: &quot;\\&quot;&gt;&lt;img" in page  # readable (indented JSON) and escaped
    assert 'id="confirm-deposit"' not in page and 'id="check-deposit"' not in page


def test_check_with_the_gateway_now_credits_once_and_is_audited(finance, fay, played, alice, invoice):
    page = page_of(finance.get(reverse("console:deposit", args=[invoice.pk])))
    assert 'id="check-deposit"' in page
    first = finance.post(reverse("console:deposit_check", args=[invoice.pk]), follow=True)
    assert "The gateway answered: Pending." in page_of(first)
    assert not AuditRecord.objects.exists()  # nothing changed, nothing to audit
    played.pay(invoice.gateway_ref)
    answers = [
        page_of(finance.post(reverse("console:deposit_check", args=[invoice.pk]), follow=True))
        for _ in range(3)
    ]
    assert "The gateway answered: Confirmed." in answers[0]
    assert "Only an open deposit through a gateway can be checked." in answers[1]
    assert alice.balance() == Decimal("141.2")  # 40, +2 bonus, -0.80 fee
    invoice.refresh_from_db()
    assert (invoice.status, invoice.credited, invoice.bonus, invoice.fee) == (
        "confirmed",
        Decimal(40),
        Decimal(2),
        Decimal("0.8"),
    )
    (record,) = AuditRecord.objects.filter(action="deposit.check")
    assert (record.actor, record.before, record.after, record.note) == (
        fay,
        {"status": "pending"},
        {"status": "confirmed"},
        "credited",
    )
    assert GatewayRecord.objects.filter(payment=invoice, kind="poll").count() == 2


def test_a_gateway_that_does_not_answer_is_a_clear_message_and_changes_nothing(
    finance, played, alice, invoice
):
    played.pay(invoice.gateway_ref)
    played.down = True
    response = finance.post(reverse("console:deposit_check", args=[invoice.pk]), follow=True)
    assert "The gateway gave no usable answer; nothing changed: timed out" in page_of(response)
    assert Payment.objects.get(pk=invoice.pk).status == "pending" and alice.balance() == Decimal(100)
    assert GatewayRecord.objects.get(payment=invoice, kind="poll").verdict == "no answer: timed out"
    played.down = False
    played.pay(invoice.gateway_ref, currency="EUR")  # an answer about another currency
    response = finance.post(reverse("console:deposit_check", args=[invoice.pk]), follow=True)
    assert "nothing changed: currency &#x27;EUR&#x27;" in page_of(response)
    assert Payment.objects.get(pk=invoice.pk).status == "pending" and alice.balance() == Decimal(100)
    assert not AuditRecord.objects.exists()


def test_a_gateway_deposit_is_never_confirmed_or_rejected_by_hand(finance, alice, invoice):
    for name, data in ACTIONS.items():
        response = finance.post(reverse(f"console:{name}", args=[invoice.pk]), data, follow=True)
        assert "Only a bank transfer is confirmed or rejected by hand" in page_of(response)
    assert Payment.objects.get(pk=invoice.pk).status == "pending" and alice.balance() == Decimal(100)
    assert not AuditRecord.objects.exists()


@pytest.fixture
def credited(played: Played, invoice: Payment) -> Payment:
    """The invoice paid: 40 credited, +2 bonus, -0.80 fee (alice has 141.20)."""
    played.pay(invoice.gateway_ref)
    deposits.check(invoice.pk)
    invoice.refresh_from_db()
    return invoice


def refund(client: Any, payment: Payment, amount: str = "") -> str:
    return page_of(
        client.post(reverse("console:deposit_refund", args=[payment.pk]), {"amount": amount}, follow=True)
    )


def test_a_whole_refund_takes_back_the_deposit_and_is_audited(finance, fay, played, alice, credited):
    assert 'id="refund-deposit"' in page_of(finance.get(reverse("console:deposit", args=[credited.pk])))
    assert "Refunded: 41.20 USD taken from the balance." in refund(finance, credited)
    assert played.refunded == [(credited.gateway_ref, Decimal(40))]
    assert alice.balance() == Decimal(100) and Payment.objects.get(pk=credited.pk).status == "refunded"
    (record,) = AuditRecord.objects.filter(action="deposit.refund")
    assert (record.actor, record.after) == (
        fay,
        {"status": "refunded", "asked": "all", "taken from the balance": "41.200000"},
    )
    assert "cannot be refunded from the console" in refund(finance, credited)  # once
    assert len(played.refunded) == 1
    call_command("check_ledger")


def test_a_part_refund_and_bad_amounts(finance, played, alice, credited):
    assert "Ensure this value is greater than or equal to" in refund(finance, credited, "-3")
    assert "Enter a number." in refund(finance, credited, "ten")
    assert "at most 40" in refund(finance, credited, "40.01")
    assert played.refunded == [] and alice.balance() == Decimal("141.2")
    assert not AuditRecord.objects.exists()
    assert "Refunded: 15.00 USD taken from the balance." in refund(finance, credited, "15")
    assert alice.balance() == Decimal("126.2") and played.refunded == [(credited.gateway_ref, Decimal(15))]


def test_a_refund_the_gateway_refuses_gives_the_balance_back(finance, played, alice, credited):
    played.refuse = "not enough funds on the merchant balance"
    text = refund(finance, credited)
    assert "refused the refund (not enough funds on the merchant balance)" in text
    assert alice.balance() == Decimal("141.2") and Payment.objects.get(pk=credited.pk).status == "confirmed"
    assert not AuditRecord.objects.exists()


def test_a_refund_the_gateway_never_answers_stays_debited_and_is_audited(finance, played, alice, credited):
    played.down = True
    assert "may or may not have been made" in refund(finance, credited)
    assert alice.balance() == Decimal(100) and Payment.objects.get(pk=credited.pk).status == "refunded"
    (record,) = AuditRecord.objects.filter(action="deposit.refund")
    assert record.note == "the gateway did not answer"


def test_a_gateway_without_refunds_offers_none(finance, played, alice, credited):
    played.refunds = False
    assert 'id="refund-deposit"' not in page_of(finance.get(reverse("console:deposit", args=[credited.pk])))
    assert "cannot be refunded from the console" in refund(finance, credited)
    assert played.refunded == [] and alice.balance() == Decimal("141.2")


def test_settle_dispute_on_a_charged_back_deposit_once_and_audited(finance, fay, played, alice, credited):
    assert 'id="settle-dispute"' not in page_of(finance.get(reverse("console:deposit", args=[credited.pk])))
    played.pay(credited.gateway_ref, status="charged_back")
    deposits.check(credited.pk)
    page = page_of(finance.get(reverse("console:deposit", args=[credited.pk])))
    assert 'id="settle-dispute"' in page and "open: the customer cannot order" in page
    assert Account.objects.get(user=alice.user).on_hold
    response = finance.post(
        reverse("console:deposit_settle", args=[credited.pk]), {"note": "Customer paid by wire"}, follow=True
    )
    assert "The dispute is settled." in page_of(response)
    assert not Account.objects.get(user=alice.user).on_hold
    (record,) = AuditRecord.objects.filter(action="deposit.settle_dispute")
    assert (record.actor, record.after, record.note) == (fay, {"dispute": "settled"}, "Customer paid by wire")
    again = finance.post(reverse("console:deposit_settle", args=[credited.pk]), {}, follow=True)
    assert "Only a charged-back deposit not settled yet can be settled." in page_of(again)
    assert AuditRecord.objects.filter(action="deposit.settle_dispute").count() == 1


def test_the_dashboard_counts_gateway_deposits_waiting_past_the_poll_delay(finance, settings, alice, invoice):
    settings.SMMPANEL_DEPOSIT_POLL_SECONDS = 300
    fresh = deposits.start(alice.user, "cryptomus", Decimal(30), played_urls)
    Payment.objects.filter(pk=invoice.pk).update(created_at=timezone.now() - timedelta(minutes=6))
    Payment.objects.create(user=alice.user, amount=Decimal(9))  # a bank transfer: its own queue
    page = page_of(finance.get(reverse("console:dashboard")))
    late = re.search(r'data-queue="late-deposits".*?<strong class="count">(\d+)', page, re.S)
    bank = re.search(r'data-queue="deposits".*?<strong class="count">(\d+)', page, re.S)
    assert late and late[1] == "1" and bank and bank[1] == "1"
    queue = page_of(finance.get("/console/queues/late-deposits/"))
    assert f'data-deposit="{invoice.pk}"' in queue and f'data-deposit="{fresh.pk}"' not in queue
    assert "data-deposit" in page_of(finance.get("/console/queues/deposits/"))
    assert f'data-deposit="{invoice.pk}"' not in page_of(finance.get("/console/queues/deposits/"))
    support = page_of(signed_in(make_staff("sue", "support")).get(reverse("console:dashboard")))
    assert 'data-queue="late-deposits"' not in support


GATEWAY_ACTIONS = {"deposit_check": {}, "deposit_refund": {"amount": "1"}, "deposit_settle": {"note": "x"}}


@pytest.mark.parametrize("name", list(GATEWAY_ACTIONS))
def test_the_gateway_actions_are_refused_to_support(name, played, alice, invoice):
    client = signed_in(make_staff("sam", "support"))
    response = client.post(reverse(f"console:{name}", args=[invoice.pk]), GATEWAY_ACTIONS[name])
    assert response.status_code == 403 and played.refunded == []
    assert Payment.objects.get(pk=invoice.pk).status == "pending" and not AuditRecord.objects.exists()
    assert GatewayRecord.objects.filter(kind="poll").count() == 0
