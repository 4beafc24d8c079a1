"""The console's Providers pages: adding a provider is checked with a balance call against a real
upstream (tests/upstream.py) and each way it fails has its own message and stores nothing; the
key is write-only (never in a page, the admin or the audit log; blank keeps it; it can be
replaced); test the connection; the worker's balance refresh; health figures over 1 h and 24 h
from hand-made call records; the calls filtered and paged; disable/enable; administrators only;
every change audited."""

import socket
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from staff import make_staff, signed_in
from upstream import KEY, upstream_fixture  # noqa: F401  (the `upstream` fixture)

from smmpanel.accounts.models import AuditRecord
from smmpanel.catalog.models import Category, Provider, ProviderService, Service
from smmpanel.providers.models import ListingChange, UpstreamCall

pytestmark = pytest.mark.django_db

NEW = "/console/providers/new/"


def form(upstream: Any = None, **changes: str) -> dict[str, str]:
    """The provider form as a person sends it, with `changes`."""
    data = {
        "name": "bigpanel",
        "kind": "api_v2",
        "url": upstream.url if upstream else "",
        "api_key": KEY,
        "currency": "USD",
        "exchange_rate": "1",
        "requests_per_second": "5",
        "timeout_seconds": "2",
        **changes,
    }
    return {f"provider-{k}": v for k, v in data.items()}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def page_of(provider: Provider) -> str:
    return reverse("console:provider", args=[provider.pk])


def problem(response: Any) -> str:
    return " ".join(response.context["form"].non_field_errors())


def audits(action: str = "provider.") -> list[AuditRecord]:
    return list(AuditRecord.objects.filter(action__startswith=action).order_by("id"))


@pytest.fixture
def admin() -> Any:
    return signed_in(make_staff("ada", "administrator"))


@pytest.fixture
def stored(upstream: Any) -> Provider:
    """A provider already stored, with the upstream's key."""
    return Provider.objects.create(name="bigpanel", url=upstream.url, api_key=KEY, timeout_seconds=2)


def log_call(
    provider: Provider, outcome: str, latency: int = 10, age: timedelta = timedelta(0), **more: Any
) -> UpstreamCall:
    return UpstreamCall.objects.create(
        provider=provider,
        action=more.pop("action", "status"),
        outcome=outcome,
        latency_ms=latency,
        created_at=timezone.now() - age,
        **more,
    )


# Adding -------------------------------------------------------------------------------------


def test_a_good_key_adds_the_provider_with_the_balance_it_read(admin: Any, upstream: Any) -> None:
    response = admin.post(NEW, form(upstream, currency="usd"))
    provider = Provider.objects.get()
    assert response.status_code == 302 and response["Location"] == page_of(provider)
    assert (provider.name, provider.kind, provider.url, provider.api_key) == (
        "bigpanel",
        "api_v2",
        upstream.url,
        KEY,
    )
    assert provider.currency == "USD" and provider.timeout_seconds == 2 and provider.requests_per_second == 5
    assert provider.last_balance == Decimal("1000") and provider.last_balance_at is not None
    assert provider.balance_error == "" and upstream.calls == [("balance", {})]
    (record,) = audits()
    assert (record.action, record.object_type, record.object_id) == (
        "provider.create",
        "provider",
        str(provider.pk),
    )
    assert record.after["api key"] == "set" and record.after["name"] == "bigpanel"
    assert KEY not in str(record.after) and KEY not in str(record.before)
    assert "balance 1,000.00 USD" in admin.get(page_of(provider)).content.decode()


@pytest.mark.parametrize(
    ("setup", "changes", "said"),
    [
        (None, {"api_key": "not-the-key-0123456789"}, "The provider refused the key: “Invalid API key”."),
        ("closed", {}, "The provider could not be reached (could not connect"),
        ("html", {}, "The address answered, but not with the API's JSON (provider answered HTML, not JSON"),
        ("http_500", {}, "The provider answered with an HTTP error (provider answered HTTP 500)."),
    ],
    ids=["bad key", "unreachable", "not JSON", "HTTP 500"],
)
def test_each_failed_check_says_why_and_stores_nothing(
    admin: Any, upstream: Any, setup: Any, changes: Any, said: str
) -> None:
    data = form(upstream, **changes)
    if setup == "closed":
        data["provider-url"] = f"http://127.0.0.1:{free_port()}/api/v2"
    elif setup:
        upstream.fault("balance", setup)
    response = admin.post(NEW, data)
    assert response.status_code == 400
    assert said in problem(response) and problem(response).endswith("Nothing was saved.")
    assert Provider.objects.count() == 0 and audits() == [] and not UpstreamCall.objects.exists()
    assert KEY not in response.content.decode()  # the typed key is not sent back either


