"""The console's import and sync pages of a provider, against a real upstream over HTTP: the list
read from a button, services imported at each pricing rule and rounding step with prices written
by hand, the diff's lines accepted or skipped in one form, the rule applied to every cost change,
the loss guard's services listed, the dashboard's lines, every change audited and told to
customers, bad input refused with nothing changed, and only administrators let in."""

from decimal import Decimal

import pytest
from django.urls import reverse
from staff import make_staff, signed_in
from upstream import upstream_fixture  # noqa: F401  (the `upstream` fixture)

from smmpanel.accounts.models import AuditRecord
from smmpanel.catalog.models import Category, Provider, ProviderService, Service, ServiceUpdate
from smmpanel.providers import listing
from smmpanel.providers.models import ListingChange

pytestmark = pytest.mark.django_db


@pytest.fixture
def remote(upstream):
    return Provider.objects.create(name="Remote", url=upstream.url, api_key=upstream.key, timeout_seconds=2)


@pytest.fixture
def admin():
    return signed_in(make_staff("ada", "administrator"))


def url(name, provider):
    return reverse(f"console:{name}", args=[provider.pk])


def ids(*external_ids):
    return [str(ProviderService.objects.get(external_id=e).pk) for e in external_ids]


def rule(kind="percent", markup="40", step="0.01", category=""):
    return {"rule": kind, "markup": markup, "step": step, "category": category}


def prices():
    return dict(Service.objects.values_list("name", "rate"))


def test_a_list_never_read_is_read_from_the_button_and_audited(admin, remote):
    page = admin.get(url("provider_import", remote)).content.decode()
    assert 'id="never-read"' in page and 'id="read-list"' in page
    answer = admin.post(url("provider_read", remote), {"then": "import"})
    assert answer.status_code == 302 and answer["Location"] == url("provider_import", remote)
    assert ProviderService.objects.count() == 3
    (record,) = AuditRecord.objects.filter(action="provider.read_list")
    assert record.after["listed"] == 3 and record.object_id == str(remote.pk)
    page = admin.get(url("provider_import", remote)).content.decode()
    assert page.count('name="service"') == 3 and "Starter pack" in page


@pytest.mark.parametrize(
    ("kind", "markup", "step", "expected"),
    [
        # Followers 0.90, Comments 12, Starter pack 4.5: the cost plus the markup, rounded UP to the step.
        ("percent", "40", "0.01", {"Followers": "1.26", "Comments": "16.80", "Starter pack": "6.30"}),
        ("percent", "33", "0.01", {"Followers": "1.20", "Comments": "15.96", "Starter pack": "5.99"}),
        ("fixed", "0.33", "0.05", {"Followers": "1.25", "Comments": "12.35", "Starter pack": "4.85"}),
        ("percent", "25", "1", {"Followers": "2", "Comments": "15", "Starter pack": "6"}),
    ],
)
def test_import_at_each_rule_and_step(admin, remote, kind, markup, step, expected):
    listing.read(remote)
    answer = admin.post(
        url("provider_import", remote), {**rule(kind, markup, step), "service": ids("1", "2", "3")}
    )
    assert answer.status_code == 200
    assert prices() == {name: Decimal(price) for name, price in expected.items()}
    page = answer.content.decode()
    assert page.count("<tr data-service=") == 3 and "Instagram Followers" in page
    remote.refresh_from_db()
    assert (remote.price_rule, remote.price_markup, remote.price_step) == (
        kind,
        Decimal(markup),
        Decimal(step),
    )
    assert sorted(ServiceUpdate.objects.values_list("kind", "source")) == [("new", "import")] * 3
    (record,) = AuditRecord.objects.filter(action="provider.import")
    assert len(record.after["created"]) == 3


def test_import_of_the_ticked_services_into_one_of_our_categories(admin, remote):
    listing.read(remote)
    ours = Category.objects.create(name="Ours")
    admin.post(url("provider_import", remote), {**rule(category=str(ours.pk)), "service": ids("1", "3")})
    assert sorted(Service.objects.values_list("name", "category__name")) == [
        ("Followers", "Ours"),
        ("Starter pack", "Ours"),
    ]
    page = admin.get(url("provider_import", remote)).content.decode()
    assert page.count('name="service"') == 1 and "Comments" in page  # only what is not sold yet


