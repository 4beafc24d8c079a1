"""In a real browser, at 1366 and 375 px, in English and Spanish: an administrator adds a provider
against the fake upstream (a wrong key refused first, with its message and nothing stored), reads
the providers list and the provider's page (balance, health, calls), tests the connection and
opens one call's request and answer. The key typed never comes back in a page. Screenshots in
artifacts/<database>/<test>/."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

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
from django.utils import timezone
from playwright.sync_api import expect
from server import panel_server  # noqa: F401  (a fixture)
from staff import make_staff
from test_browser_console_customers import staff_session
from upstream import KEY, upstream_fixture  # noqa: F401  (the `upstream` fixture)

from smmpanel.catalog.models import Provider
from smmpanel.providers.models import UpstreamCall

pytestmark = [pytest.mark.server, pytest.mark.django_db(transaction=True)]


def some_calls(provider: Provider) -> None:
    """An hour of calls: answered, a timeout and a refusal, one with an answer that is HTML."""
    now = timezone.now()
    for n, (action, outcome, latency) in enumerate(
        [("status", "ok", 120), ("add", "timeout", 2000), ("add", "error", 90), ("status", "ok", 140)] * 3
    ):
        UpstreamCall.objects.create(
            provider=provider,
            action=action,
            outcome=outcome,
            latency_ms=latency,
            request={"orders": "1001,1002"} if action == "status" else {"service": "1", "quantity": "100"},
            response='<html><script>alert("x")</script></html>'
            if outcome == "timeout"
            else '{"error": "Not enough funds"}',
            http_status=200,
            created_at=now - timedelta(minutes=n + 1),
        )


def add_the_provider(device: Tab, url: str, language: str) -> Provider:
    """Through the form: a wrong key first (refused, nothing stored), then the right one."""
    page = device.page
    device.go("/console/providers/new/")
    assert page.locator("html").get_attribute("lang") == language
    page.fill("#id_provider-name", "bigpanel")
    page.fill("#id_provider-url", url)
    page.fill("#id_provider-api_key", "a-wrong-key-0123456789")
    page.fill("#id_provider-timeout_seconds", "5")
    page.locator("#save-provider").click()
    expect(page.locator("#provider-problem")).to_contain_text("Invalid API key")
    assert Provider.objects.count() == 1
    device.shot(f"{language}-refused-key")
    device.assert_no_horizontal_scroll()

    page.fill("#id_provider-api_key", KEY)
    page.locator("#save-provider").click()
    expect(page.locator("#provider-balance")).to_contain_text("USD")
    provider = Provider.objects.get(name="bigpanel")
    assert provider.api_key == KEY and provider.last_balance == Decimal("1000")
    assert KEY not in page.content()

    return provider


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_an_administrator_adds_a_provider_and_reads_its_health(
    request: pytest.FixtureRequest, width: str, language: str, upstream: Any
) -> None:
    device: Tab = request.getfixturevalue("tab" if width == "desktop" else "phone")
    page = device.page
    ada = make_staff("ada", "administrator")
    Provider.objects.create(
        name="europanel-with-a-rather-long-name",
        url="https://api.europanel.example/api/v2",
        api_key="k" * 32,
        currency="EUR",
        exchange_rate=Decimal("1.08"),
        exchange_rate_set_at=timezone.now() - timedelta(days=30),
        last_balance=Decimal("1234.5"),
        last_balance_at=timezone.now() - timedelta(hours=2),
        balance_error="connection: could not connect: [Errno 111] Connection refused",
    )
    staff_session(device, ada, language)

    provider = add_the_provider(device, upstream.url, language)
    some_calls(provider)
    device.go("/console/providers/")
    expect(page.locator(f'tr[data-provider="{provider.pk}"] [data-share="failures"]')).to_contain_text("25")
    expect(page.locator("[data-rate-stale]")).to_have_count(1)
    device.shot(f"{language}-providers")
    device.assert_no_horizontal_scroll()

    page.locator(f'tr[data-provider="{provider.pk}"] a').first.click()
    page.locator("#test-connection").click()
    expect(page.locator(".messages")).to_contain_text("1")
    expect(page.locator('[data-window="1h"] [data-calls]')).to_have_text("13")  # 12 and the test
    expect(page.locator("#upstream-calls tbody tr")).to_have_count(13)
    device.shot(f"{language}-provider")
    device.assert_no_horizontal_scroll()
    page.locator(".provider-settings > summary").click()
    expect(page.locator("#id_provider-api_key")).to_have_value("")
    device.shot(f"{language}-provider-settings")
    device.assert_no_horizontal_scroll()

    page.select_option("#id_outcome", "timeout")
    page.locator("#call-filters button[type=submit]").click()
    expect(page.locator("#upstream-calls tbody tr")).to_have_count(3)
    page.locator("#upstream-calls tbody tr").first.locator("a").last.click()
    expect(page.locator("#call-response")).to_contain_text('<script>alert("x")</script>')
    device.shot(f"{language}-call")
    device.assert_no_horizontal_scroll()
    assert KEY not in page.content()
    device.assert_clean()