@pytest.mark.parametrize(
    ("changes", "field", "said"),
    [
        ({"url": ""}, "url", "An API provider needs its API address."),
        ({"url": "ftp://panel.example/api"}, "url", "Enter a web address starting with https:// or http://."),
        ({"api_key": ""}, "api_key", "An API provider needs its API key."),
        ({"currency": "U$D"}, "currency", "Enter a 3-letter currency code such as USD or EUR."),
        (
            {"currency": "EUR", "exchange_rate": ""},
            "exchange_rate",
            "A provider in another currency needs its rate.",
        ),
        (
            {"currency": "EUR", "exchange_rate": "1e3"},
            "exchange_rate",
            "Enter a positive number of at most 8 decimals",
        ),
        (
            {"requests_per_second": "0"},
            "requests_per_second",
            "Ensure this value is greater than or equal to 0.01.",
        ),
    ],
)
def test_bad_input_is_refused_without_a_call(
    admin: Any, upstream: Any, changes: Any, field: str, said: str
) -> None:
    response = admin.post(NEW, form(upstream, **changes))
    assert response.status_code == 400
    assert said in " ".join(response.context["form"].errors[field])
    assert Provider.objects.count() == 0 and upstream.calls == []


def test_a_name_taken_in_any_case_is_refused(admin: Any, upstream: Any, stored: Provider) -> None:
    response = admin.post(NEW, form(upstream, name="BigPanel"))
    assert response.status_code == 400 and Provider.objects.count() == 1
    assert response.context["form"].errors["name"] == ["Another provider has this name."]


def test_a_manual_provider_needs_no_address_and_no_check(admin: Any) -> None:
    response = admin.post(NEW, form(name="by hand", kind="manual", api_key=""))
    assert response.status_code == 302
    provider = Provider.objects.get()
    assert (provider.kind, provider.url, provider.api_key, provider.last_balance) == ("manual", "", "", None)


def test_a_foreign_currency_stores_its_rate_and_the_day_it_was_set(admin: Any, upstream: Any) -> None:
    admin.post(NEW, form(upstream, currency="EUR", exchange_rate="1.08"))
    provider = Provider.objects.get()
    assert provider.exchange_rate == Decimal("1.08") and provider.exchange_rate_set_at is not None
    set_at = provider.exchange_rate_set_at
    page = admin.get(page_of(provider)).content.decode()
    assert "1 EUR = 1.08 USD" in page and 'id="rate-set-at"' in page and "stale" not in page
    admin.post(
        page_of(provider),
        form(upstream, currency="EUR", exchange_rate="1.08", api_key="", timeout_seconds="3"),
    )
    provider.refresh_from_db()
    assert (
        provider.exchange_rate_set_at == set_at and provider.timeout_seconds == 3
    )  # the same rate: same day
    admin.post(
        page_of(provider),
        form(upstream, currency="EUR", exchange_rate="1.1", api_key="", timeout_seconds="3"),
    )
    provider.refresh_from_db()
    assert provider.exchange_rate == Decimal("1.1") and provider.exchange_rate_set_at > set_at
    record = audits("provider.update")[-1]
    assert record.before["exchange_rate"] == "1.08" and record.after["exchange_rate"] == "1.1"


# The key: write-only ----------------------------------------------------------------------------


def test_the_key_is_never_in_a_page_after_it_is_saved(admin: Any, upstream: Any, stored: Provider) -> None:
    log_call(stored, "ok", action="balance", response='{"balance": "1"}')
    call = UpstreamCall.objects.get()
    pages = [
        reverse("console:providers"),
        page_of(stored),
        reverse("console:provider_call", args=[stored.pk, call.pk]),
        NEW,
        reverse("console:dashboard"),
        f"/admin/catalog/provider/{stored.pk}/change/",
        "/admin/catalog/provider/",
    ]
    superuser = make_staff("root", "administrator", is_superuser=True)
    for path in pages:
        client = signed_in(superuser) if path.startswith("/admin/") else admin
        response = client.get(path)
        assert response.status_code == 200, path
        assert KEY not in response.content.decode(), path
    bad = admin.post(page_of(stored), form(upstream, timeout_seconds="nonsense", api_key=""))
    assert bad.status_code == 400 and KEY not in bad.content.decode()


def test_an_empty_key_field_keeps_the_key_and_asks_nothing(
    admin: Any, upstream: Any, stored: Provider
) -> None:
    response = admin.post(page_of(stored), form(upstream, name="Big panel", api_key=""))
    assert response.status_code == 302
    stored.refresh_from_db()
    assert (stored.name, stored.api_key) == ("Big panel", KEY) and upstream.calls == []
    (record,) = audits()
    assert (record.action, record.before, record.after) == (
        "provider.update",
        {"name": "bigpanel"},
        {"name": "Big panel"},
    )


