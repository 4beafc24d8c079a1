"""The console's customers: the list, a customer's page, and what staff do to a customer
(adjust the balance, set their prices, API access, keys, suspension, signing in as them), each
with its effect, its ledger entry where money moves, its audit record, its refusals, and a 403 for
every role that may not."""

import re
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from staff import make_staff, signed_in

from smmpanel.accounts.models import ApiKey, AuditRecord, User
from smmpanel.catalog.models import CustomerDiscount, CustomRate, Provider, Service
from smmpanel.console.impersonation import KEY
from smmpanel.engine.worker import Worker
from smmpanel.ledger.models import LedgerEntry
from smmpanel.orders.models import Order
from smmpanel.payments.models import Payment

pytestmark = pytest.mark.django_db

ROLES = ["administrator", "support", "finance"]
HOSTILE = '"><img src=x onerror=alert(1)><script>alert(2)</script>'


def url(name: str, customer: User) -> str:
    return reverse(f"console:{name}", args=[customer.pk])


def audits(action: str) -> list[AuditRecord]:
    return list(AuditRecord.objects.filter(action=action).order_by("id"))


def page_of(response: Any) -> str:
    return response.content.decode()


@pytest.fixture
def ada() -> User:
    return make_staff("ada", "administrator")


@pytest.fixture
def admin(ada: User) -> Client:
    return signed_in(ada)


# --- The list ----------------------------------------------------------------------------------


def test_the_list_shows_customers_with_their_money_and_orders_not_the_staff(
    admin, alice, bob, catalogue, api
):
    api.post("v2", key=alice.key, action="add", service=catalogue.default.pk, link="x.com/a", quantity=1000)
    text = page_of(admin.get(reverse("console:customers")))
    rows = dict(re.findall(r'<tr data-customer="(\d+)">(.*?)</tr>', text, re.S))
    assert set(rows) == {str(alice.user.pk), str(bob.user.pk)}  # not ada, a member of staff
    assert "99.10 USD" in rows[str(alice.user.pk)] and "0.90 USD" in rows[str(alice.user.pk)]
    assert re.search(r'data-label="Orders" class="num">1<', rows[str(alice.user.pk)])
    assert "5.00 USD" in rows[str(bob.user.pk)] and "never" in rows[str(bob.user.pk)]
    assert reverse("console:customers") in text  # the menu entry


def test_the_list_searches_by_username_or_email_and_filters_by_status(admin, alice, bob):
    bob.user.email = "robert@example.org"
    bob.user.save(update_fields=["email"])
    User.objects.filter(pk=alice.user.pk).update(api_enabled=False)
    found = page_of(admin.get(reverse("console:customers"), {"q": "EXAMPLE.ORG"}))
    assert f'data-customer="{bob.user.pk}"' in found and f'data-customer="{alice.user.pk}"' not in found
    found = page_of(admin.get(reverse("console:customers"), {"q": "ali"}))
    assert f'data-customer="{alice.user.pk}"' in found and f'data-customer="{bob.user.pk}"' not in found
    found = page_of(admin.get(reverse("console:customers"), {"status": "api_off"}))
    assert f'data-customer="{alice.user.pk}"' in found and f'data-customer="{bob.user.pk}"' not in found
    assert "API off" in found


def test_the_list_shows_50_a_page(admin):
    User.objects.bulk_create([User(username=f"c{n:03d}") for n in range(51)])
    first = page_of(admin.get(reverse("console:customers")))
    assert first.count("<tr data-customer=") == 50 and "Page 1 of 2" in first
    assert page_of(admin.get(reverse("console:customers"), {"page": 2})).count("<tr data-customer=") == 1


def test_support_sees_customers_but_no_money(alice):
    support = signed_in(make_staff("sam", "support"))
    text = page_of(support.get(reverse("console:customers")))
    assert "alice" in text and "100.00 USD" not in text and ">Balance<" not in text
    text = page_of(support.get(url("customer", alice.user)))
    assert "100.00 USD" not in text and "Adjust the balance" not in text and "Sign in as the customer" in text


