"""The console's money and state actions: each needs its own permission, and nobody decides for themselves.

A staff user may only do what their permissions say: viewing payments does not let
them confirm one, editing a customer does not let them move a balance. And no
operator, superusers included, confirms or rejects a payment of their own or
adjusts their own balance, whatever path they take.
"""

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from conftest import Catalogue, Customer
from django.contrib import admin as django_admin
from django.contrib import messages
from django.contrib.auth.models import Permission
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice
from staff import past_second_factor

from smmpanel.accounts.models import User
from smmpanel.ledger import accounts
from smmpanel.ledger import services as ledger
from smmpanel.ledger.models import LedgerEntry
from smmpanel.ledger.services import mismatches
from smmpanel.orders.models import Order, Refill
from smmpanel.payments import services
from smmpanel.payments.models import Payment
from smmpanel.payments.services import PaymentError

PAYMENTS = "admin:payments_payment_changelist"


def staff(name: str, *codenames: str) -> User:
    """A staff user (not a superuser) holding exactly these permissions."""
    user = User.objects.create_user(name, f"{name}@example.com", "staff-password-1", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    assert user.user_permissions.count() == len(codenames)
    return user


def console_for(user: User) -> Client:
    return past_second_factor(Client(), user)


def change_form(console: Client, url: str) -> dict[str, Any]:
    """The admin change form's current values, as the browser would post them back."""
    form = console.get(url).context["adminform"].form
    data: dict[str, Any] = {}
    for name in form.fields:
        value = form[name].value()
        if isinstance(value, datetime):  # a split date and time widget
            data.update({f"{name}_0": value.date().isoformat(), f"{name}_1": value.strftime("%H:%M:%S")})
        elif value is True:
            data[name] = "on"
        elif value is not None and value is not False:
            data[name] = value
    return data


@pytest.fixture
def operator(db: None) -> User:
    return User.objects.create_superuser("operator", "operator@example.com", "operator-password-1")


def run_action(console: Client, action: str, payment: Payment) -> str:
    response = console.post(
        reverse(PAYMENTS), {"action": action, "_selected_action": [payment.pk]}, follow=True
    )
    assert response.status_code == 200
    return response.content.decode()


def deposits() -> int:
    return LedgerEntry.objects.filter(kind=LedgerEntry.Kind.DEPOSIT, reference__startswith="payment:").count()


# Payments: the permission ---------------------------------------------------------------


def test_a_view_only_staff_is_not_offered_confirm_or_reject(alice: Customer) -> None:
    services.request_bank_transfer(alice.user, Decimal("10"))
    page = console_for(staff("viewer", "view_payment")).get(reverse(PAYMENTS))
    assert page.status_code == 200
    text = page.content.decode()
    assert "SMM-" in text  # the payment is listed ...
    assert "confirm_selected" not in text and "reject_selected" not in text  # ... but not decidable


@pytest.mark.parametrize("action", ["confirm_selected", "reject_selected"])
def test_a_forged_action_from_a_view_only_staff_changes_nothing(alice: Customer, action: str) -> None:
    payment = services.request_bank_transfer(alice.user, Decimal("10"))
    run_action(console_for(staff("viewer", "view_payment", "change_payment")), action, payment)
    payment.refresh_from_db()
    assert (payment.status, payment.decided_by) == ("pending", None)
    assert alice.balance() == Decimal("100") and deposits() == 0


def test_staff_with_the_confirm_permission_confirm_but_cannot_reject(alice: Customer) -> None:
    cashier = staff("cashier", "view_payment", "confirm_payment")
    console = console_for(cashier)
    assert "reject_selected" not in console.get(reverse(PAYMENTS)).content.decode()
    first = services.request_bank_transfer(alice.user, Decimal("10"))
    run_action(console, "reject_selected", first)
    assert Payment.objects.get(pk=first.pk).status == "pending"
    assert "1 payment(s) confirmed and credited." in run_action(console, "confirm_selected", first)
    first.refresh_from_db()
    assert (first.status, first.decided_by) == ("confirmed", cashier)
    assert alice.balance() == Decimal("110") and list(mismatches()) == []


def test_staff_with_the_reject_permission_reject_but_cannot_confirm(alice: Customer) -> None:
    clerk = staff("clerk", "view_payment", "reject_payment")
    console = console_for(clerk)
    payment = services.request_bank_transfer(alice.user, Decimal("10"))
    run_action(console, "confirm_selected", payment)
    assert Payment.objects.get(pk=payment.pk).status == "pending" and deposits() == 0
    assert "1 payment(s) rejected." in run_action(console, "reject_selected", payment)
    payment.refresh_from_db()
    assert (payment.status, payment.decided_by) == ("rejected", clerk)
    assert alice.balance() == Decimal("100")


# Payments: never one's own --------------------------------------------------------------


@pytest.mark.parametrize("action", ["confirm_selected", "reject_selected"])
def test_a_superuser_cannot_decide_their_own_payment(alice: Customer, operator: User, action: str) -> None:
    own = services.request_bank_transfer(operator, Decimal("1000000"))
    theirs = services.request_bank_transfer(alice.user, Decimal("10"))
    response = console_for(operator).post(
        reverse(PAYMENTS), {"action": action, "_selected_action": [own.pk, theirs.pk]}, follow=True
    )
    text = response.content.decode()
    assert "You cannot confirm or reject a payment of your own" in text and own.reference in text
    own.refresh_from_db()
    assert (own.status, own.decided_by, own.decided_at) == ("pending", None, None)
    assert operator.balance == Decimal("0")
    assert Payment.objects.get(pk=theirs.pk).status != "pending"  # the others go ahead
    assert list(mismatches()) == []


@pytest.mark.parametrize("decide", [services.confirm, services.reject])
def test_the_payment_service_refuses_a_decision_on_ones_own_payment(operator: User, decide: object) -> None:
    own = services.request_bank_transfer(operator, Decimal("50"))
    with pytest.raises(PaymentError) as refused:
        decide(own.pk, operator)  # type: ignore[operator]
    assert refused.value.code == "own_payment"
    own.refresh_from_db()
    assert (own.status, own.decided_by) == ("pending", None)
    assert operator.balance == Decimal("0") and deposits() == 0


# Adjusting a balance --------------------------------------------------------------------


def adjust(console: Client, customer: User, amount: str = "1000") -> int:
    url = reverse("admin:accounts_user_adjust", args=[customer.pk])
    return console.post(url, {"amount": amount, "memo": "x"}).status_code


def adjustments() -> int:
    return LedgerEntry.objects.filter(kind=LedgerEntry.Kind.ADJUSTMENT).count()


def test_editing_customers_does_not_let_staff_adjust_a_balance(alice: Customer) -> None:
    support = staff("support", "view_user", "change_user")
    console = console_for(support)
    assert console.get(reverse("admin:accounts_user_adjust", args=[alice.user.pk])).status_code == 403
    assert adjust(console, alice.user) == 403
    assert alice.balance() == Decimal("100") and adjustments() == 0


def test_the_customer_page_offers_the_adjustment_only_to_staff_who_may_make_it(alice: Customer) -> None:
    url = reverse("admin:accounts_user_change", args=[alice.user.pk])
    adjust_url = reverse("admin:accounts_user_adjust", args=[alice.user.pk])
    support = console_for(staff("support", "view_user", "change_user")).get(url).content.decode()
    assert "100.000000" in support, "the balance is shown to whoever sees the customer"
    assert adjust_url not in support and "Adjust balance" not in support
    finance = console_for(staff("finance", "view_user", "adjust_balance")).get(url).content.decode()
    assert "100.000000" in finance and adjust_url in finance and "Adjust balance" in finance


def test_the_customer_list_shows_balances(alice: Customer) -> None:
    console = console_for(staff("support", "view_user"))
    page = console.get(reverse("admin:accounts_user_changelist")).content.decode()
    assert "column-balance" in page and "100.000000" in page


def test_staff_with_the_adjust_permission_adjust_a_customers_balance(alice: Customer) -> None:
    finance = staff("finance", "view_user", "adjust_balance")
    assert adjust(console_for(finance), alice.user, "25") == 302
    assert alice.balance() == Decimal("125")
    assert LedgerEntry.objects.get(kind=LedgerEntry.Kind.ADJUSTMENT).actor == finance


def test_nobody_adjusts_their_own_balance_in_the_console(operator: User) -> None:
    console = console_for(operator)
    response = console.post(
        reverse("admin:accounts_user_adjust", args=[operator.pk]),
        {"amount": "1000", "memo": "x"},
        follow=True,
    )
    assert response.redirect_chain == [(reverse("admin:accounts_user_change", args=[operator.pk]), 302)]
    assert said(response) == [(messages.ERROR, "You cannot adjust your own balance: another operator must.")]
    assert operator.balance == Decimal("0") and adjustments() == 0


def said(response: Any) -> list[tuple[int, str]]:
    return [(message.level, message.message) for message in response.context["messages"]]


def finance_console() -> Client:
    return console_for(staff("finance", "view_user", "adjust_balance"))


def with_cents(customer: Customer) -> Customer:
    """The customer's balance with all six decimals in use (100.123456): every one is shown."""
    accounts.credit(customer.user, Decimal("0.123456"), memo="cents")
    return customer


def test_the_adjust_page_names_the_customer_and_shows_their_balance(alice: Customer) -> None:
    page = finance_console().get(reverse("admin:accounts_user_adjust", args=[with_cents(alice).user.pk]))
    assert page.status_code == 200 and page.context["title"] == "Adjust the balance of alice"
    html = page.content.decode()
    assert "<title>Adjust the balance of alice | " in html and "Current balance: 100.123456 USD." in html
    assert f'<a href="{reverse("admin:accounts_user_change", args=[alice.user.pk])}">alice</a>' in html
    assert 'name="amount"' in html and 'name="memo"' in html and adjustments() == 1


def test_there_is_no_adjust_page_for_a_customer_who_does_not_exist(db: None) -> None:
    assert finance_console().get(reverse("admin:accounts_user_adjust", args=[999])).status_code == 404


def test_an_adjustment_takes_the_operator_back_to_the_customer_with_the_new_balance(alice: Customer) -> None:
    response = finance_console().post(
        reverse("admin:accounts_user_adjust", args=[with_cents(alice).user.pk]),
        {"amount": "25", "memo": "  goodwill  "},
        follow=True,
    )
    assert response.redirect_chain == [(reverse("admin:accounts_user_change", args=[alice.user.pk]), 302)]
    assert said(response) == [(messages.SUCCESS, "The balance of alice is now 125.123456 USD.")]
    entry = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.ADJUSTMENT).latest("id")
    assert (entry.amount, entry.memo, entry.actor.username) == (Decimal("25"), "goodwill", "finance")


