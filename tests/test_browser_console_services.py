"""In a real browser: an administrator reprices a category from the services list (every service
matching the filter), edits a service's Spanish name and average time, orders the categories by
dragging a row and with the up button; a customer then sees the new prices and names on the price
list and the Updates page. The services, a service's edit, the categories and /updates/ fit a
desktop and a phone in English and Spanish."""

from decimal import Decimal

import pytest
from browser import (  # noqa: F401  (chromium, mail_dir, no_js_tab, panel_server_env, phone, shots, tab: fixtures)
    Tab,
    chromium,
    mail_dir,
    no_js_tab,
    panel_server_env,
    phone,
    shots,
    tab,
)
from playwright.sync_api import expect
from server import panel_server  # noqa: F401  (a fixture)
from staff import make_staff
from test_browser_console_customers import staff_session

from smmpanel.accounts.models import AuditRecord
from smmpanel.catalog import updates
from smmpanel.catalog.models import Category, Provider, ProviderService, Service
from smmpanel.catalog.types import ServiceType

pytestmark = [pytest.mark.server, pytest.mark.django_db(transaction=True)]
D = Decimal


def catalogue() -> list[Category]:
    """Three categories, the first with three services bought from a provider, one long-named."""
    acme = Provider.objects.create(name="Acme Social Supplies International", url="http://acme.test/api/v2")
    made = [
        Category.objects.create(name=n, sort_order=i)
        for i, n in enumerate(["Instagram Likes", "TikTok Views", "YouTube"])
    ]
    for i, (name, cost, price) in enumerate(
        [
            ("Instagram Likes [Real, Refill 30 days, Max 100K, Day 50K]", "1.00", "1.50"),
            ("Likes cheap", "0.33", "0.50"),
            ("Likes premium", "2.00", "1.80"),
        ]
    ):
        listed = ProviderService.objects.create(
            provider=acme,
            external_id=str(7000 + i),
            name=name,
            type="default",
            rate=D(cost),
            min=10,
            max=100000,
        )
        Service.objects.create(
            category=made[0],
            name=name,
            rate=D(price),
            min=10,
            max=100000,
            refill=True,
            cancel=i == 0,
            dripfeed=i == 1,
            provider=acme,
            provider_service=listed,
        )
    Service.objects.create(
        category=made[1], name="TikTok views", type=ServiceType.DEFAULT, rate=D("0.05"), min=100, max=10**7
    )
    return made


def test_an_operator_reprices_a_category_edits_a_service_and_orders_categories(tab: Tab) -> None:  # noqa: F811
    made = catalogue()
    staff_session(tab, make_staff("ada", "administrator"))
    page = tab.page
    tab.go("/console/")
    page.get_by_role("link", name="Services", exact=True).click()
    page.select_option("#id_category", str(made[0].pk))
    page.locator("#filter-services").click()
    expect(page.locator("#services-table tbody tr")).to_have_count(3)
    page.select_option("#id_action", "reprice")
    expect(page.locator(".bulk-part[data-for=move]")).to_be_hidden()  # only the chosen action's fields
    page.select_option("#id_mode", "up")
    page.fill("#id_value", "10")
    page.fill("#id_step", "0.01")
    page.locator("#id_every").check()
    page.locator("#bulk-apply").click()
    expect(page.locator(".messages")).to_contain_text("3 services changed.")
    tab.shot("repriced")
    prices = sorted(Service.objects.filter(category=made[0]).values_list("rate", flat=True))
    assert prices == [D("0.55"), D("1.65"), D("1.98")]
    assert Service.objects.get(category=made[1]).rate == D("0.05")

    first = Service.objects.get(rate=D("1.65"))
    page.get_by_role("link", name=str(first.pk), exact=True).click()
    page.fill("#id_name_es", "Me gusta de Instagram [Reales]")
    page.fill("#id_average_minutes", "150")
    page.locator("#service-save").click()
    expect(page.locator(".messages")).to_contain_text(f"Service #{first.pk} saved.")
    assert Service.objects.get(pk=first.pk).names == {"es": "Me gusta de Instagram [Reales]"}

    page.get_by_role("link", name="Categories", exact=True).first.click()
    expect(page.locator("#drag-hint")).to_be_visible()
    tab.shot("categories")
    with page.expect_navigation():
        page.drag_and_drop(
            f'tr[data-category="{made[2].pk}"] td.handle', f'tr[data-category="{made[0].pk}"] td.handle'
        )
    names = list(Category.objects.order_by("sort_order", "id").values_list("name", flat=True))
    assert names == ["YouTube", "Instagram Likes", "TikTok Views"]
    page.locator(f'tr[data-category="{made[1].pk}"] button[value=up]').click()
    expect(page.locator(".messages")).to_contain_text("Category moved up.")
    names = list(Category.objects.order_by("sort_order", "id").values_list("name", flat=True))
    assert names == ["YouTube", "TikTok Views", "Instagram Likes"]
    tab.shot("reordered")
    actions = set(AuditRecord.objects.values_list("action", flat=True))
    assert {"service.bulk_reprice", "service.edit", "category.reorder", "category.up"} <= actions
    tab.assert_clean()

    customer = tab.page.context.browser.new_context(locale="es-ES")  # type: ignore[union-attr]
    try:
        other = customer.new_page()
        other.goto(tab.url("/services/"))
        expect(other.locator(f'tr[data-service="{first.pk}"]')).to_contain_text(
            "Me gusta de Instagram [Reales]"
        )
        expect(other.locator(f'tr[data-service="{first.pk}"]')).to_contain_text("≈ 2 h 30 min")
        expect(other.locator(f'tr[data-service="{first.pk}"]')).to_contain_text("1,65")
        other.goto(tab.url("/updates/"))
        expect(other.locator(f'li[data-service="{first.pk}"]')).to_contain_text(
            "Me gusta de Instagram [Reales]"
        )
        expect(other.locator("main")).to_contain_text("1,50")
    finally:
        customer.close()


