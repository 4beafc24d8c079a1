"""Payments: a bank transfer is asked for, then confirmed (credited once) or rejected by the operator.

Also the operator's console: the payment actions and the balance adjustment on a customer's page.
"""

import re
import threading
from collections.abc import Callable
from decimal import Decimal

import pytest
from conftest import Customer
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import translation
from staff import past_second_factor

from smmpanel.accounts.models import User
from smmpanel.ledger.accounts import create_customer
from smmpanel.ledger.models import LedgerEntry
from smmpanel.ledger.services import mismatches
from smmpanel.payments import services
from smmpanel.payments.models import REFERENCE_ALPHABET, Payment, new_reference
from smmpanel.payments.services import PaymentError


@pytest.fixture
def operator(db: None) -> User:
    return User.objects.create_superuser("operator", "operator@example.com", "operator-password-1")


@pytest.fixture
def console(client: Client, operator: User) -> Client:
    return past_second_factor(client, operator)


def deposits(user: User) -> list[LedgerEntry]:
    return list(
        LedgerEntry.objects.filter(user=user, kind=LedgerEntry.Kind.DEPOSIT, reference__startswith="pay")
    )


# The reference --------------------------------------------------------------------------


def test_a_reference_is_short_typable_and_unambiguous() -> None:
    for _ in range(200):
        reference = new_reference()
        assert re.fullmatch(r"SMM-[A-Z0-9]{8}", reference)
        assert not set(reference[4:]) & set("01OIL")
        assert set(reference[4:]) <= set(REFERENCE_ALPHABET)


def test_each_payment_gets_its_own_reference(alice: Customer) -> None:
    references = {services.request_bank_transfer(alice.user, Decimal("10")).reference for _ in range(30)}
    assert len(references) == 30


# Asking for a transfer ------------------------------------------------------------------


def test_a_bank_transfer_request_is_pending_and_moves_no_money(alice: Customer) -> None:
    payment = services.request_bank_transfer(alice.user, Decimal("25.5"))
    assert (payment.status, payment.method, payment.amount) == ("pending", "bank_transfer", Decimal("25.5"))
    assert payment.decided_at is None
    assert alice.balance() == Decimal("100")
    assert deposits(alice.user) == []


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        ("0.5", "below_minimum"),
        ("0", "not_positive"),
        ("-10", "not_positive"),
        ("10.1234567", "decimals"),
    ],
)
def test_a_bad_amount_is_refused(alice: Customer, amount: str, code: str) -> None:
    with pytest.raises(PaymentError) as refused:
        services.request_bank_transfer(alice.user, Decimal(amount))
    assert refused.value.code == code
    assert not Payment.objects.exists()


def test_the_minimum_is_a_setting(alice: Customer, settings: object) -> None:
    settings.SMMPANEL_MIN_DEPOSIT = "20"  # type: ignore[attr-defined]
    with pytest.raises(PaymentError, match="The smallest amount is 20 USD"):
        services.request_bank_transfer(alice.user, Decimal("19.99"))
    assert services.request_bank_transfer(alice.user, Decimal("20")).amount == Decimal("20")


@pytest.mark.parametrize("text", ["", "abc", "1e3", "1,000", "1_000", "NaN", "Infinity", "12.", "--1"])
def test_typed_amounts_that_are_not_plain_numbers_are_refused(text: str) -> None:
    with pytest.raises(PaymentError) as refused:
        services.parse_deposit(text)
    assert refused.value.code == "invalid"


def test_a_typed_amount_is_exact() -> None:
    assert services.parse_deposit(" 12.345678 ") == Decimal("12.345678")


# Confirming -----------------------------------------------------------------------------