@pytest.mark.parametrize(
    ("amount", "refusal"),
    [
        ("-100.2", "The debit is larger than the balance (100.123456 USD): nothing was changed."),
        (
            "999999900",
            "The credit would take the balance past the largest amount, 999,999,999.999999: nothing changed.",
        ),
        ("ten", "Enter an amount with at most 6 decimal places, such as 25 or -12.50."),
    ],
)
def test_an_adjustment_refused_says_why_on_the_form_and_changes_nothing(
    alice: Customer, amount: str, refusal: str
) -> None:
    url = reverse("admin:accounts_user_adjust", args=[with_cents(alice).user.pk])
    response = finance_console().post(url, {"amount": amount, "memo": "x"})
    assert response.status_code == 200 and response.context["form"].errors == {"amount": [refusal]}
    assert refusal in response.content.decode()
    assert alice.balance() == Decimal("100.123456") and adjustments() == 1


def test_the_adjust_page_is_the_customer_page_plus_adjust_and_staff_only(alice: Customer) -> None:
    """Read from the admin's own URL list: built once per process, mutmut's stats see it
    from the one test that loaded the URLs first, so this test builds it again itself."""
    adjust, *_others = django_admin.site._registry[User].get_urls()
    match = adjust.resolve(f"{alice.user.pk}/adjust/")
    assert match is not None and match.kwargs == {"user_id": alice.user.pk}
    assert adjust.name == "accounts_user_adjust"
    assert adjust.resolve(f"{alice.user.pk}/adjust/more/") is None
    finance = staff("finance", "view_user", "adjust_balance")
    device = TOTPDevice.objects.create(user=finance, name="authenticator", confirmed=True)
    assert match.func(verified_request(finance, device), **match.kwargs).status_code == 200
    # not staff: sent to sign in
    assert match.func(verified_request(alice.user, None), **match.kwargs).status_code == 302