def test_the_import_list_is_filtered_by_category_and_type(admin, remote):
    listing.read(remote)
    page = admin.get(url("provider_import", remote), {"category": "Packs"}).content.decode()
    assert page.count('name="service"') == 1 and "Starter pack" in page
    page = admin.get(url("provider_import", remote), {"type": "custom_comments"}).content.decode()
    assert page.count('name="service"') == 1 and "Comments" in page


def test_a_price_past_the_largest_amount_is_not_imported_and_said_so(admin, remote, upstream):
    upstream.services[1]["rate"] = "900000000"
    listing.read(remote)
    answer = admin.post(url("provider_import", remote), {**rule(), "service": ids("1", "2")})
    page = answer.content.decode()
    assert answer.status_code == 200 and 'id="not-imported"' in page and "#2 Comments" in page
    assert list(Service.objects.values_list("name", flat=True)) == ["Followers"]


@pytest.mark.parametrize(
    "changes",
    [
        {"markup": "lots"},
        {"markup": "-5"},
        {"step": "0"},
        {"rule": "double"},
        {"category": "999999"},
        {"service": ["x"]},
        {"service": []},
    ],
)
def test_bad_input_is_refused_and_nothing_is_imported(admin, remote, changes):
    listing.read(remote)
    answer = admin.post(url("provider_import", remote), {**rule(), "service": ids("1"), **changes})
    assert answer.status_code == 400
    assert not Service.objects.exists() and not AuditRecord.objects.filter(action="provider.import").exists()
    remote.refresh_from_db()
    assert remote.price_markup == Decimal(40)


@pytest.fixture
def changed(admin, remote, upstream):
    """Followers, Comments and the pack sold at +40 %; then upstream: Followers costs 1.00, the
    pack is gone, Comments takes 2 to 800, and "Views" is new."""
    listing.read(remote)
    admin.post(url("provider_import", remote), {**rule(), "service": ids("1", "2", "3")})
    upstream.services[0]["rate"] = "1.00"
    upstream.services[1]["min"], upstream.services[1]["max"] = "2", "800"
    del upstream.services[2]
    upstream.services.append(dict(upstream.services[0], service=4, name="Views", rate="0.10"))
    admin.post(url("provider_read", remote), {"then": "sync"})
    return {(line.kind, line.provider_service.external_id): line.pk for line in listing.pending(remote)}


def test_the_sync_page_shows_each_change_with_prices_and_margins(admin, remote, changed):
    assert set(changed) == {("cost", "1"), ("limits", "2"), ("gone", "3"), ("new", "4")}
    page = admin.get(url("provider_sync", remote)).content.decode()
    for kind in ("new", "gone", "cost", "limits-options"):
        assert f'data-kind="{kind}"' in page
    assert "0.90 → 1.00" in page  # the cost, old → new
    assert "1.26 USD" in page and "1.40 USD" in page  # our price, and the rule's: 1.00 + 40 %
    assert "0.26 USD (20.6&nbsp;%)" in page  # the margin at our price: 0.26 of 1.26
    assert "0.40 USD (28.6&nbsp;%)" in page  # at the rule's price
    assert "Min: 1 → 2" in page and "Max: 500 → 800" in page
    assert page.count('type="radio"') == 3 * 4


def test_apply_accepts_and_skips_and_changes_nothing_else(admin, remote, changed):
    before = prices()
    answer = admin.post(
        url("provider_sync", remote),
        {
            f"decision-{changed['cost', '1']}": "accept",
            f"decision-{changed['gone', '3']}": "skip",
            f"decision-{changed['limits', '2']}": "later",
            f"decision-{changed['new', '4']}": "accept",
            "category": "",
        },
    )
    assert answer.status_code == 302
    assert prices() == {**before, "Followers": Decimal("1.40"), "Views": Decimal("0.14")}
    assert Service.objects.get(name="Starter pack").enabled  # its gone line skipped
    assert Service.objects.get(name="Comments").min == 1  # its line left for later
    assert set(listing.pending(remote)) == {ListingChange.objects.get(pk=changed["limits", "2"])}
    (record,) = AuditRecord.objects.filter(action="provider.sync_apply")
    assert sorted(record.after["accepted"]) == sorted([changed["cost", "1"], changed["new", "4"]])
    assert record.after["skipped"] == [changed["gone", "3"]]
    assert ServiceUpdate.objects.filter(source="sync").count() == 2  # the price and the new service