def test_confirming_credits_the_amount_once_with_a_ledger_deposit(alice: Customer, operator: User) -> None:
    payment = services.request_bank_transfer(alice.user, Decimal("40.25"))
    assert services.confirm(payment.pk, operator) is True
    payment.refresh_from_db()
    assert payment.status == "confirmed"
    assert payment.decided_by == operator
    assert payment.decided_at is not None
    assert alice.balance() == Decimal("140.25")
    [entry] = deposits(alice.user)
    assert (entry.amount, entry.balance_after, entry.reference) == (
        Decimal("40.25"),
        Decimal("140.25"),
        f"payment:{payment.pk}:deposit",
    )
    assert entry.actor == operator
    assert payment.reference in entry.memo

    assert services.confirm(payment.pk, operator) is False  # a second confirm is a no-op
    assert alice.balance() == Decimal("140.25")
    assert len(deposits(alice.user)) == 1
    assert list(mismatches()) == []


def test_the_deposit_memo_is_stored_in_the_panels_language_not_the_operators(
    alice: Customer, operator: User
) -> None:
    payment = services.request_bank_transfer(alice.user, Decimal("3"))
    with translation.override("es"):
        services.confirm(payment.pk, operator)
    [entry] = deposits(alice.user)
    assert entry.memo == f"Bank transfer {payment.reference}"


@pytest.mark.parametrize("end", ["rejected", "canceled"])
def test_a_rejected_or_canceled_payment_cannot_be_confirmed(
    alice: Customer, operator: User, end: str
) -> None:
    payment = services.request_bank_transfer(alice.user, Decimal("10"))
    if end == "rejected":
        services.reject(payment.pk, operator, "No transfer arrived")
    else:
        services.cancel(payment.pk, alice.user)
    with pytest.raises(PaymentError):
        services.confirm(payment.pk, operator)
    assert alice.balance() == Decimal("100")
    assert Payment.objects.get(pk=payment.pk).status == end


# Rejecting and canceling ----------------------------------------------------------------


def test_rejecting_records_who_and_why_and_moves_no_money(alice: Customer, operator: User) -> None:
    payment = services.request_bank_transfer(alice.user, Decimal("10"))
    assert services.reject(payment.pk, operator, "No transfer arrived") is True
    assert services.reject(payment.pk, operator, "again") is False
    payment.refresh_from_db()
    assert (payment.status, payment.decided_by, payment.note) == ("rejected", operator, "No transfer arrived")
    assert alice.balance() == Decimal("100")


def test_a_confirmed_payment_cannot_be_rejected_or_canceled(alice: Customer, operator: User) -> None:
    payment = services.request_bank_transfer(alice.user, Decimal("10"))
    services.confirm(payment.pk, operator)
    with pytest.raises(PaymentError):
        services.reject(payment.pk, operator, "")
    with pytest.raises(PaymentError):
        services.cancel(payment.pk, alice.user)
    assert Payment.objects.get(pk=payment.pk).status == "confirmed"
    assert alice.balance() == Decimal("110")


def test_the_customer_cancels_only_their_own_pending_payment(alice: Customer, bob: Customer) -> None:
    payment = services.request_bank_transfer(alice.user, Decimal("10"))
    with pytest.raises(Payment.DoesNotExist):
        services.cancel(payment.pk, bob.user)
    assert services.cancel(payment.pk, alice.user) is True
    assert services.cancel(payment.pk, alice.user) is False
    assert Payment.objects.get(pk=payment.pk).status == "canceled"


@pytest.mark.django_db(transaction=True)
def test_two_operators_confirming_at_once_credit_once() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks across connections: PostgreSQL only (SQLite serialises writers anyway)")
    customer, _key = create_customer("carol", balance=Decimal("0"))
    staff = [create_customer(f"op{n}", staff=True)[0] for n in range(2)]
    payment = services.request_bank_transfer(customer, Decimal("50"))
    barrier = threading.Barrier(2)
    results: list[object] = []

    def confirm(actor: User) -> None:
        try:
            barrier.wait(timeout=10)
            results.append(services.confirm(payment.pk, actor))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=confirm, args=(actor,)) for actor in staff]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results, key=str) == [False, True]
    customer.refresh_from_db()
    assert customer.balance == Decimal("50")
    assert LedgerEntry.objects.filter(reference=f"payment:{payment.pk}:deposit").count() == 1
    assert list(mismatches()) == []


