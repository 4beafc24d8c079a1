"""Issue 14's whole flow in a real browser, against a fake upstream panel over real HTTP: an
administrator adds the provider from the console, imports its ten services at +40 %, the
upstream changes two costs (one past our price: the loss guard takes it off sale), the operator
reads the list and applies the pricing rule to every cost change, then bulk-reprices one
category by 10 %; a customer then sees the new prices on the
price list and the Updates page, in English at 1366 px and in Spanish at 375 px. Every price is
written out by hand. Screenshots in artifacts/<database>/<test>/."""

from decimal import Decimal

import pytest
from browser import (  # noqa: F401  (chromium, mail_dir, panel_server_env, phone, shots, tab: fixtures)
    Tab,
    chromium,
    mail_dir,
    make_customer,
    panel_server_env,
    phone,
    shots,
    tab,
)
from django.conf import settings
from playwright.sync_api import expect
from server import panel_server  # noqa: F401  (a fixture)
from staff import make_staff
from test_browser_console_customers import staff_session
from upstream import KEY, upstream_fixture  # noqa: F401  (the `upstream` fixture)

from smmpanel.accounts.models import AuditRecord
from smmpanel.catalog.models import Category, Provider, Service, ServiceUpdate

pytestmark = [pytest.mark.server, pytest.mark.django_db(transaction=True)]

D = Decimal


def ten_services() -> list[dict[str, object]]:
    """Costs 0.50, 1.00 ... 5.00: five follower services, then five view services."""
    return [
        {
            "service": n,
            "name": f"Followers {n}" if n <= 5 else f"Views {n}",
            "type": "Default",
            "category": "Instagram Followers" if n <= 5 else "TikTok Views",
            "rate": str(D(n) / 2),
            "min": "10",
            "max": "10000",
            "dripfeed": False,
            "refill": n % 2 == 0,
            "cancel": True,
        }
        for n in range(1, 11)
    ]


def prices() -> dict[str, Decimal]:
    return dict(Service.objects.values_list("name", "rate"))


