"""No save of a row read earlier can put back money or state that moved in between.

Every path that saves a customer (the settings form, the password forms, the
admin, the sign-in, the CLI ...) is run with a charge and a refund committed
from another connection after the path has read the customer and before it
writes: the balance must keep both, and the ledger check must pass. Then the
same race in earnest: threads saving settings and changing the password while
threads place orders.
"""

import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any
from unittest import mock

import httpx
import pytest
from conftest import Catalogue, Customer
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from staff import past_second_factor

from smmpanel.accounts.models import User
from smmpanel.catalog.models import Category, Service
from smmpanel.catalog.types import ServiceType
from smmpanel.ledger.accounts import create_customer
from smmpanel.ledger.models import Account, LedgerEntry
from smmpanel.ledger.services import mismatches, post
from smmpanel.orders.models import Order
from smmpanel.payments.models import Payment

PASSWORD = "Harbour-lights-42"
CHARGE, REFUND = Decimal("10.25"), Decimal("4.5")
AFTER_BOTH = Decimal("100") - CHARGE + REFUND  # alice starts with 100

pytestmark = pytest.mark.django_db(transaction=True)


def _charge_and_refund(user_id: int, tag: str) -> None:
    with transaction.atomic():
        post(user_id, -CHARGE, LedgerEntry.Kind.CHARGE, f"test:charge:{tag}")
    with transaction.atomic():
        post(user_id, REFUND, LedgerEntry.Kind.REFUND, f"test:refund:{tag}")


def _from_another_connection(user_id: int, tag: str) -> None:
    if connection.vendor == "sqlite" and connection.in_atomic_block:
        # The path holds SQLite's write lock (BEGIN IMMEDIATE): no other connection can commit
        # until it ends, so the only interleaving there can be is a write on its own connection.
        _charge_and_refund(user_id, tag)
        return

    def run() -> None:
        try:
            _charge_and_refund(user_id, tag)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive()


@pytest.fixture
def money_moves_after_load(monkeypatch: pytest.MonkeyPatch) -> Callable[[User], list[str]]:
    """Arm: the first time `user` is read from the database, another connection then commits a
    charge and a refund of theirs, before the path goes on with the row it has just read."""

    def arm(user: User) -> list[str]:
        fired: list[str] = []
        original = User.from_db.__func__  # type: ignore[attr-defined]

        def from_db(cls: type[User], db: str | None, names: Any, values: Any) -> User:
            instance: User = original(cls, db, names, values)
            if instance.pk == user.pk and not fired:
                fired.append("moved")
                _from_another_connection(user.pk, f"{user.pk}:{len(LedgerEntry.objects.all())}")
            return instance

        monkeypatch.setattr(User, "from_db", classmethod(from_db))
        return fired

    return arm


def assert_money_kept(user: User, fired: list[str], expected: Decimal = AFTER_BOTH) -> None:
    assert fired == ["moved"], "the path never read the customer: the test proves nothing"
    assert User.objects.get(pk=user.pk).balance == expected
    assert list(mismatches()) == []
    call_command("check_ledger")  # raises CommandError on any mismatch


@pytest.fixture
def signed_in(alice: Customer) -> Client:
    alice.user.set_password(PASSWORD)
    alice.user.save(update_fields=["password"])
    client = Client()
    client.force_login(alice.user)
    return client