# The console: payments ------------------------------------------------------------------


def test_the_console_lists_filters_and_searches_payments(
    console: Client, alice: Customer, bob: Customer
) -> None:
    mine = services.request_bank_transfer(alice.user, Decimal("10"))
    theirs = services.request_bank_transfer(bob.user, Decimal("20"))
    services.cancel(theirs.pk, bob.user)
    url = reverse("admin:payments_payment_changelist")
    page = console.get(url).content.decode()
    assert mine.reference in page and theirs.reference in page
    page = console.get(url, {"status__exact": "pending"}).content.decode()
    assert mine.reference in page and theirs.reference not in page
    page = console.get(url, {"q": "bob"}).content.decode()
    assert theirs.reference in page and mine.reference not in page
    page = console.get(url, {"q": mine.reference}).content.decode()
    assert mine.reference in page and theirs.reference not in page


def test_the_console_confirms_selected_payments_and_says_how_many(
    console: Client, alice: Customer, bob: Customer, operator: User
) -> None:
    first = services.request_bank_transfer(alice.user, Decimal("10"))
    second = services.request_bank_transfer(bob.user, Decimal("20"))
    done = services.request_bank_transfer(alice.user, Decimal("5"))
    services.confirm(done.pk, operator)
    canceled = services.request_bank_transfer(alice.user, Decimal("7"))
    services.cancel(canceled.pk, alice.user)
    response = console.post(
        reverse("admin:payments_payment_changelist"),
        {"action": "confirm_selected", "_selected_action": [first.pk, second.pk, done.pk, canceled.pk]},
        follow=True,
    )
    text = response.content.decode()
    assert "2 payment(s) confirmed and credited." in text
    assert canceled.reference in text  # reported as left alone
    assert alice.balance() == Decimal("115")
    assert bob.balance() == Decimal("25")
    assert Payment.objects.get(pk=canceled.pk).status == "canceled"
    assert list(mismatches()) == []


def test_the_console_reports_success_and_each_refusal_with_its_level(
    console: Client, alice: Customer, operator: User
) -> None:
    good = services.request_bank_transfer(alice.user, Decimal("10"))
    first = services.request_bank_transfer(alice.user, Decimal("7"))
    second = services.request_bank_transfer(alice.user, Decimal("8"))
    services.cancel(first.pk, alice.user)
    services.cancel(second.pk, alice.user)
    response = console.post(
        reverse("admin:payments_payment_changelist"),
        {"action": "confirm_selected", "_selected_action": [good.pk, first.pk, second.pk]},
        follow=True,
    )
    said = [(m.level_tag, m.message) for m in response.context["messages"]]
    [(_, refusal)] = [(level, text) for level, text in said if level == "warning"]
    assert said[0] == ("success", "1 payment(s) confirmed and credited.")
    references = sorted([first.reference, second.reference])
    shown = refusal.rsplit(": ", 1)[1].split(", ")
    assert sorted(shown) == references
    assert refusal.startswith("Only a pending payment can be confirmed. Left as they were: ")


def test_the_console_rejects_selected_payments(console: Client, alice: Customer, operator: User) -> None:
    payment = services.request_bank_transfer(alice.user, Decimal("10"))
    response = console.post(
        reverse("admin:payments_payment_changelist"),
        {"action": "reject_selected", "_selected_action": [payment.pk]},
        follow=True,
    )
    assert "1 payment(s) rejected." in response.content.decode()
    payment.refresh_from_db()
    assert (payment.status, payment.decided_by) == ("rejected", operator)
    assert alice.balance() == Decimal("100")