def test_without_javascript_a_category_is_repriced_over_cost_and_moved_down(no_js_tab: Tab) -> None:  # noqa: F811
    made = catalogue()
    staff_session(no_js_tab, make_staff("ada", "administrator"))
    page = no_js_tab.page
    no_js_tab.go(f"/console/services/?category={made[0].pk}")
    expect(page.locator("#select-shown")).to_be_hidden()  # ticking all needs the script: "every" does it
    page.select_option("#id_action", "reprice")
    page.select_option("#id_mode", "markup")
    page.fill("#id_value", "40")
    page.select_option("#id_markup_kind", "percent")
    page.fill("#id_step", "0.05")
    page.locator("#id_every").check()
    page.locator("#bulk-apply").click()
    expect(page.locator(".messages")).to_contain_text("2 services changed.")  # 0.50 was already 0.50
    no_js_tab.shot("repriced-without-javascript")
    prices = sorted(Service.objects.filter(category=made[0]).values_list("rate", flat=True))
    assert prices == [D("0.50"), D("1.40"), D("2.80")]  # 0.33, 1.00, 2.00 + 40 %: 0.462 → 0.50, 1.40, 2.80
    no_js_tab.go("/console/categories/")
    expect(page.locator("#drag-hint")).to_be_hidden()
    page.locator(f'tr[data-category="{made[0].pk}"] button[value=down]').click()
    expect(page.locator(".messages")).to_contain_text("Category moved down.")
    names = list(Category.objects.order_by("sort_order", "id").values_list("name", flat=True))
    assert names == ["TikTok Views", "Instagram Likes", "YouTube"]


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_the_catalogue_pages_fit_in_both_languages(
    request: pytest.FixtureRequest, width: str, language: str
) -> None:
    device: Tab = request.getfixturevalue("tab" if width == "desktop" else "phone")
    made = catalogue()
    service = Service.objects.filter(category=made[0]).first()
    assert service is not None
    Service.objects.filter(pk=service.pk).update(
        names={"es": "Me gusta de Instagram [Reales, recarga 30 días]"}
    )
    updates.record(service, "new", "import", service.updated_at)
    updates.record(service, "price", "console", service.updated_at, old_rate=D("1.2"), new_rate=D("1.5"))
    staff_session(device, make_staff("ada", "administrator"), language)
    for path in (
        "/console/services/",
        f"/console/services/{service.pk}/",
        "/console/categories/",
        "/updates/",
    ):
        device.go(path)
        assert device.page.locator("html").get_attribute("lang") == language
        device.shot(f"{language}-{path.strip('/').replace('/', '-')}")
        device.assert_no_horizontal_scroll()
    device.assert_clean()