def test_hostile_usernames_emails_and_memos_are_inert(admin, ada, catalogue, api):
    mallory = User.objects.create_user(f"m{HOSTILE}"[:150], email=f"x{HOSTILE}@example.com")
    admin.post(url("customer_adjust", mallory), {"amount": "5", "memo": HOSTILE})
    Order.objects.create(
        user=mallory,
        service=catalogue.default,
        link=HOSTILE,
        quantity=100,
        charge=Decimal(1),
        created_at="2026-01-01T00:00Z",
        updated_at="2026-01-01T00:00Z",
    )
    for text in (
        page_of(admin.get(reverse("console:customers"))),
        page_of(admin.get(url("customer", mallory))),
    ):
        assert "<script>alert" not in text and "<img src=x" not in text
        assert "&lt;script&gt;alert(2)&lt;/script&gt;" in text


def test_a_member_of_staff_has_no_customer_page(admin, ada):
    other = make_staff("finn", "finance")
    assert admin.get(url("customer", other)).status_code == 404
    assert admin.post(url("customer_suspend", other), {"suspended": "on"}).status_code == 404
    assert User.objects.get(pk=other.pk).is_active


# --- The customer's page -------------------------------------------------------------------------


def test_the_page_shows_balance_totals_orders_ledger_deposits_and_keys(admin, alice, catalogue, api):
    api.post("v2", key=alice.key, action="add", service=catalogue.default.pk, link="x.com/a", quantity=1000)
    order = Order.objects.get()
    Payment.objects.create(user=alice.user, amount=Decimal(25))
    text = page_of(admin.get(url("customer", alice.user)))
    assert 'id="customer-balance">99.10 USD<' in text and 'id="customer-spent">0.90 USD<' in text
    assert f'href="/console/orders/{order.pk}/"' in text
    assert "Opening balance" in text  # the ledger
    assert Payment.objects.get().reference in text
    assert ApiKey.objects.get(user=alice.user).prefix in text


# --- Adjusting the balance --------------------------------------------------------------------------


def test_an_adjustment_credits_with_a_ledger_entry_and_an_audit_record(admin, ada, alice):
    response = admin.post(url("customer_adjust", alice.user), {"amount": "12.5", "memo": "Goodwill"})
    assert response.status_code == 302 and response["Location"] == url("customer", alice.user)
    assert alice.balance() == Decimal("112.5")
    entry = LedgerEntry.objects.get(kind=LedgerEntry.Kind.ADJUSTMENT)
    assert (entry.amount, entry.actor, entry.memo, entry.user) == (
        Decimal("12.5"),
        ada,
        "Goodwill",
        alice.user,
    )
    (record,) = audits("customer.adjust_balance")
    assert (record.actor, record.object_type, record.object_id) == (ada, "customer", str(alice.user.pk))
    assert record.before == {"balance": "100.000000"}
    assert record.after == {"balance": "112.500000", "amount": "12.500000"}
    assert record.note == "Goodwill"


def test_a_debit_takes_from_the_balance(admin, alice):
    admin.post(url("customer_adjust", alice.user), {"amount": "-40", "memo": "Chargeback"})
    assert alice.balance() == Decimal("60")
    assert LedgerEntry.objects.get(kind="adjustment").amount == Decimal("-40")


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"amount": "5", "memo": ""}, "This field is required."),
        ({"amount": "5", "memo": "   "}, "This field is required."),
        ({"amount": "-100.01", "memo": "too much"}, "larger than the balance"),
        ({"amount": "0", "memo": "nothing"}, "other than zero"),
        ({"amount": "1e3", "memo": "exponent"}, "at most 6 decimal places"),
        ({"amount": "1.0000001", "memo": "places"}, "at most 6 decimal places"),
        ({"amount": "", "memo": "empty"}, "This field is required."),
    ],
)
def test_a_bad_adjustment_is_refused_and_changes_nothing(admin, alice, data, error):
    response = admin.post(url("customer_adjust", alice.user), data)
    assert response.status_code == 400
    assert error in page_of(response)
    assert alice.balance() == Decimal(100)
    assert not LedgerEntry.objects.filter(kind="adjustment").exists()
    assert not audits("customer.adjust_balance")


# --- Prices ---------------------------------------------------------------------------------------