def test_the_console_cannot_add_delete_or_change_the_amount(
    console: Client, alice: Customer, operator: User
) -> None:
    payment = services.request_bank_transfer(alice.user, Decimal("10"))
    services.confirm(payment.pk, operator)
    assert console.get(reverse("admin:payments_payment_add")).status_code == 403
    assert console.get(reverse("admin:payments_payment_delete", args=[payment.pk])).status_code == 403
    url = reverse("admin:payments_payment_change", args=[payment.pk])
    assert console.get(url).status_code == 200
    console.post(url, {"amount": "1000", "status": "pending", "note": "checked"})
    payment.refresh_from_db()
    assert (payment.amount, payment.status, payment.note) == (Decimal("10"), "confirmed", "checked")


# The console: adjusting a balance -------------------------------------------------------


def adjust_url(customer: Customer) -> str:
    return reverse("admin:accounts_user_adjust", args=[customer.user.pk])


def test_the_customer_page_links_to_the_balance_adjustment(console: Client, alice: Customer) -> None:
    page = console.get(reverse("admin:accounts_user_change", args=[alice.user.pk])).content.decode()
    assert adjust_url(alice) in page
    form = console.get(adjust_url(alice)).content.decode()
    assert 'name="amount"' in form and 'name="memo"' in form and 'id="adjust-balance"' in form
    assert "csrfmiddlewaretoken" in form


@pytest.mark.parametrize(("amount", "balance"), [("25.5", "125.5"), ("-30", "70"), ("-100", "0")])
def test_the_operator_credits_or_debits_a_balance(
    console: Client, alice: Customer, operator: User, amount: str, balance: str
) -> None:
    response = console.post(adjust_url(alice), {"amount": amount, "memo": "Goodwill"})
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:accounts_user_change", args=[alice.user.pk])
    assert alice.balance() == Decimal(balance)
    entry = LedgerEntry.objects.filter(user=alice.user, kind=LedgerEntry.Kind.ADJUSTMENT).get()
    assert (entry.amount, entry.memo, entry.actor) == (Decimal(amount), "Goodwill", operator)
    assert list(mismatches()) == []


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("", "This field is required."),
        ("ten", "Enter an amount with at most 6 decimal places, such as 25 or -12.50."),
        ("1.1234567", "Enter an amount with at most 6 decimal places, such as 25 or -12.50."),
        ("0", "Enter an amount other than zero."),
        ("-100.01", "The debit is larger than the balance (100.00 USD): nothing was changed."),
    ],
)
def test_a_bad_adjustment_is_explained_and_changes_nothing(
    console: Client, alice: Customer, amount: str, message: str
) -> None:
    response = console.post(adjust_url(alice), {"amount": amount, "memo": "x"})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert alice.balance() == Decimal("100")
    assert not LedgerEntry.objects.filter(user=alice.user, kind=LedgerEntry.Kind.ADJUSTMENT).exists()


def test_only_staff_may_adjust_a_balance(client: Client, alice: Customer, bob: Customer) -> None:
    client.force_login(bob.user)
    response = client.post(adjust_url(alice), {"amount": "1000", "memo": "mine"})
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert alice.balance() == Decimal("100")


def test_the_adjustment_is_csrf_protected(operator: User, alice: Customer) -> None:
    client = past_second_factor(Client(enforce_csrf_checks=True), operator)
    response = client.post(adjust_url(alice), {"amount": "10", "memo": "no token"})
    assert response.status_code == 403
    assert alice.balance() == Decimal("100")