def test_the_rule_button_reprices_every_cost_change(admin, remote, changed):
    answer = admin.post(url("provider_sync_rule", remote))
    assert answer.status_code == 302
    assert Service.objects.get(name="Followers").rate == Decimal("1.40")
    assert ListingChange.objects.get(pk=changed["cost", "1"]).state == "accepted"
    assert len(listing.pending(remote)) == 3
    (record,) = AuditRecord.objects.filter(action="provider.sync_rule")
    followers = str(Service.objects.get(name="Followers").pk)
    assert [Decimal(v) for v in record.after["repriced"][followers]] == [Decimal("1.26"), Decimal("1.40")]


@pytest.mark.parametrize("bad", [{"decision-1": "maybe"}, {"decision-x": "accept"}, {}])
def test_bad_decisions_are_refused_and_change_nothing(admin, remote, changed, bad):
    before = prices()
    answer = admin.post(url("provider_sync", remote), bad)
    assert answer.status_code == 400
    assert prices() == before and len(listing.pending(remote)) == 4


def test_the_loss_guards_services_are_listed(admin, remote, upstream, changed):
    upstream.services[0]["rate"] = "2"  # above the 1.26 Followers sells at
    admin.post(url("provider_read", remote), {"then": "sync"})
    followers = Service.objects.get(name="Followers")
    assert not followers.enabled
    page = admin.get(url("provider_sync", remote)).content.decode()
    assert f'<tr data-service="{followers.pk}">' in page and "no, disabled" in page


def test_the_dashboard_says_when_changes_wait_and_when_a_read_failed(admin, remote, upstream, changed):
    page = admin.get(reverse("console:dashboard")).content.decode()
    assert f'data-listing="changes-{remote.pk}"' in page and url("provider_sync", remote) in page
    upstream.fault("services", "http_500")
    admin.post(url("provider_read", remote), {"then": "sync"})
    page = admin.get(reverse("console:dashboard")).content.decode()
    assert f'data-listing="error-{remote.pk}"' in page
    assert "Reading the list of Remote failed" in page


@pytest.mark.parametrize("role", ["support", "finance"])
def test_only_administrators_open_the_pages_and_act(remote, upstream, changed, role):
    other = signed_in(make_staff(f"{role}-member", role))
    before = (prices(), ProviderService.objects.count(), len(listing.pending(remote)))
    for name in ("provider_import", "provider_sync"):
        assert other.get(url(name, remote)).status_code == 403
    line = changed["cost", "1"]
    assert other.post(url("provider_import", remote), {**rule(), "service": ids("4")}).status_code == 403
    assert other.post(url("provider_sync", remote), {f"decision-{line}": "accept"}).status_code == 403
    assert other.post(url("provider_sync_rule", remote)).status_code == 403
    upstream.services[0]["rate"] = "1.11"
    assert other.post(url("provider_read", remote)).status_code == 403
    assert (prices(), ProviderService.objects.count(), len(listing.pending(remote))) == before
    assert ProviderService.objects.get(external_id="1").rate == Decimal("1.00")
    page = other.get(reverse("console:dashboard")).content.decode()
    assert "data-listing=" not in page


def test_hostile_names_from_the_provider_are_shown_as_text(admin, remote, upstream, changed):
    hostile = "<img src=x onerror=alert(1)><script>alert(2)</script>"
    upstream.services.append(dict(upstream.services[0], service=5, name=hostile, category=hostile))
    admin.post(url("provider_read", remote), {"then": "sync"})
    for name in ("provider_sync", "provider_import"):
        page = admin.get(url(name, remote)).content.decode()
        assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page and "<script>alert(2)" not in page