class TestEveryPathThatSavesACustomer:
    def test_the_settings_form(self, alice: Customer, signed_in: Client, money_moves_after_load: Any) -> None:
        fired = money_moves_after_load(alice.user)
        response = signed_in.post(reverse("settings"), {"language": "es", "timezone": "America/Bogota"})
        assert response.status_code == 302
        assert_money_kept(alice.user, fired)
        assert User.objects.values_list("language", "timezone").get(pk=alice.user.pk) == (
            "es",
            "America/Bogota",
        )

    def test_the_password_change(
        self, alice: Customer, signed_in: Client, money_moves_after_load: Any
    ) -> None:
        fired = money_moves_after_load(alice.user)
        new = "New-harbour-73"
        response = signed_in.post(
            reverse("password_change"),
            {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
        )
        assert response["Location"] == reverse("settings")
        assert_money_kept(alice.user, fired)
        assert User.objects.get(pk=alice.user.pk).check_password(new)

    def test_the_password_reset(self, alice: Customer, money_moves_after_load: Any) -> None:
        client = Client()
        uid = urlsafe_base64_encode(force_bytes(alice.user.pk))
        token = default_token_generator.make_token(alice.user)
        response = client.get(reverse("password_reset_confirm", args=[uid, token]), follow=True)
        form_url = response.redirect_chain[-1][0]
        fired = money_moves_after_load(alice.user)
        new = "Another-harbour-72"
        response = client.post(form_url, {"new_password1": new, "new_password2": new})
        assert response["Location"] == reverse("password_reset_complete")
        assert_money_kept(alice.user, fired)
        assert User.objects.get(pk=alice.user.pk).check_password(new)

    def test_the_sign_up_confirmation(self, money_moves_after_load: Any) -> None:
        client = Client()
        response = client.post(
            reverse("signup"),
            {"username": "dora", "email": "dora@example.com", "password1": PASSWORD, "password2": PASSWORD},
        )
        assert response.status_code == 302
        dora = User.objects.get(username="dora")
        with transaction.atomic():
            post(dora.pk, Decimal("100"), LedgerEntry.Kind.DEPOSIT, "test:deposit:dora")
        link = re.search(r"https?://\S+/signup/confirm/\S+/", mail.outbox[0].body)
        assert link
        fired = money_moves_after_load(dora)
        assert client.get(link.group(0))["Location"] == reverse("login")
        assert_money_kept(dora, fired)
        assert User.objects.get(pk=dora.pk).email_confirmed

    def test_the_sign_in(self, alice: Customer, money_moves_after_load: Any) -> None:
        alice.user.set_password(PASSWORD)
        alice.user.save(update_fields=["password"])
        fired = money_moves_after_load(alice.user)
        response = Client().post(reverse("login"), {"username": "alice", "password": PASSWORD})
        assert response["Location"] == reverse("dashboard")
        assert_money_kept(alice.user, fired)
        assert User.objects.get(pk=alice.user.pk).last_login is not None

    def test_the_language_switch(
        self, alice: Customer, signed_in: Client, money_moves_after_load: Any
    ) -> None:
        fired = money_moves_after_load(alice.user)
        response = signed_in.post(reverse("set_language"), {"language": "es", "next": "/"})
        assert response.status_code == 302
        assert_money_kept(alice.user, fired)
        assert User.objects.get(pk=alice.user.pk).language == "es"

    def test_the_admin_change_form(self, alice: Customer, money_moves_after_load: Any) -> None:
        User.objects.create_superuser("root", "root@example.com", PASSWORD)
        client = past_second_factor(Client(), User.objects.get(username="root"))
        url = reverse("admin:accounts_user_change", args=[alice.user.pk])
        joined = alice.user.date_joined
        fired = money_moves_after_load(alice.user)
        response = client.post(
            url,
            {
                "username": "alice",
                "first_name": "Alice",
                "last_name": "Liddell",
                "email": "alice@example.com",
                "is_active": "on",
                "api_enabled": "on",
                "date_joined_0": joined.strftime("%Y-%m-%d"),
                "date_joined_1": joined.strftime("%H:%M:%S"),
            },
        )
        assert response.status_code == 302, response.content.decode()[:2000]
        assert_money_kept(alice.user, fired)
        assert User.objects.get(pk=alice.user.pk).first_name == "Alice"

    def test_the_credit_command(self, alice: Customer, money_moves_after_load: Any) -> None:
        fired = money_moves_after_load(alice.user)
        call_command("user", "credit", "alice", "5", "--memo", "goodwill")
        assert_money_kept(alice.user, fired, AFTER_BOTH + 5)

    def test_djangos_changepassword_command(self, alice: Customer, money_moves_after_load: Any) -> None:
        fired = money_moves_after_load(alice.user)
        with mock.patch("getpass.getpass", return_value="Third-harbour-71"):
            call_command("changepassword", "alice", stdout=mock.MagicMock())
        assert_money_kept(alice.user, fired)
        assert User.objects.get(pk=alice.user.pk).check_password("Third-harbour-71")

    def test_a_plain_save_in_a_shell(self, alice: Customer) -> None:
        user = User.objects.get(pk=alice.user.pk)
        _from_another_connection(user.pk, "shell")
        user.first_name = "Alice"
        user.save()
        assert User.objects.get(pk=user.pk).balance == AFTER_BOTH
        assert list(mismatches()) == []


class TestTheBalanceHasOneWriter:
    def test_the_account_row_refuses_an_ordinary_save(self, alice: Customer) -> None:
        account = Account.objects.get(user=alice.user)
        account.balance = Decimal("1000000")
        with pytest.raises(ValueError, match="ledger"):
            account.save()
        assert alice.balance() == Decimal("100")

    def test_the_balance_cannot_be_set_on_the_user(self, alice: Customer) -> None:
        with pytest.raises(AttributeError):
            alice.user.balance = Decimal("1000000")  # type: ignore[misc]

    def test_the_admin_shows_the_balance_but_offers_no_field_for_it(self, alice: Customer) -> None:
        User.objects.create_superuser("root", "root@example.com", PASSWORD)
        client = past_second_factor(Client(), User.objects.get(username="root"))
        page = client.get(reverse("admin:accounts_user_change", args=[alice.user.pk])).content.decode()
        assert "100.00" in page
        assert 'name="balance"' not in page


class TestOtherRowsReadEarlier:
    """Order, payment and service rows keep what another transaction committed in between."""

    def test_a_stale_order_keeps_its_status_and_remains(self, alice: Customer, catalogue: Catalogue) -> None:
        order = Order.objects.create(
            user=alice.user,
            service=catalogue.default,
            link="https://instagram.com/alice",
            quantity=100,
            charge=Decimal("0.09"),
            created_at=timezone.now(),
            updated_at=timezone.now(),
        )
        stale = Order.objects.get(pk=order.pk)
        Order.objects.filter(pk=order.pk).update(status=Order.Status.PARTIAL, remains=40)
        stale.provider_order_id = "upstream-7"
        stale.save()
        fresh = Order.objects.get(pk=order.pk)
        assert (fresh.status, fresh.remains, fresh.provider_order_id) == (
            Order.Status.PARTIAL,
            40,
            "upstream-7",
        )

    def test_a_stale_payment_keeps_its_state(self, alice: Customer) -> None:
        payment = Payment.objects.create(user=alice.user, amount=Decimal("25"))
        stale = Payment.objects.get(pk=payment.pk)
        Payment.objects.filter(pk=payment.pk).update(status=Payment.Status.CONFIRMED)
        stale.note = "checked by phone"
        stale.save()
        fresh = Payment.objects.get(pk=payment.pk)
        assert (fresh.status, fresh.note) == (Payment.Status.CONFIRMED, "checked by phone")

    def test_a_stale_service_stays_disabled(self, catalogue: Catalogue) -> None:
        stale = Service.objects.get(pk=catalogue.default.pk)
        Service.objects.filter(pk=stale.pk).update(enabled=False)
        stale.description = "Now with a refill button"
        stale.save()
        fresh = Service.objects.get(pk=stale.pk)
        assert (fresh.enabled, fresh.description) == (False, "Now with a refill button")

    def test_a_save_that_changes_nothing_writes_nothing(self, catalogue: Catalogue) -> None:
        service = Service.objects.get(pk=catalogue.default.pk)
        with CaptureQueriesContext(connection) as queries:
            service.save()
        assert [q["sql"] for q in queries.captured_queries] == []

    def test_a_new_row_and_a_refreshed_row_save_as_usual(self, catalogue: Catalogue) -> None:
        category = Category.objects.create(name="New")
        category.refresh_from_db()
        Category.objects.filter(pk=category.pk).update(sort_order=9)
        category.refresh_from_db(fields=["sort_order"])
        category.name = "Renamed"
        category.save()
        assert Category.objects.values_list("name", "sort_order").get(pk=category.pk) == ("Renamed", 9)


# The race as it was reproduced: threads saving settings and changing the password while
# threads place orders through the API. Each thread is its own database connection.

SAVERS, ORDERERS, ADDS_EACH = 3, 5, 16
AFFORDABLE = 50  # a balance of 50, each order costs exactly 1


@pytest.fixture
def one_unit_service() -> Service:
    category = Category.objects.create(name="Race", sort_order=1)
    return Service.objects.create(
        category=category, name="Followers", type=ServiceType.DEFAULT, rate=Decimal("1"), min=10, max=10000
    )


def _thread_client(user_id: int) -> Client:
    client = Client()
    client.force_login(User.objects.get(pk=user_id))  # fresh: the password may have changed
    return client


def _save_settings(user_id: int, stop: threading.Event, once: threading.Event) -> int:
    saved = 0
    try:
        client = _thread_client(user_id)
        while not stop.is_set():
            language = "es" if saved % 2 else "en"
            response = client.post(reverse("settings"), {"language": language, "timezone": "UTC"})
            if response["Location"] == reverse("settings"):
                saved += 1
                once.set()
            else:  # signed out by the password change: sign in again
                client = _thread_client(user_id)
    finally:
        connection.close()
    return saved


def _change_password(user_id: int, stop: threading.Event, once: threading.Event) -> int:
    changed = 0
    passwords = ["Race-harbour-1", "Race-harbour-2"]
    try:
        client = _thread_client(user_id)
        old = PASSWORD
        while not stop.is_set():
            new = passwords[changed % 2]
            form = {"old_password": old, "new_password1": new, "new_password2": new}
            response = client.post(reverse("password_change"), form)
            assert response["Location"] == reverse("settings")
            old, changed = new, changed + 1
            once.set()
    finally:
        connection.close()
    return changed


def _add_orders(key: str, service_id: int, first: int, racing: list[threading.Event]) -> list[Any]:
    """Half the orders, then wait until a save and a password change have both landed, then
    the rest: on a loaded machine the orders could otherwise all be placed before the first
    (slow, hashing) password change, and the race would not happen."""
    answers = []
    try:
        from smmpanel.wsgi import application  # the reseller API is served beside Django's URLs

        with httpx.Client(
            transport=httpx.WSGITransport(app=application), base_url="http://testserver"
        ) as api:
            for n in range(first, first + ADDS_EACH):
                if n == first + ADDS_EACH // 2:
                    assert all(event.wait(timeout=120) for event in racing), "no save or no change"
                link = f"https://instagram.com/racer/post{n}"
                form = {
                    "key": key,
                    "action": "add",
                    "service": str(service_id),
                    "link": link,
                    "quantity": "1000",
                }
                answers.append(api.post("/api/v2", data=form).json())
    finally:
        connection.close()
    return answers


def test_saving_settings_and_passwords_while_orders_are_charged_mints_nothing(
    one_unit_service: Service, settings: Any
) -> None:
    settings.SMMPANEL_API_RATE = 0  # hundreds of requests on one key
    user, key = create_customer("racer", email="racer@example.com", balance=Decimal(AFFORDABLE))
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    stop, saved, changed = threading.Event(), threading.Event(), threading.Event()
    with ThreadPoolExecutor(max_workers=SAVERS + 1 + ORDERERS) as pool:
        savers = [pool.submit(_save_settings, user.pk, stop, saved) for _ in range(SAVERS)]
        changer = pool.submit(_change_password, user.pk, stop, changed)
        orderers = [
            pool.submit(_add_orders, key, one_unit_service.pk, n * ADDS_EACH, [saved, changed])
            for n in range(ORDERERS)
        ]
        try:
            answers = [answer for future in orderers for answer in future.result(timeout=300)]
        finally:
            stop.set()
        saves, changes = sum(f.result(timeout=60) for f in savers), changer.result(timeout=60)

    assert saves > 0 and changes > 0, "the race never happened"
    placed = [a for a in answers if list(a) == ["order"]]
    refused = [a for a in answers if a == {"error": "Not enough funds on balance"}]
    assert (len(placed), len(refused)) == (AFFORDABLE, ORDERERS * ADDS_EACH - AFFORDABLE), answers
    assert Order.objects.filter(user=user).count() == AFFORDABLE
    assert User.objects.get(pk=user.pk).balance == Decimal("0")
    assert list(mismatches()) == []


@pytest.fixture(autouse=True)
def _no_leftover_threads() -> Iterator[None]:
    before = threading.active_count()
    yield
    assert threading.active_count() <= before