def verified_request(user: User, device: TOTPDevice | None) -> HttpRequest:
    """A request as the middleware leaves it: a session, the user, django-otp's second factor."""
    request = RequestFactory().get("/")
    SessionMiddleware(lambda request: HttpResponse()).process_request(request)
    request.user = user
    request.user.otp_device = device  # type: ignore[attr-defined]
    request.user.is_verified = lambda: device is not None  # type: ignore[attr-defined]
    return request


def test_the_ledger_refuses_an_adjustment_by_the_account_holder(operator: User) -> None:
    with pytest.raises(ledger.OwnBalance):
        ledger.adjust(operator, Decimal("1000"), actor=operator, memo="mine", reference="adjustment:own")
    assert operator.balance == Decimal("0") and adjustments() == 0


# Staff cannot raise their own rights ----------------------------------------------------


def test_staff_who_edit_users_cannot_make_themselves_superuser_or_grant_permissions(db: None) -> None:
    support = staff("support", "view_user", "change_user")
    adjust_balance = Permission.objects.get(codename="adjust_balance")
    url = reverse("admin:accounts_user_change", args=[support.pk])
    data = change_form(console_for(support), url)
    data.update(is_superuser="on", user_permissions=[adjust_balance.pk], email="new@example.com")
    response = console_for(support).post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    support.refresh_from_db()
    assert support.email == "new@example.com"  # an ordinary edit goes through ...
    assert not support.is_superuser and not support.has_perm("accounts.adjust_balance")  # ... rights do not