def test_a_custom_rate_is_set_changed_and_removed(admin, alice, catalogue):
    admin.post(url("customer_rate", alice.user), {"service": catalogue.default.pk, "rate": "0.75"})
    assert CustomRate.objects.get(user=alice.user).rate == Decimal("0.75")
    admin.post(url("customer_rate", alice.user), {"service": f"#{catalogue.default.pk}", "rate": "0.7"})
    assert CustomRate.objects.get(user=alice.user).rate == Decimal("0.7")
    admin.post(url("customer_rate_remove", alice.user), {"service": catalogue.default.pk})
    assert not CustomRate.objects.exists()
    sid = str(catalogue.default.pk)
    assert [(r.action, r.before, r.after) for r in AuditRecord.objects.order_by("id")] == [
        ("customer.set_rate", {"service": int(sid), "rate": None}, {"service": int(sid), "rate": "0.750000"}),
        (
            "customer.set_rate",
            {"service": int(sid), "rate": "0.750000"},
            {"service": int(sid), "rate": "0.700000"},
        ),
        (
            "customer.remove_rate",
            {"service": int(sid), "rate": "0.700000"},
            {"service": int(sid), "rate": None},
        ),
    ]


@pytest.mark.parametrize(
    ("service", "rate", "error"),
    [
        ("999999", "1", "There is no service #999999."),
        ("abc", "1", "Enter a service&#x27;s number"),
        ("SERVICE", "-1", "Enter a rate from 0"),
        ("SERVICE", "1,5", "Enter a rate from 0"),
        ("SERVICE", "1000000000", "Enter a rate from 0"),
    ],
)
def test_a_bad_custom_rate_is_refused(admin, alice, catalogue, service, rate, error):
    service = service.replace("SERVICE", str(catalogue.default.pk))
    response = admin.post(url("customer_rate", alice.user), {"service": service, "rate": rate})
    assert response.status_code == 400 and error in page_of(response)
    assert not CustomRate.objects.exists() and not AuditRecord.objects.exists()


def test_removing_a_rate_they_do_not_have_says_so(admin, alice, catalogue):
    response = admin.post(
        url("customer_rate_remove", alice.user), {"service": catalogue.default.pk}, follow=True
    )
    assert "has no rate of their own" in page_of(response)
    assert not AuditRecord.objects.exists()


def test_a_discount_is_set_changed_and_removed(admin, alice):
    admin.post(url("customer_discount", alice.user), {"percent": "10"})
    assert CustomerDiscount.objects.get(user=alice.user).percent == Decimal("10")
    admin.post(url("customer_discount", alice.user), {"percent": "12.5"})
    assert CustomerDiscount.objects.get(user=alice.user).percent == Decimal("12.5")
    assert "12.50 % off" in page_of(admin.get(url("customer", alice.user)))
    admin.post(url("customer_discount_remove", alice.user))
    assert not CustomerDiscount.objects.exists()
    assert [(r.action, r.before, r.after) for r in AuditRecord.objects.order_by("id")] == [
        ("customer.set_discount", {"discount": None}, {"discount": "10.00"}),
        ("customer.set_discount", {"discount": "10.00"}, {"discount": "12.50"}),
        ("customer.remove_discount", {"discount": "12.50"}, {"discount": None}),
    ]


@pytest.mark.parametrize("percent", ["0", "100", "-5", "150", "abc", "", "10.005", "0.001"])
def test_a_discount_out_of_range_is_refused(admin, alice, percent):
    response = admin.post(url("customer_discount", alice.user), {"percent": percent})
    assert response.status_code == 400
    assert not CustomerDiscount.objects.exists() and not AuditRecord.objects.exists()


def test_removing_a_discount_they_do_not_have_says_so(admin, alice):
    response = admin.post(url("customer_discount_remove", alice.user), follow=True)
    assert "has no discount" in page_of(response) and not AuditRecord.objects.exists()


# --- The discount applies wherever the customer's price is read ---------------------------------------


@pytest.fixture
def discounted(alice):
    CustomerDiscount.objects.create(user=alice.user, percent=Decimal("10"))
    return alice


def test_the_api_add_charges_the_discounted_price(api, discounted, bob, catalogue):
    answer = api.post(
        "v2", key=discounted.key, action="add", service=catalogue.default.pk, link="x.com/a", quantity=1000
    )
    assert Order.objects.get(pk=answer["order"]).charge == Decimal("0.81")  # 0.90 less 10 %
    assert discounted.balance() == Decimal("99.19")
    answer = api.post(
        "v2", key=bob.key, action="add", service=catalogue.default.pk, link="x.com/a", quantity=1000
    )
    assert Order.objects.get(pk=answer["order"]).charge == Decimal("0.90")  # bob has none