def test_a_new_key_is_checked_then_replaces_the_old_one(admin: Any, upstream: Any) -> None:
    provider = Provider.objects.create(
        name="bigpanel", url=upstream.url, api_key="an-old-key-that-expired", timeout_seconds=2
    )
    refused = admin.post(page_of(provider), form(upstream, api_key="a-wrong-new-key-123456"))
    assert refused.status_code == 400 and "refused the key" in problem(refused)
    provider.refresh_from_db()
    assert provider.api_key == "an-old-key-that-expired" and audits() == []
    assert admin.post(page_of(provider), form(upstream)).status_code == 302
    provider.refresh_from_db()
    assert provider.api_key == KEY and provider.last_balance == Decimal("1000")
    (record,) = audits()
    assert (record.before, record.after) == ({"api key": "set"}, {"api key": "replaced"})
    assert "an-old-key" not in str(record.before) + str(record.after)


def test_a_new_address_is_checked_before_it_is_stored(admin: Any, upstream: Any, stored: Provider) -> None:
    closed = f"http://127.0.0.1:{free_port()}/api/v2"
    response = admin.post(page_of(stored), form(upstream, url=closed, api_key=""))
    assert response.status_code == 400 and "could not be reached" in problem(response)
    stored.refresh_from_db()
    assert stored.url == upstream.url


def test_the_admin_keeps_the_key_write_only_and_the_balance_read_only(
    upstream: Any, stored: Provider
) -> None:
    client = signed_in(make_staff("root", "administrator", is_superuser=True))
    page = client.get(f"/admin/catalog/provider/{stored.pk}/change/")
    form_fields = page.context["adminform"].form.fields
    assert "last_balance" not in form_fields and "balance_error" not in form_fields
    data = {name: page.context["adminform"].form[name].value() for name in form_fields}
    data = {k: ("" if v is None else v) for k, v in data.items()} | {
        "timeout_seconds": "4",
        "last_balance": "999",
    }
    assert data["api_key"] == ""
    assert client.post(f"/admin/catalog/provider/{stored.pk}/change/", data).status_code == 302
    stored.refresh_from_db()
    assert (stored.api_key, stored.timeout_seconds, stored.last_balance) == (KEY, 4, None)


# Health and calls ------------------------------------------------------------------------------


def test_health_over_an_hour_and_a_day_from_the_call_records(admin: Any, stored: Provider) -> None:
    for n in range(1, 21):  # the last hour: 20 calls of 10 .. 200 ms, two timeouts and one refusal
        outcome = "timeout" if n in (3, 4) else "error" if n == 5 else "ok"
        log_call(stored, outcome, latency=n * 10, age=timedelta(minutes=n))
    for _ in range(10):  # earlier today: ten slow calls, all answered
        log_call(stored, "ok", latency=1000, age=timedelta(hours=3))
    log_call(stored, "timeout", latency=5000, age=timedelta(hours=30))  # outside both windows
    response = admin.get(page_of(stored))
    hour, day = (h for _label, _key, h in response.context["health_rows"])
    assert (hour.calls, hour.failures, hour.refusals, hour.p95_latency_ms) == (20, 2, 1, 190)
    assert (day.calls, day.failures, day.refusals, day.p95_latency_ms) == (30, 2, 1, 1000)
    page = response.content.decode()
    row_1h = page.split('data-window="1h"')[1].split("</tr>")[0]
    row_24h = page.split('data-window="24h"')[1].split("</tr>")[0]
    assert "10.0&nbsp;%" in row_1h and "5.0&nbsp;%" in row_1h and "190&nbsp;ms" in row_1h
    assert "6.7&nbsp;%" in row_24h and "3.3&nbsp;%" in row_24h and "1000&nbsp;ms" in row_24h


def test_the_calls_are_filtered_and_paged_newest_first(
    admin: Any, alice: Any, catalogue: Any, stored: Provider
) -> None:
    for n in range(60):
        log_call(stored, "ok", action="status", age=timedelta(seconds=n + 10))
    timeout = log_call(stored, "timeout", action="add", age=timedelta(seconds=1))
    refused = log_call(stored, "error", action="add", age=timedelta(seconds=2))
    first = admin.get(page_of(stored))
    calls = list(first.context["page"])
    assert len(calls) == 50 and calls[:2] == [timeout, refused]
    assert "page=2#provider-calls" in first.content.decode()  # "Older", back at the calls
    second = admin.get(page_of(stored), {"page": 2})
    assert len(list(second.context["page"])) == 12 and "page=1#provider-calls" in second.content.decode()
    only = admin.get(page_of(stored), {"action": "add", "outcome": "timeout"})
    assert list(only.context["page"]) == [timeout]
    assert list(admin.get(page_of(stored), {"action": "add"}).context["page"]) == [timeout, refused]
    bad = admin.get(page_of(stored), {"outcome": "nonsense"})
    assert bad.status_code == 400 and list(bad.context["page"]) == []