@pytest.mark.django_db(transaction=True)
def test_a_confirm_racing_a_reject_never_credits_a_rejected_payment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reject reads the pending payment and waits there; a confirm comes meanwhile.

    The payment's row lock makes the confirm wait for the reject and then refuse it. Without
    the lock (PostgreSQL) the confirm credits and commits, and the reject then overwrites the
    status: a rejected payment whose money was credited. On SQLite every write transaction
    begins IMMEDIATE, so the confirm waits at BEGIN whatever the lock: the same outcome.
    """
    customer, _key = create_customer("carol", balance=Decimal("0"))
    staff = [create_customer(f"op{n}", staff=True)[0] for n in range(2)]
    payment = services.request_bank_transfer(customer, Decimal("50"))
    holding, confirm_done = threading.Event(), threading.Event()
    locked = services._locked

    def reject_pauses_after_reading(payment_id: int, actor: User | None) -> Payment:
        found = locked(payment_id, actor)
        if threading.current_thread().name == "reject":
            holding.set()
            confirm_done.wait(timeout=1)  # with the lock the confirm cannot finish meanwhile
        return found

    monkeypatch.setattr(services, "_locked", reject_pauses_after_reading)
    results: dict[str, object] = {}

    def run(name: str, call: Callable[[], object]) -> None:
        try:
            results[name] = call()
        except Exception as exc:  # noqa: BLE001 - reported by the assertions below
            results[name] = exc
        finally:
            if name == "confirm":
                confirm_done.set()
            connection.close()

    rejecting = lambda: services.reject(payment.pk, staff[0], "no transfer")  # noqa: E731
    reject = threading.Thread(target=run, name="reject", args=("reject", rejecting))
    reject.start()
    assert holding.wait(timeout=10)
    confirm = threading.Thread(
        target=run, name="confirm", args=("confirm", lambda: services.confirm(payment.pk, staff[1]))
    )
    confirm.start()
    reject.join()
    confirm.join()
    assert results["reject"] is True
    assert isinstance(results["confirm"], PaymentError) and results["confirm"].code == "not_pending"
    assert Payment.objects.get(pk=payment.pk).status == "rejected"
    assert deposits(customer) == [] and customer.balance == Decimal("0")
    assert list(mismatches()) == []


def test_a_decided_payment_refuses_another_decision_and_says_why(alice: Customer, operator: User) -> None:
    confirmed = services.request_bank_transfer(alice.user, Decimal("10"))
    services.confirm(confirmed.pk, operator)
    with pytest.raises(PaymentError) as rejecting:
        services.reject(confirmed.pk, operator, "")
    with pytest.raises(PaymentError) as canceling:
        services.cancel(confirmed.pk, alice.user)
    assert (rejecting.value.code, rejecting.value.message) == (
        "not_pending",
        "Only a pending payment can be rejected.",
    )
    assert (canceling.value.code, canceling.value.message) == (
        "not_pending",
        "Only a pending payment can be canceled.",
    )


@pytest.mark.parametrize("decision", ["reject", "cancel"])
def test_a_rejection_or_cancel_records_when(alice: Customer, operator: User, decision: str) -> None:
    payment = services.request_bank_transfer(alice.user, Decimal("10"))
    if decision == "reject":
        services.reject(payment.pk, operator)  # no note given: none recorded
    else:
        services.cancel(payment.pk, alice.user)
    payment.refresh_from_db()
    assert payment.decided_at is not None and payment.note == ""


@pytest.mark.parametrize(
    ("text", "code", "message"),
    [
        ("abc", "invalid", "Enter an amount, such as 25 or 12.50."),
        ("99999999999999.999999", "above_maximum", "The largest amount is 999999999.999999 USD."),
        ("1000000000", "above_maximum", "The largest amount is 999999999.999999 USD."),
        ("0", "not_positive", "Enter an amount greater than zero."),
        ("-1", "not_positive", "Enter an amount greater than zero."),
        ("1.0000001", "decimals", "Use at most 6 decimal places."),
        ("0.99", "below_minimum", "The smallest amount is 1 USD."),
    ],
)
def test_each_refused_deposit_says_why_in_words(text: str, code: str, message: str) -> None:
    with pytest.raises(PaymentError) as refused:
        services.parse_deposit(text)
    assert (refused.value.code, refused.value.message) == (code, message)


@pytest.mark.parametrize("amount", ["999999999.999999", "1", "12.345678"])
def test_the_bounds_themselves_are_accepted(amount: str) -> None:
    assert services.parse_deposit(amount) == Decimal(amount)


@pytest.mark.parametrize("amount", [Decimal("Infinity"), Decimal("-Infinity"), Decimal("NaN")])
def test_an_amount_that_is_not_finite_is_not_an_amount(amount: Decimal) -> None:
    with pytest.raises(PaymentError) as refused:
        services.check_deposit(amount)
    assert (refused.value.code, refused.value.message) == ("invalid", "Enter an amount, such as 25 or 12.50.")


def test_a_refused_decision_says_why_in_words(alice: Customer) -> None:
    operator = create_customer("olga", staff=True)[0]
    own = services.request_bank_transfer(operator, Decimal("10"))
    for decide in (services.confirm, services.reject):
        with pytest.raises(PaymentError) as refused:
            decide(own.pk, operator)
        assert (refused.value.code, refused.value.message) == (
            "own_payment",
            "You cannot confirm or reject a payment of your own: another operator must.",
        )
    assert Payment.objects.get(pk=own.pk).status == "pending"

    rejected = services.request_bank_transfer(alice.user, Decimal("10"))
    services.reject(rejected.pk, operator)
    with pytest.raises(PaymentError) as refused:
        services.confirm(rejected.pk, operator)
    assert (refused.value.code, refused.value.message) == (
        "not_pending",
        "Only a pending payment can be confirmed.",
    )

    too_much = services.request_bank_transfer(alice.user, Decimal("999999999"))
    with pytest.raises(PaymentError) as refused:
        services.confirm(too_much.pk, operator)
    assert (refused.value.code, refused.value.message) == (
        "balance_limit",
        "This deposit would take the balance past the largest amount the panel keeps.",
    )
    assert Payment.objects.get(pk=too_much.pk).status == "pending"
    assert alice.balance() == Decimal("100")
    assert list(mismatches()) == []


def drawing(monkeypatch: pytest.MonkeyPatch, *codes: str) -> list[str]:
    """Reference draws return these codes in turn (then the last one forever); returns the draws made."""
    from smmpanel.payments import models

    letters = iter("".join(codes))
    last = codes[-1]
    drawn: list[str] = []

    def choice(alphabet: str) -> str:
        letter = next(letters, None)
        if letter is None:
            letter = last[len(drawn) % len(last)]
        drawn.append(letter)
        return letter

    monkeypatch.setattr(models.secrets, "choice", choice)
    return drawn


def test_a_reference_drawn_twice_is_drawn_again(alice: Customer, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = REFERENCE_ALPHABET[0] * 8, REFERENCE_ALPHABET[1] * 8
    drawing(monkeypatch, a, a, b)
    first = services.request_bank_transfer(alice.user, Decimal("10"))
    second = services.request_bank_transfer(alice.user, Decimal("11"))
    assert (first.reference, second.reference) == (f"SMM-{a}", f"SMM-{b}")
    assert second.method == Payment.Method.BANK_TRANSFER


def test_drawing_gives_up_after_five_collisions(alice: Customer, monkeypatch: pytest.MonkeyPatch) -> None:
    a = REFERENCE_ALPHABET[0] * 8
    drawn = drawing(monkeypatch, a)
    services.request_bank_transfer(alice.user, Decimal("10"))
    with pytest.raises(RuntimeError, match="^could not draw a unique payment reference$"):
        services.request_bank_transfer(alice.user, Decimal("11"))
    assert len(drawn) == 8 * (1 + 5)
    assert Payment.objects.count() == 1


def test_a_panel_run_in_spanish_stores_the_deposit_memo_in_spanish(
    alice: Customer, operator: User, settings: object
) -> None:
    # The memo follows the panel's language, whatever it is, not just English.
    settings.LANGUAGE_CODE = "es"  # type: ignore[attr-defined]
    payment = services.request_bank_transfer(alice.user, Decimal("3"))
    with translation.override("en"):
        services.confirm(payment.pk, operator)
    [entry] = deposits(alice.user)
    assert entry.memo == f"Transferencia bancaria {payment.reference}"