def test_the_api_services_list_the_discounted_rates(api, discounted, catalogue):
    rates = {s["service"]: s["rate"] for s in api.post("v2", key=discounted.key, action="services")}
    assert rates == {catalogue.default.pk: "0.81", catalogue.package.pk: "4.05"}


def test_a_custom_rate_wins_over_the_discount(api, discounted, catalogue):
    CustomRate.objects.create(user=discounted.user, service=catalogue.default, rate=Decimal("0.85"))
    answer = api.post(
        "v2", key=discounted.key, action="add", service=catalogue.default.pk, link="x.com/a", quantity=1000
    )
    assert Order.objects.get(pk=answer["order"]).charge == Decimal("0.85")
    answer = api.post("v2", key=discounted.key, action="add", service=catalogue.package.pk, link="x.com/a")
    assert Order.objects.get(pk=answer["order"]).charge == Decimal("4.05")


def test_the_discounted_rate_is_rounded_half_up_to_six_places(api, alice, catalogue):
    CustomerDiscount.objects.create(user=alice.user, percent=Decimal("33.33"))
    catalogue.default.rate = Decimal("0.000005")  # less 33.33 %: 0.0000033335 -> 0.000003
    catalogue.default.save(update_fields=["rate"])
    catalogue.package.rate = Decimal("1.000005")  # less 33.33 %: 0.66670333... -> 0.666703
    catalogue.package.save(update_fields=["rate"])
    rates = {s["service"]: s["rate"] for s in api.post("v2", key=alice.key, action="services")}
    assert rates == {catalogue.default.pk: "0.000003", catalogue.package.pk: "0.666703"}
    answer = api.post("v2", key=alice.key, action="add", service=catalogue.package.pk, link="x.com/a")
    assert Order.objects.get(pk=answer["order"]).charge == Decimal("0.666703")


def test_the_web_order_form_and_its_price_show_the_discounted_price(client, discounted, catalogue):
    client.force_login(discounted.user)
    text = page_of(client.get(reverse("order_new"), {"service": catalogue.default.pk}))
    assert 'id="service-rate">0.81 USD<' in text
    price = page_of(
        client.post(reverse("order_price"), {"service": catalogue.default.pk, "quantity": "1000"})
    )
    assert re.search(r'id="order-charge-amount">\s*0.81 USD\s*</span>', price)


def test_the_price_list_shows_the_discounted_price_to_that_customer_only(client, discounted, bob, catalogue):
    client.force_login(discounted.user)
    text = page_of(client.get(reverse("services")))
    assert "0.81 USD" in text and "4.05 USD" in text and "0.90 USD" not in text
    client.force_login(bob.user)
    text = page_of(client.get(reverse("services")))
    assert "0.90 USD" in text and "0.81 USD" not in text


def test_a_web_order_is_charged_the_discounted_price(client, discounted, catalogue):
    client.force_login(discounted.user)
    data = {
        "service": catalogue.default.pk,
        "link": "https://x.com/a",
        "quantity": "1000",
        "form_token": str(uuid.uuid4()),
    }
    client.post(reverse("order_new"), data)
    assert Order.objects.get().charge == Decimal("0.81")


# --- Access: API, keys, suspension ---------------------------------------------------------------


def test_turning_api_access_off_makes_the_api_refuse_their_keys_and_on_again(admin, api, alice):
    admin.post(url("customer_api_access", alice.user), {"api": "off"})
    assert api.post("v2", key=alice.key, action="balance") == {"error": "Invalid API key"}
    admin.post(url("customer_api_access", alice.user), {"api": "on"})
    assert Decimal(api.post("v2", key=alice.key, action="balance")["balance"]) == Decimal(100)
    assert [(r.action, r.after) for r in AuditRecord.objects.order_by("id")] == [
        ("customer.api_access", {"api_enabled": False}),
        ("customer.api_access", {"api_enabled": True}),
    ]