def test_staff_who_edit_users_cannot_take_over_a_superuser(operator: User) -> None:
    console = console_for(staff("support", "view_user", "change_user"))
    url = reverse("admin:auth_user_password_change", args=[operator.pk]).replace("auth/user", "accounts/user")
    response = console.post(url, {"password1": "taken-over-99", "password2": "taken-over-99"})
    assert response.status_code == 403
    operator.refresh_from_db()
    assert operator.check_password("operator-password-1")


# Orders, refills and the catalogue ------------------------------------------------------


def test_refills_change_state_only_through_the_order_services(
    operator: User, alice: Customer, catalogue: Catalogue
) -> None:
    order = Order.objects.create(
        user=alice.user,
        service=catalogue.default,
        quantity=10,
        charge=Decimal("0.01"),
        created_at="2026-01-01T00:00Z",
        updated_at="2026-01-01T00:00Z",
    )
    refill = Refill.objects.create(order=order, user=alice.user)
    console = console_for(operator)
    url = reverse("admin:orders_refill_change", args=[refill.pk])
    assert console.get(url).status_code == 200
    console.post(url, {"order": order.pk, "user": alice.user.pk, "status": "completed"})
    refill.refresh_from_db()
    assert refill.status == Refill.Status.PENDING
    assert console.get(reverse("admin:orders_refill_add")).status_code == 403
    assert console.get(reverse("admin:orders_refill_delete", args=[refill.pk])).status_code == 403


def test_an_orders_history_is_shown_and_cannot_be_written_in_the_console(
    operator: User, alice: Customer, catalogue: Catalogue
) -> None:
    order = Order.objects.create(
        user=alice.user,
        service=catalogue.default,
        quantity=10,
        charge=Decimal("0.01"),
        created_at="2026-01-01T00:00Z",
        updated_at="2026-01-01T00:00Z",
    )
    order.events.create(kind="created", data={"source": "web"}, created_at="2026-01-01T00:00Z")
    console = console_for(operator)
    url = reverse("admin:orders_order_change", args=[order.pk])
    page = console.get(url).content.decode()
    assert "created" in page and "source" in page  # the history is there ...
    assert 'name="events-0-kind"' not in page and 'name="events-0-DELETE"' not in page  # ... to read
    assert "events-empty" not in page  # no row to add one
    console.post(url, {"events-TOTAL_FORMS": "1", "events-INITIAL_FORMS": "1", "events-0-kind": "forged"})
    assert list(order.events.values_list("kind", flat=True)) == ["created"]


@pytest.mark.parametrize(
    ("rights", "rate"), [(("view_service",), "0.90"), (("view_service", "change_service"), "0.000001")]
)
def test_only_staff_who_may_change_services_reprice_them(
    catalogue: Catalogue, operator: User, rights: tuple[str, ...], rate: str
) -> None:
    service = catalogue.default
    url = reverse("admin:catalog_service_change", args=[service.pk])
    form = change_form(console_for(operator), url)
    console = console_for(staff("viewer", *rights))
    assert console.get(url).status_code == 200
    console.post(url, {**form, "rate": "0.000001"})
    changelist = reverse("admin:catalog_service_changelist")
    console.post(changelist, {"action": "delete_selected", "_selected_action": [service.pk], "post": "yes"})
    service.refresh_from_db()
    assert service.rate == Decimal(rate)  # not deleted either: only a delete_service right would