def customer_sees(device: Tab, language: str, service: Service, price: str, old: str) -> None:
    """The price list and the Updates page, as a signed-in customer reading `language`."""
    device.page.context.add_cookies(
        [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": device.base_url}]
    )
    device.go("/services/")
    assert device.page.locator("html").get_attribute("lang") == language
    expect(device.page.locator(f'tr[data-service="{service.pk}"]')).to_contain_text(price)
    device.shot(f"price-list-{language}")
    device.assert_no_horizontal_scroll()
    device.go("/updates/")
    lines = device.page.locator(f'li[data-service="{service.pk}"][data-kind="price"]')
    expect(lines.first).to_contain_text(price)  # the newest change first: old → the new price
    expect(lines.first).to_contain_text(old)
    device.shot(f"updates-{language}")
    device.assert_no_horizontal_scroll()
    device.assert_clean()


def test_an_operator_runs_the_catalogue_from_the_console_and_customers_see_it(
    tab: Tab,  # noqa: F811
    phone: Tab,  # noqa: F811
    upstream,
) -> None:
    upstream.services[:] = ten_services()
    ada = make_staff("ada", "administrator")
    staff_session(tab, ada)
    page = tab.page

    # The provider, added from the console: its balance is read before anything is stored.
    tab.go("/console/providers/new/")
    page.fill("#id_provider-name", "bigpanel")
    page.fill("#id_provider-url", upstream.url)
    page.fill("#id_provider-api_key", KEY)
    page.fill("#id_provider-timeout_seconds", "5")
    page.locator("#save-provider").click()
    expect(page.locator("#provider-balance")).to_contain_text("USD")
    tab.shot("provider-added")
    provider = Provider.objects.get(name="bigpanel")

    # Its ten services, imported at +40 % rounded up to 0.01, into the provider's own categories.
    tab.go(f"/console/providers/{provider.pk}/import/")
    with page.expect_navigation():
        page.locator("#read-list").click()
    expect(page.locator("#import-table tbody tr")).to_have_count(10)
    page.locator("#select-all").check()
    assert page.locator("#id_markup").input_value() == "40"
    tab.shot("import")
    with page.expect_navigation():
        page.locator("#import-submit").click()
    expect(page.locator("#created-table tbody tr")).to_have_count(10)
    tab.shot("imported")
    assert prices() == {
        "Followers 1": D("0.70"),
        "Followers 2": D("1.40"),
        "Followers 3": D("2.10"),
        "Followers 4": D("2.80"),
        "Followers 5": D("3.50"),
        "Views 6": D("4.20"),
        "Views 7": D("4.90"),
        "Views 8": D("5.60"),
        "Views 9": D("6.30"),
        "Views 10": D("7.00"),
    }

    # Upstream, two costs change: one up, one down. Reading the list changes nothing we sell.
    upstream.services[0]["rate"] = "0.80"
    upstream.services[5]["rate"] = "2.50"
    tab.go(f"/console/providers/{provider.pk}/sync/")
    with page.expect_navigation():
        page.locator("#read-list").click()
    expect(page.locator(".cost-change")).to_have_count(2)
    expect(page.locator("#loss-table")).to_contain_text("Followers 1")  # the loss guard's, listed
    tab.shot("sync-diff")
    assert prices()["Followers 1"] == D("0.70") and prices()["Views 6"] == D("4.20")
    with page.expect_navigation():
        page.locator("#rule-to-costs").click()
    expect(page.locator("#no-changes")).to_be_visible()
    tab.shot("sync-applied")
    assert prices()["Followers 1"] == D("1.12")  # 0.80 + 40 %
    assert prices()["Views 6"] == D("3.50")  # 2.50 + 40 %

    # One category, repriced 10 % up in bulk: every service matching the category filter.
    followers = Category.objects.get(name="Instagram Followers")
    tab.go(f"/console/services/?category={followers.pk}")
    expect(page.locator("#services-table tbody tr")).to_have_count(5)
    page.select_option("#id_action", "reprice")
    page.select_option("#id_mode", "up")
    page.fill("#id_value", "10")
    page.fill("#id_step", "0.01")
    page.locator("#id_every").check()
    page.locator("#bulk-apply").click()
    expect(page.locator(".messages")).to_contain_text("5 services changed.")
    tab.shot("category-repriced")
    assert prices() == {
        "Followers 1": D("1.24"),  # 1.12 + 10 % = 1.232, up to 1.24
        "Followers 2": D("1.54"),
        "Followers 3": D("2.31"),
        "Followers 4": D("3.08"),
        "Followers 5": D("3.85"),
        "Views 6": D("3.50"),
        "Views 7": D("4.90"),
        "Views 8": D("5.60"),
        "Views 9": D("6.30"),
        "Views 10": D("7.00"),
    }
    first = Service.objects.get(name="Followers 1")
    sources = list(ServiceUpdate.objects.filter(service=first).order_by("id").values_list("kind", "source"))
    assert sources == [
        ("new", "import"),
        ("disabled", "loss_guard"),  # 0.80 cost over the 0.70 price: off sale at the read
        ("price", "sync"),
        ("enabled", "sync"),  # the rule's price covers the cost: back on sale
        ("price", "console"),
    ]
    actions = set(AuditRecord.objects.values_list("action", flat=True))
    assert "provider.create" in actions and "service.bulk_reprice" in actions
    tab.assert_clean()

    # What a customer sees: English on a desktop, Spanish on a phone.
    make_customer("carol", "10")
    tab.page.context.clear_cookies()
    tab.log_in("carol")
    customer_sees(tab, "en", first, "1.24", "1.12")
    phone.log_in("carol")
    customer_sees(phone, "es", first, "1,24", "1,12")