def test_a_switch_already_in_place_changes_nothing_and_records_nothing(admin, alice):
    response = admin.post(url("customer_api_access", alice.user), {"api": "on"}, follow=True)
    assert "Nothing changed" in page_of(response) and not AuditRecord.objects.exists()
    response = admin.post(url("customer_api_access", alice.user), {"api": "maybe"}, follow=True)
    assert "Choose on or off" in page_of(response) and User.objects.get(pk=alice.user.pk).api_enabled


def test_revoking_the_keys_makes_the_api_refuse_them(admin, api, alice):
    ApiKey.issue(alice.user, name="second")
    admin.post(url("customer_revoke_keys", alice.user))
    assert not ApiKey.objects.filter(user=alice.user, is_active=True).exists()
    assert api.post("v1", key=alice.key, action="balance") == {
        "error": "API is Disable for this user or User Not Found! Contact the Support"
    }
    (record,) = audits("customer.revoke_keys")
    assert record.after == {"revoked": 2}


def test_a_suspended_customer_cannot_sign_in_nor_use_the_api_and_their_orders_go_on(
    admin, api, alice, catalogue, client
):
    alice.user.set_password("Secret-pass-42")
    alice.user.save(update_fields=["password"])
    placed = api.post(
        "v2", key=alice.key, action="add", service=catalogue.default.pk, link="x.com/a", quantity=1000
    )
    signed = Client()
    signed.force_login(alice.user)
    admin.post(url("customer_suspend", alice.user), {"suspended": "on"})
    assert not User.objects.get(pk=alice.user.pk).is_active
    assert api.post("v2", key=alice.key, action="status", order=placed["order"]) == {
        "error": "Invalid API key"
    }
    response = client.post(reverse("login"), {"username": "alice", "password": "Secret-pass-42"})
    assert "_auth_user_id" not in client.session and response.status_code == 200
    assert signed.get(reverse("dashboard"))["Location"].startswith(reverse("login"))  # their session is over
    order = Order.objects.get(pk=placed["order"])
    assert (order.status, order.provider_state, order.charge) == ("pending", "queued", Decimal("0.9"))
    (record,) = audits("customer.suspend")
    assert (record.before, record.after) == ({"is_active": True}, {"is_active": False})
    admin.post(url("customer_suspend", alice.user), {"suspended": "off"})
    assert Decimal(api.post("v2", key=alice.key, action="balance")["balance"]) == Decimal("99.10")
    assert audits("customer.unsuspend")


# --- Who may do what: every role, every action ----------------------------------------------------

ACTIONS: dict[str, tuple[str, dict[str, str]]] = {
    "customer_adjust": ("customer_money", {"amount": "5", "memo": "why"}),
    "customer_rate": ("customer_money", {"service": "SERVICE", "rate": "0.5"}),
    "customer_rate_remove": ("customer_money", {"service": "SERVICE"}),
    "customer_discount": ("customer_money", {"percent": "10"}),
    "customer_discount_remove": ("customer_money", {}),
    "customer_api_access": ("customer_access", {"api": "off"}),
    "customer_revoke_keys": ("customer_access", {}),
    "customer_suspend": ("customer_access", {"suspended": "on"}),
    "customer_impersonate": ("customer_access", {}),
}
MAY = {"customer_money": {"administrator", "finance"}, "customer_access": {"administrator", "support"}}


def state(customer: User) -> tuple[Any, ...]:
    customer = User.objects.get(pk=customer.pk)
    return (
        customer.balance,
        customer.is_active,
        customer.api_enabled,
        list(ApiKey.objects.filter(user=customer).values_list("is_active", flat=True)),
        list(CustomRate.objects.values_list("rate", flat=True)),
        list(CustomerDiscount.objects.values_list("percent", flat=True)),
        LedgerEntry.objects.count(),
    )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", list(ACTIONS))
def test_each_action_is_refused_to_each_role_without_its_capability(role, name, alice, catalogue):
    capability, data = ACTIONS[name]
    CustomRate.objects.create(user=alice.user, service=catalogue.package, rate=Decimal(4))
    CustomerDiscount.objects.create(user=alice.user, percent=Decimal(5))
    data = {k: v.replace("SERVICE", str(catalogue.package.pk)) for k, v in data.items()}
    client = signed_in(make_staff("sam", role))
    before = state(alice.user)
    response = client.post(url(name, alice.user), data)
    if role in MAY[capability]:
        assert response.status_code == 302
        assert state(alice.user) != before or name == "customer_impersonate"
        assert AuditRecord.objects.filter(action__startswith="customer.").count() == 1
    else:
        assert response.status_code == 403
        assert "Nothing was changed" in page_of(response)
        assert state(alice.user) == before
        assert not AuditRecord.objects.exists()
        assert KEY not in client.session