def test_a_calls_request_and_answer_are_shown_escaped(admin: Any, stored: Provider) -> None:
    call = log_call(
        stored,
        "bad_answer",
        action="add",
        request={"service": "1", "link": "<b>x</b>"},
        response="<html><script>alert(1)</script></html>",
        http_status=200,
    )
    page = admin.get(reverse("console:provider_call", args=[stored.pk, call.pk])).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page
    other = Provider.objects.create(name="other", kind="manual")
    assert admin.get(reverse("console:provider_call", args=[other.pk, call.pk])).status_code == 404


def test_the_list_shows_rate_balance_services_and_changes_waiting(
    admin: Any, upstream: Any, settings: Any
) -> None:
    settings.SMMPANEL_EXCHANGE_RATE_MAX_AGE_DAYS = 7
    euro = Provider.objects.create(
        name="europanel",
        url=upstream.url,
        api_key=KEY,
        currency="EUR",
        exchange_rate=Decimal("1.08"),
        exchange_rate_set_at=timezone.now() - timedelta(days=8),
        balance_error="connection: could not connect",
    )
    category = Category.objects.create(name="Followers")
    listed = ProviderService.objects.create(
        provider=euro, external_id="1", name="F", type="Default", rate=Decimal(1), min=1, max=10
    )
    for enabled in (True, True, False):
        Service.objects.create(category=category, name="F", rate=Decimal(2), provider=euro, enabled=enabled)
    ListingChange.objects.create(provider=euro, provider_service=listed, kind="cost", found_at=timezone.now())
    page = admin.get(reverse("console:providers")).content.decode()
    row = page.split(f'data-provider="{euro.pk}"')[1].split("</tr>")[0]
    assert "1 EUR = 1.08 USD" in row and "data-rate-stale" in row and "127.0.0.1" in row
    assert "connection: could not connect" in row and "not known" in row
    assert '<td data-label="Services on sale" class="num" data-services>2</td>' in row
    assert f'<a href="/console/providers/{euro.pk}/sync/"><strong class="waiting">1</strong></a>' in row
    detail = admin.get(page_of(euro)).content.decode()
    assert f'href="/console/providers/{euro.pk}/import/"' in detail
    assert f'href="/console/providers/{euro.pk}/sync/"' in detail


# Disable / enable ------------------------------------------------------------------------------


def test_disable_and_enable_are_audited_and_a_repeat_changes_nothing(admin: Any, stored: Provider) -> None:
    off = reverse("console:provider_disable", args=[stored.pk])
    assert admin.post(off).status_code == 302
    stored.refresh_from_db()
    assert not stored.enabled
    assert "Nothing changed." in admin.post(off, follow=True).content.decode()
    admin.post(reverse("console:provider_enable", args=[stored.pk]))
    stored.refresh_from_db()
    assert stored.enabled
    assert [(r.action, r.before, r.after) for r in audits()] == [
        ("provider.disable", {"enabled": True}, {"enabled": False}),
        ("provider.enable", {"enabled": False}, {"enabled": True}),
    ]
    assert admin.get(off).status_code == 405


# Roles -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["support", "finance"])
def test_support_and_finance_are_refused_everything_and_change_nothing(
    role: str, upstream: Any, stored: Provider
) -> None:
    client = signed_in(make_staff("someone", role))
    call = log_call(stored, "ok")
    for path in (
        reverse("console:providers"),
        NEW,
        page_of(stored),
        reverse("console:provider_call", args=[stored.pk, call.pk]),
    ):
        assert client.get(path).status_code == 403, path
    for path, data in (
        (NEW, form(upstream, name="another")),
        (page_of(stored), form(upstream, name="renamed", api_key="a-key-of-theirs-123456")),
        (reverse("console:provider_test", args=[stored.pk]), {}),
        (reverse("console:provider_disable", args=[stored.pk]), {}),
        (reverse("console:provider_enable", args=[stored.pk]), {}),
    ):
        assert client.post(path, data).status_code == 403, path
    stored.refresh_from_db()
    assert (stored.name, stored.api_key, stored.enabled, stored.last_balance) == ("bigpanel", KEY, True, None)
    assert Provider.objects.count() == 1 and audits() == [] and upstream.calls == []
    dashboard = client.get(reverse("console:dashboard")).content.decode()
    assert page_of(stored) not in dashboard and "bigpanel" in dashboard


def test_the_dashboard_links_each_provider_to_its_page(admin: Any, stored: Provider) -> None:
    assert (
        f'<a href="{page_of(stored)}">bigpanel</a>'
        in admin.get(reverse("console:dashboard")).content.decode()
    )
    assert (
        "console:providers"
        and reverse("console:providers") in admin.get(reverse("console:dashboard")).content.decode()
    )
