"""In a real browser: an administrator signs in to the console with a code computed by the test,
confirms a bank transfer, adjusts a customer's balance, signs in as the customer (a banner, every
change refused, End back to the console); a support user is refused a balance adjustment; the
customers and deposits pages fit a desktop and a phone, in English and Spanish."""

from decimal import Decimal
from importlib import import_module

import pytest
from browser import (  # noqa: F401  (chromium, mail_dir, panel_server_env, phone, shots, tab: fixtures)
    Tab,
    balance_of,
    chromium,
    mail_dir,
    make_customer,
    panel_server_env,
    phone,
    shots,
    tab,
)
from django.conf import settings
from django.contrib import auth
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect
from server import panel_server  # noqa: F401  (a fixture)
from staff import PASSWORD, current_code, make_staff

from smmpanel.accounts.models import AuditRecord, User
from smmpanel.ledger.models import LedgerEntry
from smmpanel.payments.models import Payment

pytestmark = [pytest.mark.server, pytest.mark.django_db(transaction=True)]

HOSTILE = '"><img src=x onerror=alert(1)>'


def staff_sign_in(device: Tab, user: User) -> None:
    """Through the console's two real steps: the password, then the authenticator's code."""
    device.go("/console/")
    device.page.fill("#id_username", user.username)
    device.page.fill("#id_password", PASSWORD)
    device.page.locator("main form button[type=submit]").click()
    device.page.wait_for_url("**/console/verify/**")
    device.page.fill("#id_code", current_code(user))
    device.page.locator("main form button[type=submit]").click()
    device.page.wait_for_url(device.url("/console/"))