@pytest.mark.parametrize("role", ROLES)
def test_every_role_may_see_the_list_and_a_customers_page(role, alice):
    client = signed_in(make_staff("sam", role))
    assert client.get(reverse("console:customers")).status_code == 200
    assert client.get(url("customer", alice.user)).status_code == 200


def test_the_actions_take_post_only(admin, alice):
    assert admin.get(url("customer_suspend", alice.user), {"suspended": "on"}).status_code == 405
    assert User.objects.get(pk=alice.user.pk).is_active


# --- Signing in as the customer ------------------------------------------------------------------------


@pytest.fixture
def sam() -> User:
    return make_staff("sam", "support")


@pytest.fixture
def support(sam: User) -> Client:
    return signed_in(sam)


def impersonate(client: Client, customer: User) -> Any:
    return client.post(url("customer_impersonate", customer))


def test_support_signs_in_as_the_customer_and_sees_their_site_with_a_banner(support, sam, alice):
    response = impersonate(support, alice.user)
    assert response["Location"] == reverse("dashboard")
    for name in ("dashboard", "orders", "funds", "transactions", "settings", "api_page", "order_new"):
        text = page_of(support.get(reverse(name)))
        assert 'id="impersonating"' in text, name
        assert "You, sam, are looking at the site as <strong>alice</strong>" in text
    assert "Hello, alice" in page_of(support.get(reverse("dashboard")))
    (record,) = audits("customer.impersonate_start")
    assert (record.actor, record.object_id) == (sam, str(alice.user.pk))


def test_the_console_stays_the_staff_members_own(support, sam, alice):
    impersonate(support, alice.user)
    text = page_of(support.get(reverse("console:customers")))
    assert 'class="staff-who">sam' in text and 'id="impersonating"' not in text


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("order_new", {"service": "1", "link": "https://x.com/a", "quantity": "100"}),
        ("order_mass", {"orders": "1|https://x.com/a|100"}),
        ("funds", {"amount": "50"}),
        ("settings", {"email": "new@example.com", "timezone": "UTC"}),
        ("password_change", {"old_password": "x", "new_password1": "y", "new_password2": "y"}),
        ("api_new_key", {}),
        ("logout", {}),
    ],
)
def test_every_post_on_the_customer_site_is_refused_while_impersonating(support, alice, name, data):
    impersonate(support, alice.user)
    keys = list(ApiKey.objects.values_list("key_hash", "is_active"))
    response = support.post(reverse(name), data)
    assert response.status_code == 403
    text = page_of(response)
    assert "nothing can be changed here while you do" in text and 'id="impersonating"' in text
    assert "Content-Security-Policy" in response.headers and response.headers["X-Frame-Options"] == "DENY"
    assert list(ApiKey.objects.values_list("key_hash", "is_active")) == keys
    assert not Order.objects.exists() and not Payment.objects.exists()
    customer = User.objects.get(pk=alice.user.pk)
    assert (customer.email, customer.balance) == ("alice@example.com", Decimal(100))
    assert support.session.get(KEY)  # still looking: a refused POST does not end it


def test_the_refusal_covers_a_customers_order_actions_too(support, alice, catalogue, api):
    placed = api.post(
        "v2", key=alice.key, action="add", service=catalogue.default.pk, link="x.com/a", quantity=100
    )
    impersonate(support, alice.user)
    assert support.post(reverse("order_cancel", args=[placed["order"]])).status_code == 403
    assert Order.objects.get().cancel_requested_at is None


def test_end_returns_to_the_console_in_one_click_and_is_recorded(support, sam, alice):
    impersonate(support, alice.user)
    response = support.post(reverse("console:impersonation_end"))
    assert response["Location"] == url("customer", alice.user)
    assert KEY not in support.session
    text = page_of(support.get(reverse("dashboard")))  # their own customer view again
    assert 'id="impersonating"' not in text and "Hello, sam" in text
    assert [r.action for r in AuditRecord.objects.order_by("id")] == [
        "customer.impersonate_start",
        "customer.impersonate_end",
    ]


