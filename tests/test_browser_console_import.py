"""In a real browser: an administrator reads a provider's list (a fake upstream over real HTTP),
ticks every service with "select all shown" and imports them at +40 %; the upstream then changes a
cost, drops a service, adds one and moves a limit; the sync page shows it all, and the operator
accepts some lines and skips one. The import and sync pages fit a desktop (1366 px) and a phone
(375 px), in English and in Spanish."""

from decimal import Decimal

import pytest
from browser import (  # noqa: F401  (chromium, mail_dir, panel_server_env, phone, shots, tab: fixtures)
    Tab,
    chromium,
    mail_dir,
    panel_server_env,
    phone,
    shots,
    tab,
)
from server import panel_server  # noqa: F401  (a fixture)
from staff import make_staff
from test_browser_console_orders import fits, staff_signed_in
from upstream import upstream_fixture  # noqa: F401  (the `upstream` fixture)

from smmpanel.catalog.models import Provider, Service
from smmpanel.providers.models import ListingChange

pytestmark = [pytest.mark.server, pytest.mark.django_db(transaction=True)]


def look(device: Tab, name: str, problems: list[str]) -> None:
    device.shot(name)
    problems += [f"[{name}] {p}" for p in fits(device)]


def test_an_operator_imports_a_providers_services_and_decides_its_changes(
    tab: Tab,  # noqa: F811
    phone: Tab,  # noqa: F811
    upstream,
) -> None:
    remote = Provider.objects.create(name="Remote", url=upstream.url, api_key=upstream.key, timeout_seconds=5)
    ada = make_staff("ada", "administrator")
    importing, syncing = f"/console/providers/{remote.pk}/import/", f"/console/providers/{remote.pk}/sync/"
    page, problems = tab.page, []
    staff_signed_in(tab, ada, "en")
    tab.go(importing)
    with page.expect_navigation():
        page.locator("#read-list").click()
    assert page.locator("#import-table tbody tr").count() == 3
    page.locator("#select-all").check()  # ticks every row shown
    assert page.locator('input[name="service"]:checked').count() == 3
    assert page.locator("#id_markup").input_value() == "40"  # the provider's rule, prefilled
    look(tab, "import-en", problems)
    with page.expect_navigation():
        page.locator("#import-submit").click()
    assert page.locator("#created-table tbody tr").count() == 3
    look(tab, "imported-en", problems)
    assert dict(Service.objects.values_list("name", "rate")) == {
        "Followers": Decimal("1.26"),
        "Comments": Decimal("16.80"),
        "Starter pack": Decimal("6.30"),
    }

    upstream.services[0]["rate"] = "1.00"
    upstream.services[1]["max"] = "800"
    del upstream.services[2]
    upstream.services.append(dict(upstream.services[0], service=4, name="Views", rate="0.10"))
    tab.go(syncing)
    with page.expect_navigation():
        page.locator("#read-list").click()
    assert page.locator("tr[data-line]").count() == 4
    assert "0.90 → 1.00" in page.locator(".cost-change").inner_text()
    look(tab, "sync-en", problems)
    for device, language in ((tab, "es"), (phone, "es"), (phone, "en")):
        staff_signed_in(device, ada, language)
        for path, name in ((syncing, "sync"), (importing, "import")):
            device.go(path)
            assert device.page.locator("html").get_attribute("lang") == language
            look(device, f"{name}-{language}-{device.page.viewport_size['width']}", problems)
    assert not problems, "\n".join(problems)

    staff_signed_in(tab, ada, "en")
    tab.go(syncing)
    lines = {line.kind: line.pk for line in ListingChange.objects.filter(provider=remote)}
    page.locator(f'input[name="decision-{lines["cost"]}"][value="accept"]').check()
    page.locator(f'input[name="decision-{lines["new"]}"][value="accept"]').check()
    page.locator(f'input[name="decision-{lines["gone"]}"][value="skip"]').check()
    with page.expect_navigation():
        page.locator("#sync-apply").click()
    assert "2 lines accepted, 1 skipped." in page.locator(".messages").inner_text()
    assert page.locator("tr[data-line]").count() == 1  # the limit, left for later
    tab.shot("sync-applied-en")
    assert Service.objects.get(name="Followers").rate == Decimal("1.40")
    assert Service.objects.get(name="Views").rate == Decimal("0.14")
    assert Service.objects.get(name="Starter pack").enabled
    assert Service.objects.get(name="Comments").max == 500