def staff_session(device: Tab, user: User, language: str = "en") -> None:
    """Signed in past both steps without the forms (as tests/staff.py's signed_in), in `language`."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[auth.SESSION_KEY] = str(user.pk)
    store[auth.BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[auth.HASH_SESSION_KEY] = user.get_session_auth_hash()
    store[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.get(user=user, confirmed=True).persistent_id
    store.save()
    device.page.context.add_cookies(
        [
            {"name": settings.SESSION_COOKIE_NAME, "value": store.session_key, "url": device.base_url},
            {"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": device.base_url},
        ]
    )


def test_an_administrator_confirms_a_transfer_adjusts_a_balance_and_signs_in_as_the_customer(
    tab: Tab,  # noqa: F811
) -> None:
    ada = make_staff("ada", "administrator")
    carol = make_customer("carol", "50")
    transfer = Payment.objects.create(user=carol, amount=Decimal(25))
    page = tab.page
    staff_sign_in(tab, ada)

    page.get_by_role("link", name="Deposits").click()
    page.select_option("#id_status", "pending")
    page.get_by_role("button", name="Filter").click()
    tab.shot("pending-deposits")
    page.get_by_role("link", name=transfer.reference).click()
    tab.shot("deposit")
    page.locator("#confirm-deposit").click()
    expect(page.locator("#deposit-status")).to_have_text("Confirmed")
    expect(page.locator(".messages")).to_contain_text("credited to carol")
    tab.assert_no_horizontal_scroll()
    tab.shot("confirmed")
    assert balance_of(carol) == Decimal(75)

    page.get_by_role("link", name="carol").click()
    page.fill("#id_amount", "10")
    page.fill("#id_memo", "Goodwill for the delay")
    page.get_by_role("button", name="Adjust balance").click()
    expect(page.locator(".messages")).to_contain_text("The balance of carol is now 85.00 USD.")
    expect(page.locator("#customer-balance")).to_have_text("85.00 USD")
    expect(page.locator("table.ledger")).to_contain_text("Goodwill for the delay")
    tab.assert_no_horizontal_scroll()
    tab.shot("adjusted")
    entry = LedgerEntry.objects.get(kind="adjustment")
    assert (entry.amount, entry.actor_id) == (Decimal(10), ada.pk)

    page.locator("#sign-in-as").click()
    page.wait_for_url(tab.url("/dashboard/"))
    expect(page.locator("#impersonating")).to_contain_text("You, ada, are looking at the site as carol")
    expect(page.locator("h1")).to_have_text("Hello, carol")
    expect(page.locator("#dashboard-balance")).to_have_text("85.00 USD")
    tab.assert_no_horizontal_scroll()
    tab.shot("as-carol")

    page.get_by_role("link", name="Add funds").first.click()
    page.fill("#id_amount", "40")
    page.locator("main form button[type=submit]").first.click()
    expect(page.locator("main h1")).to_have_text("Read-only")
    expect(page.locator("main")).to_contain_text("nothing can be changed here while you do")
    tab.shot("refused")
    assert Payment.objects.count() == 1

    page.locator("#end-impersonation").click()
    page.wait_for_url(tab.url(f"/console/customers/{carol.pk}/"))
    expect(page.locator(".staff-who")).to_contain_text("ada")
    tab.shot("back-in-the-console")
    actions = list(AuditRecord.objects.filter(actor=ada).order_by("id").values_list("action", flat=True))
    assert actions[-4:] == [
        "deposit.confirm",
        "customer.adjust_balance",
        "customer.impersonate_start",
        "customer.impersonate_end",
    ]


def test_a_support_user_is_refused_a_balance_adjustment(tab: Tab) -> None:  # noqa: F811
    sam = make_staff("sam", "support")
    carol = make_customer("carol", "50")
    staff_session(tab, sam)
    tab.go(f"/console/customers/{carol.pk}/")
    expect(tab.page.locator("#id_amount")).to_have_count(0)  # no form for a role without the right
    tab.shot("support-sees-no-money")
    # A form sent anyway (an old tab, a crafted page) reaches the guard and is refused.
    tab.page.evaluate(
        """url => {
            const form = document.createElement("form");
            form.method = "post";
            form.action = url;
            const token = document.querySelector("input[name=csrfmiddlewaretoken]").cloneNode();
            form.append(token);
            for (const [name, value] of [["amount", "1000"], ["memo", "please"]]) {
                const input = document.createElement("input");
                input.name = name;
                input.value = value;
                form.append(input);
            }
            document.body.append(form);
            form.submit();
        }""",
        f"/console/customers/{carol.pk}/adjust/",
    )
    tab.page.wait_for_url(tab.url(f"/console/customers/{carol.pk}/adjust/"))
    expect(tab.page.locator("main h1")).to_have_text("Not allowed")
    expect(tab.page.locator("main")).to_contain_text("Nothing was changed.")
    tab.shot("refused")
    assert balance_of(carol) == Decimal(50)
    assert not LedgerEntry.objects.filter(kind="adjustment").exists()


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_the_customers_and_deposits_pages_fit_in_both_languages(
    request: pytest.FixtureRequest, width: str, language: str
) -> None:
    device: Tab = request.getfixturevalue("tab" if width == "desktop" else "phone")
    ada = make_staff("ada", "administrator")
    carol = make_customer("carol-with-a-rather-long-username-" + "x" * 30, "1234567.5")
    carol.email = "carol.with.a.very.long.address.for.testing@example-company-domain.com"
    carol.save(update_fields=["email"])
    make_customer(f"m{HOSTILE}", "3")
    Payment.objects.create(user=carol, amount=Decimal("99999.99"))
    staff_session(device, ada, language)
    for path in (
        "/console/customers/",
        f"/console/customers/{carol.pk}/",
        "/console/deposits/",
        f"/console/deposits/{Payment.objects.get().pk}/",
    ):
        device.go(path)
        assert device.page.locator("html").get_attribute("lang") == language
        device.shot(f"{language}-{path.strip('/').replace('/', '-')}")
        device.assert_no_horizontal_scroll()
    device.go(f"/console/customers/{carol.pk}/")
    device.page.locator("#sign-in-as").click()
    device.page.wait_for_url(device.url("/dashboard/"))
    expect(device.page.locator("#impersonating")).to_be_visible()
    device.shot(f"{language}-as-the-customer")
    device.assert_no_horizontal_scroll()