def test_support_cannot_reach_money_actions_while_impersonating(support, alice):
    impersonate(support, alice.user)
    assert support.post(url("customer_adjust", alice.user), {"amount": "5", "memo": "x"}).status_code == 403
    assert support.post(reverse("funds"), {"amount": "5"}).status_code == 403
    assert alice.balance() == Decimal(100) and not Payment.objects.exists()


def test_a_customer_cannot_impersonate_nor_plant_the_session_key(client, alice, bob):
    client.force_login(bob.user)
    assert client.post(url("customer_impersonate", alice.user)).status_code == 403
    session = client.session
    session[KEY] = {"staff": bob.user.pk, "customer": alice.user.pk}
    session.save()
    text = page_of(client.get(reverse("dashboard")))
    assert "Hello, bob" in text and 'id="impersonating"' not in text
    assert KEY not in client.session


def test_it_ends_when_the_staff_session_ends(support, alice):
    impersonate(support, alice.user)
    support.post(reverse("console:logout"))
    response = support.get(reverse("dashboard"))
    assert response["Location"].startswith(reverse("login"))


def test_it_ends_when_the_staff_member_loses_the_right(support, sam, alice):
    impersonate(support, alice.user)
    User.objects.filter(pk=sam.pk).update(staff_role="finance")
    text = page_of(support.get(reverse("dashboard")))
    assert "Hello, sam" in text and 'id="impersonating"' not in text
    assert KEY not in support.session


def test_it_ends_after_the_staff_idle_limit(support, alice, settings):
    import time

    from smmpanel.console.guard import SEEN

    settings.SMMPANEL_STAFF_IDLE_MINUTES = 30
    impersonate(support, alice.user)
    session = support.session
    session[SEEN] = time.time() - 31 * 60
    session.save()
    assert support.get(reverse("dashboard"))["Location"].startswith(reverse("login"))
    assert "_auth_user_id" not in support.session


def test_staff_cannot_be_impersonated(support, ada):
    assert impersonate(support, ada).status_code == 404
    assert KEY not in support.session


def test_the_language_switch_changes_the_staff_members_language_not_the_customers(support, sam, alice):
    impersonate(support, alice.user)
    support.post(reverse("set_language"), {"language": "es", "next": "/dashboard/"})
    assert User.objects.get(pk=alice.user.pk).language == ""
    assert User.objects.get(pk=sam.pk).language == "es"


def test_a_suspended_customers_orders_already_placed_are_sent_and_followed_to_the_end(
    admin, api, alice, catalogue, clock, settings
):
    settings.SMMPANEL_SIMULATOR_SECONDS = 60
    settings.SMMPANEL_SIMULATOR_PARTIAL_PERCENT = 0
    settings.SMMPANEL_SIMULATOR_CANCEL_PERCENT = 0
    simulator = Provider.objects.create(name="Simulator", kind=Provider.Kind.SIMULATED)
    Service.objects.filter(pk=catalogue.default.pk).update(provider=simulator)
    placed = api.post(
        "v2", key=alice.key, action="add", service=catalogue.default.pk, link="x.com/a", quantity=1000
    )
    admin.post(url("customer_suspend", alice.user), {"suspended": "on"})
    worker = Worker(clock=clock, threads=1)
    for _ in range(20):
        worker.run_once()
        clock.advance(minutes=5)
    order = Order.objects.get(pk=placed["order"])
    assert (order.provider_order_id, order.status) == (f"sim-{order.pk}", Order.Status.COMPLETED)
    assert not User.objects.get(pk=alice.user.pk).is_active


def test_signing_in_as_another_customer_ends_the_first(support, alice, bob):
    impersonate(support, alice.user)
    impersonate(support, bob.user)
    assert "Hello, bob" in page_of(support.get(reverse("dashboard")))
    records = [(r.action, r.object_id) for r in AuditRecord.objects.order_by("id")]
    assert records == [
        ("customer.impersonate_start", str(alice.user.pk)),
        ("customer.impersonate_end", str(alice.user.pk)),
        ("customer.impersonate_start", str(bob.user.pk)),
    ]
